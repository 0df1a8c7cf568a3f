"""ground.mission: a vehicle flown from the ground in virtual time, its telemetry kept by name."""

import pytest

from ground.errors import ArgumentError
from ground.link import CommandFailed
from ground.mission import Mission, MissionTimeout
from hil.plugin import need_micropython


@pytest.fixture(params=["cpython", "micropython"])
def obc_mission(request):
    if request.param == "micropython":
        need_micropython()
    with Mission(None, runtime=request.param) as m:
        yield m


def test_mission_commands_by_cli_grammar_and_keeps_hk_by_name(obc_mission):
    m = obc_mission
    m.send("param.set", "obc.hk_period_ms=1000")
    m.run_for(5)
    series = m.series("obc", "uptime")
    assert len(series) >= 3
    times = [t for t, _ in series]
    assert times == sorted(times)
    assert m.hk("obc")["uptime"] == series[-1][1]
    assert m.event("param_changed")["data"]["aux"] == {"param_id": 1}
    assert m.t >= times[-1]


def test_mission_run_until_times_out_in_flight_time(obc_mission):
    with pytest.raises(MissionTimeout, match="not within 3 s of flight time"):
        obc_mission.run_until(lambda m: False, flight_s=3)


def test_mission_bad_commands_fail_like_the_cli(obc_mission):
    with pytest.raises(ArgumentError, match="outside its range"):
        obc_mission.send("param.set", "obc.hk_period_ms=5")
    with pytest.raises(CommandFailed) as info:
        obc_mission.send("hk.one_shot", "77")
    assert (info.value.stage, info.value.error) == ("start", "UNKNOWN_STRUCTURE")


def test_mission_fails_fast_when_the_flight_app_dies(obc_mission):
    m = obc_mission
    m.sitl._flight.proc.kill()
    m.sitl.wait(5)
    with pytest.raises(MissionTimeout, match="the flight app exited with code -9"):
        m.run_until(lambda m: False, flight_s=1e6)


def test_mission_refuses_a_tc_over_its_boards_frame_before_sending():
    # the ESP32 declares a 240-octet frame: a longer TC would be dropped by the board without a report
    from ground.errors import FramingError

    with Mission(None, runtime="cpython", board="esp32-devkitc") as m:
        assert m.link.max_frame == 240
        with pytest.raises(FramingError, match="a 276-octet frame, over the board's limit of 240 octets"):
            m.send("hk.change_interval", *["obc:1000"] * 40)
        assert m.send("hk.change_interval", *["obc:1000"] * 34).completed  # 36 + 34 * 6 = 240 octets: at the limit, sent
