"""Rover scenarios R1 R2 R3 R5 flown through the rover flight app from the ground (hil/scenarios/
rover_app_drive.py, rover_app_heading.py, rover_app_drill.py), through the registry.

Each test runs the scenario, asserts it passes and drew its PNG, then checks from the details the
figures its criterion is made of (all from the app's HK, truth HK and events). R1 also flies on the
MicroPython unix port. R4 has its own file (test_scenarios_rover_app.py).
"""

import math

import pytest

pytest.importorskip("matplotlib")

from ground.mission import UNIX_PORT_HEAP  # noqa: E402
from hil.plugin import need_micropython  # noqa: E402
from hil.scenarios import SCENARIOS, load_all  # noqa: E402
from hil.scenarios import rover_app_drill, rover_app_drive, rover_app_heading  # noqa: E402


def _run(sid, tmp_path):
    load_all()
    result = SCENARIOS[sid].run(plots=str(tmp_path))
    assert result.id == sid
    assert result.plot == str(tmp_path / ("%s.png" % sid))
    assert (tmp_path / ("%s.png" % sid)).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / ("%s.png" % sid)).stat().st_size > 10_000
    assert result.passed, "%s: %s (criterion: %s) %r" % (sid, result.figure, result.criterion, result.details)
    assert result.line().endswith("PASS")
    return result


def test_rover_scenarios_registered_from_the_app_modules_only():
    load_all()
    assert {"R1", "R2", "R3", "R4", "R5"} <= set(SCENARIOS)
    for sid, module in (("R1", rover_app_drive), ("R3", rover_app_drive), ("R2", rover_app_heading), ("R5", rover_app_drill)):
        assert SCENARIOS[sid].fn.__module__ == module.__name__


def test_polyline_distance_is_measured_from_the_nearest_leg():
    square = ((0.0, 0.0),) + rover_app_drive.SQUARE
    assert rover_app_drive.polyline_distance(10.0, 0.3, square) == pytest.approx(0.3)
    assert rover_app_drive.polyline_distance(20.5, 20.5, square) == pytest.approx(math.hypot(0.5, 0.5))
    assert rover_app_drive.polyline_distance(10.0, 10.0, square) == pytest.approx(10.0)


def _check_square(r):
    assert r["done"] and r["waypoints_max"] == 4  # the ST11-released waypoint joined the route
    assert r["rms_m"] < 0.1 and r["max_m"] < 0.3 and r["end_m"] < 0.2, r
    assert r["gap_max_s"] <= 0.25 and r["samples"] >= 0.9 * r["drive_s"] / 0.2, r  # 5 Hz truth over the drive
    assert r["step_errors"] == 0


def test_r1_square_from_truth_hk_at_both_ends_of_the_speed_range(tmp_path):
    runs = _run("R1", tmp_path).details["runs"]
    assert sorted(r["v_max"] for r in runs) == [0.05, 0.2]
    for r in runs:
        _check_square(r)
    slow, fast = sorted(runs, key=lambda r: r["v_max"])
    assert slow["drive_s"] > 3.0 * fast["drive_s"]  # the speed limit parameter took effect


@pytest.mark.micropython
def test_r1_square_on_the_micropython_unix_port():
    need_micropython()
    r = rover_app_drive.fly_square(0.2, runtime="micropython")
    _check_square(r)
    assert 0 < r["heap_peak"] <= UNIX_PORT_HEAP  # ground/mission.py: not the board's 160 KB on the 64-bit port


def test_r3_never_moves_onto_a_slope_above_the_limit(tmp_path):
    result = _run("R3", tmp_path)
    limit = result.details["slope_limit_deg"]
    runs = {r["path"]: r for r in result.details["runs"]}
    assert set(runs) == {"over the hill", "into the block", "across the ridge"}
    for r in runs.values():
        assert r["max_slope_under_deg"] < limit and r["moves_at_limit"] == 0 and r["mobility_samples"] > 50, r
        assert r["gap_max_s"] <= 0.25
    for name in ("into the block", "across the ridge"):  # the steep ones stop short, reported
        r = runs[name]
        assert not r["reached_end"] and r["hazard_stops"] == 1 and r["end_to_goal_m"] > 10.0, r
        assert r["stop_limit_deg"] == [limit] and r["stop_slope_ahead_deg"][0] >= limit
    hill = runs["over the hill"]
    assert hill["reached_end"] and hill["hazard_stops"] == 0 and hill["max_slope_under_deg"] > 3.0  # a real slope


def test_r3_route_planning_crosses_the_steep_features():
    ter = rover_app_drive.terrain_map()
    for name, start, goal, steep in rover_app_drive.traverses(ter):
        n = 200
        peak = max(ter.slope(start[0] + (goal[0] - start[0]) * i / n, start[1] + (goal[1] - start[1]) * i / n) for i in range(n + 1))
        assert (peak > rover_app_drive.SLOPE_LIMIT) == steep, (name, peak)


@pytest.mark.slow
def test_r2_heading_recovers_after_sun_fixes(tmp_path):
    r = _run("R2", tmp_path).details
    assert r["fixes_in_dark_hour"] == 0 and r["fixes"] > 1000
    assert abs(r["before_deg"]) > 5.0  # the gyro-only hour did drift: the fixes had work to do
    assert r["first_fix_s"] < 5.0 and r["judged_s"] > 600.0
    assert r["max_after_deg"] < 2.0 and r["route_done"]
    assert r["gap_max_s"] <= 2.0


def test_r5_retracts_in_the_measuring_cycle_each_time_and_reaches_depth(tmp_path):
    r = _run("R5", tmp_path).details
    assert [f["fault"] for f in r["faults"]] == ["stall", "over_temperature"]
    stall, hot = r["faults"]
    assert stall["reason"] in (1, 2) and hot["reason"] == 3
    assert stall["measured"]["torque"] > r["limits"]["torque"] or stall["measured"]["current"] > r["limits"]["current"]
    assert hot["measured"]["temp"] > r["limits"]["temp"]
    for f in r["faults"]:
        assert f["cycles"] == 0 and f["over_limit_while_drilling"] == 0, f
        assert 0.0 <= f["after_last_drilling_s"] <= 0.105 and f["deeper_after_m"] <= 0.0, f
        assert f["drill_gap_max_s"] <= 0.2
    assert stall["since_injection_s"] <= 0.105  # the stall is measured in the first cycle after the TC
    assert r["done_depth_m"] >= 1.49 and r["holes"] == 3 and r["drill_events"] == 2
