"""The vehicle apps in SITL: real-time factor and the cost of each app's 10 Hz task.

Group "sitl app": each vehicle flies a fixed pass from the ground (ground.mission, virtual time:
flight time runs as fast as the host computes it) on each runtime:

    cpython       the C core through cffi (the sitl-py target)
    micropython   the pure-MicroPython GNC fallback on the unix port, the firmware deployed as
                  ROMFS and the heap capped at the board's budget (the sitl-mpy target)

The real-time factor is flight seconds per real second over the pass (ARCHITECTURE.md: at least
100x on CPython, 20x on the unix port). The 10 Hz task's cost is the app's own measurement,
reported in its HK (`cycle_us`: the last cycle's world step, sensors, GNC step and actuators,
sampled at each HK report; `cycle_us_max`: the dearest since boot); heap_peak is the OBC HK's.
The C core on MicroPython (the user C module) needs a firmware build with it (not this port).

Benchmarks measure, they never assert on time. Under `make test` (--benchmark-disable) each pass
is short and only its results are checked.
"""

import statistics

import pytest

from ground.mission import UNIX_PORT_HEAP, Mission
from hil.plugin import need_micropython

# The 64-bit unix port's objects are about twice a board's: the inspector's peak there is above the
# RP2040's 160 KB and the rover sits at its edge (on the 32-bit build both fit with room to spare:
# tests/hil/test_memory_budget.py). Both fly here with the e2e tests' heap (ground/mission.py), and
# the table records it as the budget flown.
OVER_BUDGET = {"inspector": UNIX_PORT_HEAP, "rover": UNIX_PORT_HEAP}

PASSES = {
    # vehicle: (scenario, HK with cycle_us, commands, flight seconds when timed / when not)
    "inspector": ({"w0": [0.01, -0.015, 0.01]}, "inspector_adcs", [("inspector_adcs.set_mode", "DETUMBLE")], 3000, 300),
    "rover": ({"start": [300.0, 0.0, 0.0]}, "rover_mobility", [("rover_nav.add_waypoint", "360", "0"), ("rover_nav.drive",)], 600, 120),
}


@pytest.mark.parametrize("runtime", [pytest.param("micropython", marks=pytest.mark.micropython), "cpython"])
@pytest.mark.parametrize("vehicle", sorted(PASSES))
def test_bench_sitl_app_real_time_factor_and_cycle_cost(benchmark, vehicle, runtime, tmp_path, monkeypatch):
    if runtime == "micropython":
        need_micropython()
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    scenario, hk, commands, timed_s, quick_s = PASSES[vehicle]
    flight_s = timed_s if benchmark.enabled else quick_s  # (addopts always carries --benchmark-disable; --benchmark-enable wins)
    benchmark.group = "sitl app"
    figures = {}

    mission = Mission(vehicle, runtime=runtime, scenario=scenario)
    if runtime == "micropython" and vehicle in OVER_BUDGET:
        mission.sitl.board["heap_budget"] = OVER_BUDGET[vehicle]  # recorded in the table as the budget flown

    def fly():
        with mission as m:
            m.send("hk.change_interval", "%s:1000" % hk)
            for command in commands:
                m.send(*command)
            m.run_for(flight_s, real_limit_s=600)
            rtf = m.real_time_factor()
            m.send("hk.one_shot", "obc")
            m.run_until(lambda m: m.hk("obc") is not None, flight_s=10)
            cycles = [v for _, v in m.series(hk, "cycle_us")]
            figures.update(
                flight_s=round(m.elapsed, 1),
                rtf=round(rtf, 1),
                cycle_us_median=int(statistics.median(cycles)),
                cycle_us_max=max(v for _, v in m.series(hk, "cycle_us_max")),
                samples=len(cycles),
                backend=m.hk(hk)["backend"],
                heap_peak=m.hk("obc")["heap_peak"],
                heap_budget=m.sitl.board["heap_budget"] if runtime == "micropython" else None,
                step_errors=m.hk(hk)["step_errors"],
            )

    benchmark.pedantic(fly, rounds=1, iterations=1)
    assert figures["flight_s"] >= flight_s
    assert figures["samples"] >= flight_s // 2  # one HK a second of flight
    assert figures["step_errors"] == 0
    assert figures["backend"] == (1 if runtime == "cpython" else 0)  # cffi / fallback (dictionary BACKENDS)
    if runtime == "micropython":
        assert 0 < figures["heap_peak"] <= figures["heap_budget"]
    benchmark.extra_info.update(vehicle=vehicle, runtime=runtime, **figures)
