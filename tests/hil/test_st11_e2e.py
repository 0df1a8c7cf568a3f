"""ST11 time-based scheduling end to end over the serial link, on every selected target
(hil.plugin `flight`): insert, release at its time (judged by the board's own TM time
stamps, never by wall-clock asserts), summary, delete, disable/enable, a reboot with the
schedule on flash, and the operator's `ground send sched.insert +2 test.ping`.

The board's clock is set by time.set_time first: nothing is released against an unset
clock (fsw/services/st11.py). Waits are safety nets only.
"""

import datetime

import pytest

from ground import cli, codec
from ground import dictionary as d
from ground.link import CommandFailed
from hil.plugin import is_event, st1_for, wait_for

ERR = d.ERROR_BY_NAME
RELEASED = d.EVENT_BY_NAME["sched_released"].id
MISSED = d.EVENT_BY_NAME["sched_missed"].id
ACCEPT_OK, START_OK, START_FAIL, DONE_OK = 1, 3, 4, 7
T0 = 800_000_000  # board time set by the tests (2025-05-08)


def stamp(p):
    return (p["time"]["coarse"], p["time"]["fine"])


def ping(seq):
    return codec.encode_command(d.command("test.ping"), None, seq_count=seq)


def insert(link, coarse, inner, fine=0):
    return link.command("sched.insert", {"coarse": coarse, "fine": fine, "tc": inner})


def summary(link):
    result = link.command("sched.summary")
    (report,) = [p for p in result.telemetry if p["name"] == "sched.summary_report"]
    return report["data"]


def event_for(p, event_id, rid):
    return is_event(p, event_id) and p["data"]["aux"]["request_id"] == rid


def done_for(rid):
    return lambda p: p["service"] == 1 and p["subtype"] == DONE_OK and p["data"]["request_id"] == rid


def expect_failure(call, stage, error):
    with pytest.raises(CommandFailed) as info:
        call()
    assert (info.value.stage, info.value.error) == (stage, error), str(info.value)


def test_st11_scheduled_ping_is_released_after_its_release_time_not_before(flight):
    with flight.link() as link:
        link.command("time.set_time", {"coarse": T0, "fine": 0})
        inner = ping(77)
        rid = codec.request_id(inner)
        release = (T0 + 2, 0)
        result = insert(link, release[0], inner, fine=release[1])
        assert stamp(result.reports[-1]) < release  # inserted, not run at once
        seen = list(result.packets)
        wait_for(link, done_for(rid), timeout=15, seen=seen)
        released = [p for p in seen if event_for(p, RELEASED, rid)]
        assert len(released) == 1 and stamp(released[0]) >= release
        reports = [p for p in seen if p["service"] == 1 and p["data"]["request_id"] == rid]
        assert [p["subtype"] for p in reports] == [ACCEPT_OK, START_OK, DONE_OK]
        assert all(stamp(p) >= release for p in reports)
        assert seen.index(released[0]) < seen.index(reports[0])  # the event first, then its ST1 reports
        assert [p for p in seen if p["name"] == "test.pong" and stamp(p) < release] == []
        assert summary(link)["activities"] == []


def test_st11_summary_lists_by_release_time_and_delete_removes(flight):
    with flight.link() as link:
        link.command("time.set_time", {"coarse": T0, "fine": 0})
        a, b, c = ping(1), ping(2), ping(3)
        insert(link, T0 + 3000, a)
        insert(link, T0 + 1000, b, fine=0x8000)
        insert(link, T0 + 2000, c)
        got = summary(link)
        assert got["enabled"] == 1
        assert [(x["request_id"], x["coarse"], x["fine"]) for x in got["activities"]] == [
            (codec.request_id(b), T0 + 1000, 0x8000),
            (codec.request_id(c), T0 + 2000, 0),
            (codec.request_id(a), T0 + 3000, 0),
        ]
        link.command("sched.delete", {"requests": [{"request_id": codec.request_id(c)}]})
        assert [x["request_id"] for x in summary(link)["activities"]] == [codec.request_id(b), codec.request_id(a)]
        expect_failure(
            lambda: link.command("sched.delete", {"requests": [{"request_id": codec.request_id(a)}, {"request_id": codec.request_id(ping(9))}]}),
            "start",
            "UNKNOWN_REQUEST",
        )
        assert len(summary(link)["activities"]) == 2  # nothing deleted
        expect_failure(lambda: insert(link, T0 - 1, ping(4)), "start", "TIME_PASSED")
        expect_failure(lambda: insert(link, T0 + 10, a), "start", "ARG_OUT_OF_RANGE")  # its request ID is taken
        expect_failure(lambda: insert(link, T0 + 10, ping(5)[:-1]), "start", "BAD_LENGTH")
        link.command("sched.reset")
        assert summary(link) == {"enabled": 0, "activities": []}


