"""Each vehicle app flies a short mission on the MicroPython unix port with the heap capped at
exactly its board's budget (rp2-pico: 160 KB, esp32-devkitc: 100 KB; the SITL boots the firmware
from ROMFS, so the cap is the budget plus the image, ground/romboot.py) and reports its high-water
mark without MemoryError.

The port is our 32-bit build with single-precision floats (`scripts/firmware.py --board unix-m32`):
its objects and pointers are the size of a Cortex-M's, so its heap is the nearest a host gets to a
board's. (The 64-bit PyPI port needs about twice the heap for the same objects: there the apps fly
with ground.mission.UNIX_PORT_HEAP.) Each flight runs twice: with the C core built in, as the
RPI_PICO firmware of `make firmware BOARD=rp2-pico` flies, and with the pure-MicroPython fallback
(MITRA_GNC_BACKEND=fallback), as stock firmware without the core flies; HK's `backend` field says
which one ran.

The flight runs through every mode that allocates: the inspector detumbles, points at the Sun
and at the debris, approaches, captures an image (ST13 downlink) and enters a safety ellipse;
the rover drives into shadow, drills and measures a spectrum (ST13 downlink). heap_peak (OBC HK)
is the live heap right after the OBC's chosen collections, the ROMFS image left out
(hal.heap_used). The peak is printed (pytest -s) for docs/benchmarks.md."""

import pytest

from ground.dictionary.inspector import BACKENDS as BACKEND_NAMES  # HK's backend codes (same for both apps)
from ground.mission import Mission
from ground.sitl import load_board

pytestmark = pytest.mark.micropython  # each flight takes well under 20 s of real time

BACKENDS = {"c-core": "native-mpy", "fallback": "fallback"}  # test id: MITRA_GNC_BACKEND and HK's backend name


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    return BACKENDS[request.param]


def _mission(vehicle, board, scenario, backend, built_firmware, tmp_path, monkeypatch):
    monkeypatch.setenv("MITRA_MICROPYTHON", built_firmware("unix-m32"))
    monkeypatch.setenv("MITRA_GNC_BACKEND", backend)  # native-mpy: the core must be there
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "mitra-home"))
    m = Mission(vehicle, runtime="micropython", board=board, scenario=scenario, state_dir=tmp_path / "state")
    assert m.sitl.board["heap_budget"] == load_board(board)["heap_budget"]  # not raised
    return m


def _heap_peak(m, vehicle, backend):
    m.run_for(3)  # one more OBC HK (1 Hz) after the last mode: its heap_peak covers the whole flight
    obc = m.hk("obc")
    peak = obc["heap_peak"]
    print("%s on %s (%d B budget, 32-bit unix port, %s): heap_peak %d B (OBC HK), heap_free %d B" % (
        vehicle, m.sitl.board["name"], m.sitl.board["heap_budget"], backend, peak, obc["heap_free"]))
    assert 0 < peak < m.sitl.board["heap_budget"]
    assert m.events("task_error") == []  # no cycle or schedule tick ran out of memory
    return peak


def test_inspector_flies_every_mode_within_the_rp2040_heap_budget(backend, built_firmware, tmp_path, monkeypatch):
    m = _mission("inspector", "rp2-pico", {"w0": [0.01, -0.015, 0.01], "rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]},
                 backend, built_firmware, tmp_path, monkeypatch)
    with m:
        m.send("inspector_adcs.set_mode", "DETUMBLE")
        # flight_s: the fallback on single-precision floats detumbles later than the core (~195 s vs ~160 s)
        m.run_until(lambda m: m.event("inspector_detumbled"), flight_s=300)  # then SUN_POINT by itself
        m.run_for(10)
        m.send("inspector_adcs.set_mode", "TARGET_POINT")
        m.run_until(lambda m: m.event("inspector_target_acquired"), flight_s=20)
        m.send("inspector_gnc.approach", "0", "-60", "0", "200")
        m.run_until(lambda m: len(m.events("inspector_burn")) >= 2, flight_s=260)
        m.send("inspector_camera.capture", "8")
        m.run_until(lambda m: m.event("inspector_image_ready"), flight_s=30)
        m.run_for(10)  # the ST13 parts go down
        m.send("inspector_gnc.enter_ellipse", "40", "40", "90", "0", "300")
        m.run_until(lambda m: (m.hk("inspector_gnc") or {}).get("mode") == 5, flight_s=400)  # FLY_AROUND
        assert m.event("inspector_abort") is None
        assert BACKEND_NAMES[m.hk("inspector_adcs")["backend"]] == backend
        _heap_peak(m, "inspector", backend)


# the ESP32 DevKitC board carries the rover's devices (boards/esp32-devkitc.json), not the
# inspector's rods and magnetometer, so the inspector is flown on the Pico only
@pytest.mark.parametrize("board", ["rp2-pico", "esp32-devkitc"])
def test_rover_drives_drills_and_measures_within_the_board_heap_budget(board, backend, built_firmware, tmp_path, monkeypatch):
    m = _mission("rover", board, {"start": [300.0, 0.0, 0.0]}, backend, built_firmware, tmp_path, monkeypatch)
    with m:
        m.send("rover_nav.add_waypoint", "360", "0")
        m.send("rover_nav.drive")
        m.run_until(lambda m: m.event("rover_route_done"), flight_s=1500)
        m.run_for(2)
        assert m.hk("rover_truth")["lit"] == 0  # on the PSR floor
        m.send("rover_drill.drill", "0.3")
        m.run_until(lambda m: m.event("rover_drill_done"), flight_s=600)
        m.run_until(lambda m: (m.hk("rover_mobility") or {}).get("mode") == 1, flight_s=30)
        m.send("rover_spectrometer.measure", "16")
        m.run_until(lambda m: m.event("rover_spectrum_ready"), flight_s=10)
        m.run_for(10)  # the ST13 parts go down
        assert BACKEND_NAMES[m.hk("rover_mobility")["backend"]] == backend
        _heap_peak(m, "rover", backend)
