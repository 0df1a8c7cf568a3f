"""Rover closed-loop scenarios (GNC.md R1 R2 R3 R5) through the registry, C core in the loop.

Each test runs the scenario with its default runs and seed 0, asserts it passes and that it drew
its PNG, then checks the figures the criterion is made of from the details.
"""

import math

import pytest

pytest.importorskip("matplotlib")

from hil.scenarios import SCENARIOS  # noqa: E402
import hil.scenarios.rover  # noqa: E402,F401 (registers the rover scenarios)
from hil.scenarios.terrain import SYNODIC_DAY, Terrain  # noqa: E402


def _run(sid, tmp_path, runs=None, seed=0):
    result = SCENARIOS[sid].run(runs=runs, plots=str(tmp_path), seed=seed)
    assert result.id == sid
    assert result.plot == str(tmp_path / ("%s.png" % sid))
    assert (tmp_path / ("%s.png" % sid)).stat().st_size > 10_000
    assert result.passed, "%s: %s (criterion: %s) %r" % (sid, result.figure, result.criterion, result.details)
    return result


def test_rover_scenarios_registered():
    assert {"R1", "R2", "R3", "R5"} <= set(SCENARIOS)


def test_r1_square_tracks_within_criterion_at_three_speeds(tmp_path):
    result = _run("R1", tmp_path)
    runs = result.details["runs"]
    assert sorted(r["v_max"] for r in runs) == [0.05, 0.1, 0.2]
    for r in runs:
        assert r["done"] and r["fixes"] > 0
        assert r["rms_m"] < 0.1 and r["max_m"] < 0.3 and r["end_m"] < 0.2


def test_r2_heading_recovers_after_sun_fixes(tmp_path):
    result = _run("R2", tmp_path)
    for r in result.details["runs"]:
        assert abs(abs(r["bias_deg_h"]) - 10.0) < 1e-9
        assert r["before_deg"] > 5.0  # the gyro-only hour did drift: the fixes have work to do
        assert r["max_after_deg"] < 2.0 and r["fixes"] >= 25


def test_r3_never_moves_onto_a_slope_above_the_limit(tmp_path):
    result = _run("R3", tmp_path)
    runs = {r["path"]: r for r in result.details["runs"]}
    assert all(r["cmd_violations"] == 0 and r["stand_violations"] == 0 for r in runs.values())
    assert all(r["max_slope_under_deg"] < result.details["slope_limit_deg"] for r in runs.values())
    # The traverses that head into steep ground stop short; those that pass it arrive.
    assert not runs["across the ridge"]["reached_end"] and not runs["into the crater"]["reached_end"]
    assert runs["over the hill"]["reached_end"] and runs["past the block"]["reached_end"]


def test_r5_drill_retracts_in_the_fault_cycle_and_reaches_depth(tmp_path):
    result = _run("R5", tmp_path)
    for r in result.details["runs"]:
        assert [f["kind"] for f in r["faults"]] == ["stall", "over-temperature"]
        assert all(f["latency"] <= 1 and f["fed_after"] == 0 for f in r["faults"])
        assert r["done"] and r["attempts"] == 3 and r["max_depth_m"] >= 1.5 - 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("sid", ["R1", "R3", "R5"])
def test_rover_scenarios_pass_with_other_seeds(sid, tmp_path):
    for seed in (1, 2):
        _run(sid, tmp_path, seed=seed)


def test_terrain_has_steep_patches_a_shadowed_crater_and_a_low_sun():
    ter = Terrain()
    slope = ter.slope_grid
    assert (slope > math.radians(25.0)).any()  # steep patches beyond any rover limit
    assert math.degrees(float(ter.slope(-45.0, -40.0))) < 8.0  # R1's square is on gentle ground
    _, _, psr = ter.psr_mask()
    cx, cy, _ = ter.crater
    assert psr.sum() > 100 and not ter.sunlit(cx, cy, 0.0)[0]
    az, el = Terrain.sun([0.0, SYNODIC_DAY / 4, SYNODIC_DAY / 2])
    assert all(abs(e) < math.radians(3.0) for e in el)
    assert abs((az[2] - az[0]) - math.pi) < 1e-9  # half a synodic day turns the Sun half-way round
