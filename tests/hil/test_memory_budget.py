"""Each vehicle app flies a short mission on the MicroPython unix port with the heap capped at
exactly the board's budget (rp2-pico: 160 KB; the SITL boots the firmware from ROMFS, so the cap
is the budget plus the image, ground/romboot.py) and reports its high-water mark without MemoryError.

The flight runs through every mode that allocates: the inspector detumbles, points at the Sun
and at the debris, approaches, captures an image (ST13 downlink) and enters a safety ellipse;
the rover drives into shadow, drills and measures a spectrum (ST13 downlink). heap_peak (OBC HK)
is the live heap right after the OBC's chosen collections, the ROMFS image left out
(hal.heap_used). The peak is printed (pytest -s) for docs/benchmarks.md."""

import pytest

from ground.sitl import load_board
from ground.mission import Mission
from hil.plugin import need_micropython

BOARD = "rp2-pico"
pytestmark = pytest.mark.micropython  # each flight takes well under 20 s of real time


def _mission(vehicle, scenario, tmp_path, monkeypatch):
    need_micropython()
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "mitra-home"))
    m = Mission(vehicle, runtime="micropython", board=BOARD, scenario=scenario, state_dir=tmp_path / "state")
    assert m.sitl.board["heap_budget"] == load_board(BOARD)["heap_budget"] == 160 * 1024  # not raised
    return m


def _heap_peak(m, vehicle):
    m.run_for(3)  # one more OBC HK (1 Hz) after the last mode: its heap_peak covers the whole flight
    obc = m.hk("obc")
    peak = obc["heap_peak"]
    print("%s on %s (%d B budget): heap_peak %d B (OBC HK), heap_free %d B" % (
        vehicle, BOARD, m.sitl.board["heap_budget"], peak, obc["heap_free"]))
    assert 0 < peak < m.sitl.board["heap_budget"]
    assert m.events("task_error") == []  # no cycle or schedule tick ran out of memory
    return peak


@pytest.mark.xfail(strict=True, reason="the inspector's live heap is ~152 KB after 20 cycles (probe, docs/benchmarks.md): "
                                      "at a 160 KB cap it runs out during start-up or the first GNC steps")
def test_inspector_flies_every_mode_within_the_rp2040_heap_budget(tmp_path, monkeypatch):
    m = _mission("inspector", {"w0": [0.01, -0.015, 0.01], "rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]}, tmp_path,
                 monkeypatch)
    with m:
        m.send("inspector_adcs.set_mode", "DETUMBLE")
        m.run_until(lambda m: m.event("inspector_detumbled"), flight_s=200)  # then SUN_POINT by itself
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
        _heap_peak(m, "inspector")


@pytest.mark.xfail(strict=False, reason="the rover sits at the edge of 160 KB on the 64-bit port: at the same commit it "
                                       "flies from one checkout (heap_peak ~140 KB, probes at 8d40497..90d17d2: 16 of 16) "
                                       "and runs out in its first step from another (cf07d93 in /work/main)")
def test_rover_drives_drills_and_measures_within_the_rp2040_heap_budget(tmp_path, monkeypatch):
    m = _mission("rover", {"start": [300.0, 0.0, 0.0]}, tmp_path, monkeypatch)
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
        _heap_peak(m, "rover")
