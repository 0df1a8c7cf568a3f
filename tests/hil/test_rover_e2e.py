"""The rover flight app end to end through a SITL (MicroPython unix port and CPython), flown
with ground.mission as an operator would: a waypoint scheduled with ST11, the drive into the PSR
(truth HK: lit 0), a drill with an injected stall (retract event), a drill and a spectrum
reassembled by the ground (ground/transfer.py) and written as CSV + PNG, the return to light.

Memory: the MicroPython run has ground.mission.UNIX_PORT_HEAP (the rover is at the edge of the
RP2040's 160 KB on the 64-bit port); tests/hil/test_memory_budget.py measures it at 160 KB."""

import datetime

import pytest

from ground import transfer
from ground.mission import UNIX_PORT_HEAP, Mission
from hil.plugin import need_micropython

RUNTIMES = [pytest.param("micropython", marks=[pytest.mark.micropython, pytest.mark.slow], id="sitl-mpy"), pytest.param("cpython", id="sitl-py")]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_rover_drive_into_shadow_drill_stall_spectrum_and_back(runtime, tmp_path, monkeypatch):
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "mitra-home"))
    if runtime == "micropython":
        need_micropython()
    m = Mission("rover", runtime=runtime, scenario={"start": [300.0, 0.0, 0.0]}, heap=UNIX_PORT_HEAP)  # ground/mission.py: not the board's 160 KB on the 64-bit port
    with m:
        now = datetime.datetime.now(datetime.timezone.utc)
        us = (now - datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(microseconds=1)
        m.link.command("time.set_time", {"coarse": us // 1000000, "fine": 0})  # ST11 releases against a set clock
        m.send("sched.insert", "+300", "rover_nav.add_waypoint", "360", "0")  # ST11 -> the dispatcher -> rover_nav
        assert (m.hk("rover_nav") or {}).get("waypoints", 0) == 0
        m.run_until(lambda m: (m.hk("rover_nav") or {}).get("waypoints") == 1, flight_s=900)
        m.send("rover_nav.drive")
        m.run_until(lambda m: m.event("rover_route_done"), flight_s=1500)
        m.run_for(2)
        assert m.hk("rover_truth")["lit"] == 0  # on the PSR floor
        assert m.event("rover_entered_shadow") is not None
        m.send("rover_drill.drill", "0.3")
        m.run_for(20)
        m.send("rover_mobility.inject_fault", "drill", "stall", "1")
        m.run_until(lambda m: m.event("rover_drill_retract"), flight_s=30)
        aux = m.event("rover_drill_retract")["data"]["aux"]
        assert aux["reason"] == 1 and aux["cycles"] == 0
        m.run_until(lambda m: (m.hk("rover_mobility") or {}).get("mode") == 1, flight_s=300)
        m.send("rover_mobility.clear_faults", "drill")
        m.send("rover_drill.drill", "0.3")
        m.run_until(lambda m: m.event("rover_drill_done"), flight_s=600)
        m.run_until(lambda m: (m.hk("rover_mobility") or {}).get("mode") == 1, flight_s=30)
        m.send("rover_spectrometer.measure", "16")
        m.run_until(lambda m: m.event("rover_spectrum_ready"), flight_s=10)
        tid = m.event("rover_spectrum_ready")["data"]["aux"]["transaction"]
        r = transfer.Reassembler()
        m.run_until(lambda m: [r.feed(p) for p in m.packets] and r.get(tid).complete, flight_s=60)
        path = transfer.write_product(r.get(tid), tmp_path)
        rows = path.read_text().splitlines()
        assert rows[1] == "depth_m,abundance_wt_pct" and len(rows) == 2 + 16
        assert path.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        m.run_for(5)  # the downlink drains
        m.send("rover_nav.add_waypoint", "300", "0", timeout=20.0)
        m.send("rover_nav.drive")
        m.run_until(lambda m: len(m.events("rover_route_done")) >= 2, flight_s=1500)
        m.run_for(2)
        assert m.hk("rover_truth")["lit"] == 1
        assert m.hk("rover_power")["soc_min"] > 0.25
        assert m.hk("rover_mobility")["step_errors"] == 0
