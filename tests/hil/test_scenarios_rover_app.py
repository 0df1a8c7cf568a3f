"""R4 through the rover flight app (hil/scenarios/rover_app.py): a battery-only excursion into the
PSR crater and back, flown from the ground; the minimum state of charge from the app's HK, the
shadow from the truth HK."""

import pytest

from hil.plugin import need_micropython
from hil.scenarios import SCENARIOS, load_all, rover_app


def test_r4_is_registered_with_the_rig():
    load_all()
    assert SCENARIOS["R4"].criterion == rover_app.R4_CRITERION


def check(r):
    assert r["arrived"] and r["drilled"] and r["spectrum"] and r["returned"], r
    assert r["floor_lit"] == 0 and r["dark_s"] > 60, r  # a real shadow excursion (truth)
    assert r["end_lit"] == 1, r  # back in the light
    assert r["soc_min"] >= rover_app.RESERVE, r


@pytest.mark.slow
def test_r4_passes_on_cpython_with_the_c_core():
    result = SCENARIOS["R4"].run() if "R4" in SCENARIOS else rover_app.r4()
    check(result.details)
    assert result.passed and result.line().endswith("PASS")


@pytest.mark.slow
@pytest.mark.micropython
def test_r4_flies_on_the_micropython_unix_port():
    need_micropython()
    check(rover_app.fly("micropython", heap=320 * 1024))
