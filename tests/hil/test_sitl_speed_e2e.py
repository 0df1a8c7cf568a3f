"""The flight app in virtual time (`ground sitl --speed max`): it boots, answers, and its time
reports step by exactly the requested interval of flight time."""

import pytest

from ground.cli import main
from hil.plugin import wait_for


def _time_report(p):
    return p["type"] == "tm" and p["name"] == "time.report"


def test_sitl_speed_max_runs_in_virtual_time(flight):
    fast = flight.spawn(speed="max")
    with fast.link() as link:
        link.command("test.ping")
        link.command("time.set_rate", {"rate_exp": 0})  # a report every flight second
        seen = []
        first = wait_for(link, _time_report, timeout=20, seen=seen)
        coarse = [first["data"]["coarse"]]
        while len(coarse) < 4:
            coarse.append(wait_for(link, _time_report, timeout=20, seen=seen)["data"]["coarse"])
    assert [b - a for a, b in zip(coarse, coarse[1:])] == [1, 1, 1]


@pytest.mark.parametrize("value, message", [("0", "must be in 0.001..1000 or 'max', got 0"), ("fast", "'fast' is not a number or 'max'")])
def test_cli_sitl_speed_refuses_zero_and_words(capsys, value, message):
    with pytest.raises(SystemExit) as info:
        main(["sitl", "--speed", value])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