def test_st11_due_while_disabled_is_reported_missed_on_enable_and_not_run(flight):
    with flight.link() as link:
        link.command("time.set_time", {"coarse": T0, "fine": 0})
        inner = ping(11)
        rid = codec.request_id(inner)
        insert(link, T0 + 5, inner)
        link.command("sched.disable")
        link.command("time.set_time", {"coarse": T0 + 10, "fine": 0})  # its time passes while disabled
        result = link.command("sched.enable")
        missed = [p for p in result.telemetry if event_for(p, MISSED, rid)]
        assert len(missed) == 1
        assert missed[0]["data"]["aux"]["release_coarse"] == T0 + 5
        assert summary(link)["activities"] == []
        done = link.command("test.ping")  # a barrier: had it run, its reports would be out by now
        assert st1_for(result.packets + done.packets, rid) == []


def test_st11_schedule_survives_a_reboot_due_while_down_is_missed_later_is_released(flight):
    with flight.link() as link:
        link.command("time.set_time", {"coarse": T0, "fine": 0})
        early, late = ping(21), ping(22)
        insert(link, T0 + 100, early)
        insert(link, T0 + 103, late)
        flight.reboot()
        before = summary(link)  # loaded from flash; the clock is unset, so nothing is judged yet
        assert [x["request_id"] for x in before["activities"]] == [codec.request_id(early), codec.request_id(late)]
        result = link.command("time.set_time", {"coarse": T0 + 101, "fine": 0})
        seen = list(result.packets)
        wait_for(link, done_for(codec.request_id(late)), timeout=20, seen=seen)
        assert [p["data"]["aux"]["request_id"] for p in seen if is_event(p, MISSED)] == [codec.request_id(early)]
        assert st1_for(seen, codec.request_id(early)) == []
        released = [p for p in seen if event_for(p, RELEASED, codec.request_id(late))]
        assert len(released) == 1 and stamp(released[0]) >= (T0 + 103, 0)
        assert all(stamp(p) >= (T0 + 103, 0) for p in seen if p["service"] == 1 and p["data"]["request_id"] == codec.request_id(late))


def test_st11_cli_insert_summary_delete_and_release(flight, capsys):
    with flight.link() as link:
        now = datetime.datetime.now(datetime.timezone.utc)
        seconds = (now - datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(microseconds=1)
        link.command("time.set_time", {"coarse": seconds // 1000000, "fine": (seconds % 1000000) * 65536 // 1000000})
    base = ["send", "--port", flight.port, "--key", flight.key_name, "--ack-window", str(flight.ack_window_s)]
    capsys.readouterr()
    assert cli.main(base + ["sched.insert", "+600", "test.ping"]) == 0
    assert cli.main(base + ["sched.summary"]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if "sched.summary_report" in x]
    assert "release=" in line
    printed = line.split("request_id=")[1].split()[0]  # apid=0x001,seq=N
    assert cli.main(base + ["sched.delete", printed]) == 0
    assert cli.main(base + ["sched.insert", "+2", "test.ping"]) == 0
    out = capsys.readouterr().out
    assert "completion_success" in out
    with flight.link() as link:
        released = wait_for(link, lambda p: is_event(p, RELEASED), timeout=15)
        rid = released["data"]["aux"]["request_id"]
        wait_for(link, done_for(rid), timeout=10)
        assert summary(link)["activities"] == []


@pytest.mark.parametrize(
    "args,message",
    [
        (["+2", "nosuch.cmd"], "unknown service or component 'nosuch'"),
        (["+2", "test.ping", "extra"], "test.ping takes no arguments"),
        (["+2", "param.get", "no_such_param"], "unknown parameter 'no_such_param'"),
        (["2001-01-01T00:00:00", "test.ping"], "is not in the future"),
        (["5", "test.ping"], "is not in the future"),
        (["+0", "test.ping"], "not +SECONDS"),
        (["soon", "test.ping"], "is not +SECONDS, an ISO date-time or COARSE"),
        (["+2"], "expected AT COMMAND"),
        (["+2", "param.set"] + ["obc.hk_period_ms=2000"] * 200, "octet frame (at most 1024)"),
    ],
)
def test_st11_cli_refuses_bad_inserts_before_sending(capsys, args, message):
    # the port does not exist: a refusal must come before the link is opened
    assert cli.main(["send", "--port", "/nonexistent/tty", "sched.insert"] + args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ground: ") and message in err[0], err


def test_st11_cli_refuses_bad_request_ids_before_sending(capsys):
    assert cli.main(["send", "--port", "/nonexistent/tty", "sched.delete", "apid=0x001"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not apid=APID,seq=COUNT" in err[0], err
