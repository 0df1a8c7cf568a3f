"""The OBC app end to end over its serial link, on every selected target (hil.plugin `flight`).

Each test talks to a freshly booted flight app through ground.link.GroundLink
exactly as an operator's `ground send` does; raw packets built by hand cover
what the dictionary cannot express. Waits are safety nets; the only timing
checks (periodic reports) allow a factor of 2 either way.
"""

import math
import statistics

import pytest

from ground import codec
from ground import dictionary as d
from ground.link import CommandFailed
from hil.plugin import (
    EVENT_BOOT,
    EVENT_PARAM_CHANGED,
    EVENT_TIME_SET,
    collect,
    hk_obc,
    is_event,
    is_hk,
    ping_barrier,
    raw_tc,
    st1_for,
    wait_for,
)

ERR = d.ERROR_BY_NAME
P_HK_PERIOD, P_DRIFT, P_WINDOW, P_MIN_SEVERITY, P_BOOT_COUNT = 1, 2, 3, 4, 5
ACCEPT_OK, ACCEPT_FAIL, START_OK, START_FAIL, DONE_OK = 1, 2, 3, 4, 7


def get_param(link, pid):
    result = link.command("param.get", {"param_ids": [{"param_id": pid}]})
    values = [p for p in result.telemetry if p["service"] == 20 and p["subtype"] == 2]
    assert len(values) == 1, result.packets
    (item,) = values[0]["data"]["params"]
    assert item["param_id"] == pid
    return item["value"]


def set_params(link, pairs, **kwargs):
    return link.command("param.set", {"params": [{"param_id": pid, "value": v} for pid, v in pairs]}, **kwargs)


def expect_failure(call, stage, error):
    with pytest.raises(CommandFailed) as info:
        call()
    assert (info.value.stage, info.value.error) == (stage, error), str(info.value)
    return info.value


def time_report(p):
    return p["type"] == "tm" and p["service"] == 9 and p["subtype"] == 2


# --- ST17 -------------------------------------------------------------------------


def test_ping_answers_pong_with_acceptance_start_completion_for_its_request_id(flight):
    with flight.link() as link:
        result = link.command("test.ping")
        # request ID: packet ID (TC, sec header, APID 1) | sequence control (unsegmented, count)
        expected_id = (0x1801 << 16) | 0xC000 | link.seq_count
        assert result.request_id == expected_id
        names = [p["name"] for p in result.packets]
        assert names == [
            "verification.acceptance_success",
            "verification.start_success",
            "test.pong",
            "verification.completion_success",
        ]
        assert [p["data"]["request_id"] for p in result.reports] == [expected_id] * 3
        assert all(p["apid"] == 1 and p["destination_id"] == d.GROUND_ID for p in result.packets)
        assert result.accepted and result.completed


# --- ST20 parameters -----------------------------------------------------------------


def test_param_set_then_get_returns_value_and_emits_param_changed(flight):
    with flight.link() as link:
        result = set_params(link, [(P_HK_PERIOD, 1500), (P_DRIFT, 12.5)])
        assert result.completed
        events = [p for p in result.telemetry if is_event(p, EVENT_PARAM_CHANGED)]
        assert [(p["subtype"], p["data"]["aux"]["param_id"]) for p in events] == [(2, P_HK_PERIOD), (2, P_DRIFT)]
        assert get_param(link, P_HK_PERIOD) == 1500
        assert get_param(link, P_DRIFT) == 12.5


def test_param_set_persists_across_reboot(flight):
    with flight.link() as link:
        set_params(link, [(P_HK_PERIOD, 2500), (P_MIN_SEVERITY, 2)])
        flight.reboot()
        assert get_param(link, P_HK_PERIOD) == 2500  # the link resyncs past the rebooted board's floor
        assert get_param(link, P_MIN_SEVERITY) == 2


@pytest.mark.parametrize("value", [99, 3600001, 0xFFFFFFFF])
def test_param_set_out_of_range_fails_at_start_and_keeps_value(flight, value):
    with flight.link() as link:
        before = get_param(link, P_HK_PERIOD)
        exc = expect_failure(lambda: set_params(link, [(P_HK_PERIOD, value)]), "start", "ARG_OUT_OF_RANGE")
        assert exc.code == ERR["ARG_OUT_OF_RANGE"]
        assert [p["subtype"] for p in exc.reports] == [ACCEPT_OK, START_FAIL]
        assert get_param(link, P_HK_PERIOD) == before


def test_param_set_of_several_is_refused_whole_when_one_is_out_of_range(flight):
    with flight.link() as link:
        before = get_param(link, P_HK_PERIOD), get_param(link, P_WINDOW)
        new = 2000 if before[0] != 2000 else 2100
        expect_failure(lambda: set_params(link, [(P_HK_PERIOD, new), (P_WINDOW, 8)]), "start", "ARG_OUT_OF_RANGE")
        assert (get_param(link, P_HK_PERIOD), get_param(link, P_WINDOW)) == before


def test_param_set_read_only_boot_count_is_refused(flight):
    with flight.link() as link:
        before = get_param(link, P_BOOT_COUNT)
        exc = expect_failure(lambda: set_params(link, [(P_BOOT_COUNT, 77)]), "start", "READ_ONLY_PARAMETER")
        assert exc.code == ERR["READ_ONLY_PARAMETER"]
        assert get_param(link, P_BOOT_COUNT) == before


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_param_set_f32_non_finite_sent_raw_is_out_of_range(flight, value):
    with flight.link() as link:
        before = get_param(link, P_DRIFT)
        # ground.args refuses these; the codec does not, so this reaches the board as sent
        packet = codec.encode_tc(20, 3, {"params": [{"param_id": P_DRIFT, "value": value}]}, seq_count=link.next_seq())
        expect_failure(lambda: link.send_packet(packet, "param.set"), "start", "ARG_OUT_OF_RANGE")
        assert get_param(link, P_DRIFT) == before


def test_param_get_unknown_id_fails_at_start(flight):
    with flight.link() as link:
        call = lambda: link.command("param.get", {"param_ids": [{"param_id": 99}]})  # noqa: E731
        expect_failure(call, "start", "UNKNOWN_PARAMETER")


def test_param_get_without_ids_reports_every_parameter(flight):
    with flight.link() as link:
        result = link.command("param.get", {"param_ids": []})
        (values,) = [p for p in result.telemetry if p["service"] == 20]
        # the OBC alone (no vehicle app): its own parameters, every one of them
        obc = d.APID_BY_NAME["obc"]
        assert [x["param_id"] for x in values["data"]["params"]] == [p.id for p in d.PARAMS if d.OWNER[("param", p.id)] == obc]


# --- boot counter -----------------------------------------------------------------------


def test_boot_count_increments_across_reboots_and_boot_event_carries_it(flight):
    with flight.link() as link:
        first = get_param(link, P_BOOT_COUNT)
        if flight.sitl is not None:
            assert first == 1  # a fresh state dir
        for n in (1, 2):
            flight.reboot()
            boot = wait_for(link, lambda p: is_event(p, EVENT_BOOT))
            assert boot["subtype"] == 1  # info
            assert boot["data"]["aux"]["boot_count"] == first + n
            assert get_param(link, P_BOOT_COUNT) == first + n
        assert hk_obc(link)["boot_count"] == first + 2


# --- ST3 housekeeping ------------------------------------------------------------------


def test_hk_one_shot_counters_count_exactly_the_tcs_and_frames_sent(flight):
    with flight.link() as link:
        key = link.key
        sn0 = key.next_sn
        h1 = hk_obc(link)
        for _ in range(3):
            link.command("test.ping")
        expect_failure(lambda: link.send_packet(raw_tc(99, 1, seq_count=link.next_seq())), "acceptance", "UNKNOWN_SERVICE")
        h2 = hk_obc(link)
        frames_sent = key.next_sn - sn0  # every sealed frame took one SN
        assert frames_sent == 6
        assert h2["tc_accepted"] - h1["tc_accepted"] == 4  # 3 pings + this one-shot
        assert h2["tc_rejected"] - h1["tc_rejected"] == 1
        assert h2["frames_ok"] - h1["frames_ok"] == frames_sent - 1
        assert h2["tm_sent"] > h1["tm_sent"]
        if flight.sitl is not None:  # a fresh boot: absolute values
            assert h1["frames_ok"] == 1 and h1["tc_accepted"] == 1 and h1["tc_rejected"] == 0
            assert h2["frames_ok"] == frames_sent
            assert h2["boot_count"] == 1
            assert 0 <= h2["uptime"] < 3600
            assert all(h2[k] == 0 for k in h2 if k.startswith("drop_"))
        if flight.runtime == "micropython":
            assert 0 < h2["heap_free"] < flight.board["heap_budget"]


def test_hk_periodic_reports_arrive_at_the_configured_interval(flight):
    interval_ms, window_s = 250, 3.0
    with flight.link() as link:
        link.command("hk.change_interval", {"intervals": [{"sid": 1, "interval_ms": interval_ms}]})
        reports = [p for p in collect(link, window_s) if is_hk(p)]
        expected = window_s * 1000 / interval_ms  # 12
        assert expected / 2 <= len(reports) <= expected * 2, len(reports)
        # spacing in flight time (the TM time stamps), also within a factor of 2
        stamps = [p["time"]["coarse"] * 1000 + p["time"]["fine"] * 1000 // 65536 for p in reports]
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        assert interval_ms / 2 <= statistics.median(gaps) <= interval_ms * 2, gaps


def test_hk_period_parameter_sets_the_periodic_interval(flight):
    with flight.link() as link:
        set_params(link, [(P_HK_PERIOD, 200)])
        reports = [p for p in collect(link, 2.0) if is_hk(p)]
        assert 5 <= len(reports) <= 20, len(reports)  # 10 expected


def test_hk_disable_stops_periodic_reports_and_enable_restarts_them(flight):
    with flight.link() as link:
        link.command("hk.change_interval", {"intervals": [{"sid": 1, "interval_ms": 200}]})
        wait_for(link, is_hk)
        link.command("hk.disable_periodic", {"sids": [{"sid": 1}]})
        assert [p for p in collect(link, 1.2) if is_hk(p)] == []  # six intervals
        h = hk_obc(link)  # one-shot still works while periodic is off
        assert h["boot_count"] >= 1
        link.command("hk.enable_periodic", {"sids": [{"sid": 1}]})
        wait_for(link, is_hk)


@pytest.mark.parametrize("interval_ms", [0, 99, 3600001])
def test_hk_change_interval_out_of_range_fails_at_start(flight, interval_ms):
    with flight.link() as link:
        call = lambda: link.command("hk.change_interval", {"intervals": [{"sid": 1, "interval_ms": interval_ms}]})  # noqa: E731
        expect_failure(call, "start", "ARG_OUT_OF_RANGE")


@pytest.mark.parametrize(
    "command, data",
    [
        ("hk.one_shot", {"sids": [{"sid": 9}]}),
        ("hk.enable_periodic", {"sids": [{"sid": 9}]}),
        ("hk.disable_periodic", {"sids": [{"sid": 1}, {"sid": 9}]}),
        ("hk.change_interval", {"intervals": [{"sid": 9, "interval_ms": 1000}]}),
    ],
    ids=["one_shot", "enable", "disable", "change_interval"],
)
def test_hk_unknown_sid_fails_at_start(flight, command, data):
    with flight.link() as link:
        expect_failure(lambda: link.command(command, data), "start", "UNKNOWN_STRUCTURE")


# --- ST9 time --------------------------------------------------------------------------


def test_time_set_then_report_shows_that_time_and_a_time_set_event(flight):
    when = 800_000_000  # 2025-05-07
    with flight.link() as link:
        link.command("time.set_rate", {"rate_exp": 0})
        before = wait_for(link, time_report)
        if flight.sitl is not None:
            assert before["data"]["status"] == 0  # not set since boot
        result = link.command("time.set_time", {"coarse": when, "fine": 0x8000})
        (event,) = [p for p in result.telemetry if is_event(p, EVENT_TIME_SET)]
        assert event["data"]["aux"]["new_coarse"] == when
        assert event["data"]["aux"]["old_coarse"] == pytest.approx(before["data"]["coarse"], abs=30)
        report = wait_for(link, time_report)
        assert report["data"]["status"] == 1
        assert report["data"]["rate_exp"] == 0
        assert when <= report["data"]["coarse"] <= when + 30
        assert when <= report["time"]["coarse"] <= when + 30  # the TM header uses the new time too
        link.command("time.set_rate", {"rate_exp": 255})  # leave a real board quiet


def test_time_set_rate_255_turns_reports_off_and_0_on(flight):
    with flight.link() as link:
        link.command("time.set_rate", {"rate_exp": 0})
        wait_for(link, time_report)
        link.command("time.set_rate", {"rate_exp": 255})
        assert [p for p in collect(link, 2.5) if time_report(p)] == []  # 1 s rate: 2 would have come
        link.command("time.set_rate", {"rate_exp": 0})
        assert wait_for(link, time_report)["data"]["rate_exp"] == 0
        link.command("time.set_rate", {"rate_exp": 255})


def test_time_set_rate_out_of_range_fails_at_start(flight):
    with flight.link() as link:
        expect_failure(lambda: link.command("time.set_rate", {"rate_exp": 17}), "start", "ARG_OUT_OF_RANGE")


# --- ST5 events ------------------------------------------------------------------------


def test_event_disable_suppresses_param_changed_and_enable_restores_it(flight):
    with flight.link() as link:
        link.command("event.disable", {"event_ids": [{"event_id": EVENT_PARAM_CHANGED}]})
        result = set_params(link, [(P_HK_PERIOD, 3000)])
        assert result.completed
        assert [p for p in result.packets if is_event(p)] == []  # it would come before the completion
        assert get_param(link, P_HK_PERIOD) == 3000  # the set itself happened
        link.command("event.enable", {"event_ids": [{"event_id": EVENT_PARAM_CHANGED}]})
        result = set_params(link, [(P_HK_PERIOD, 4000)])
        assert [p["data"]["aux"]["param_id"] for p in result.telemetry if is_event(p, EVENT_PARAM_CHANGED)] == [P_HK_PERIOD]


def test_event_disable_unknown_id_fails_at_start(flight):
    with flight.link() as link:
        expect_failure(lambda: link.command("event.disable", {"event_ids": [{"event_id": 99}]}), "start", "UNKNOWN_EVENT")


# --- acceptance failures (ST1 1.2) -----------------------------------------------------


@pytest.mark.parametrize(
    "build, error",
    [
        (lambda seq: raw_tc(99, 1, seq_count=seq), "UNKNOWN_SERVICE"),
        (lambda seq: raw_tc(17, 99, seq_count=seq), "UNKNOWN_SUBTYPE"),
        (lambda seq: raw_tc(17, 1, apid=0x010, seq_count=seq), "UNKNOWN_APID"),
        (lambda seq: raw_tc(17, 1, b"\x00", seq_count=seq), "BAD_LENGTH"),  # ping with one extra octet, PEC right
        (lambda seq: raw_tc(20, 1, b"\x02\x00\x01", seq_count=seq), "BAD_LENGTH"),  # list of 2, one ID present
        (lambda seq: raw_tc(20, 3, b"\x01\x00\x63\x00\x00\x00\x01", seq_count=seq), "UNKNOWN_PARAMETER"),
    ],
    ids=["unknown_service", "unknown_subtype", "wrong_apid", "ping_extra_octet", "short_list", "unknown_param_type"],
)
def test_bad_tc_is_rejected_at_acceptance_with_its_error(flight, build, error):
    with flight.link() as link:
        packet = build(link.next_seq())
        exc = expect_failure(lambda: link.send_packet(packet, "raw"), "acceptance", error)
        assert [(p["subtype"], p["data"]["request_id"]) for p in exc.reports] == [(ACCEPT_FAIL, codec.request_id(packet))]
        link.command("test.ping")  # the board carries on


# --- ack flags ---------------------------------------------------------------------------


def test_ack_flags_0_suppress_success_reports_but_not_failures(flight):
    with flight.link() as link:
        quiet = link.command("test.ping", ack_flags=0)
        assert quiet.reports == []
        assert [p["name"] for p in quiet.telemetry if p["service"] == 17] == ["test.pong"]
        seen = quiet.packets + ping_barrier(link)  # any report for the quiet ping would precede the barrier's
        assert st1_for(seen, quiet.request_id) == []

        exc = expect_failure(lambda: set_params(link, [(P_HK_PERIOD, 1)], ack_flags=0), "start", "ARG_OUT_OF_RANGE")
        assert [p["subtype"] for p in exc.reports] == [START_FAIL]  # no acceptance success before it

        packet = raw_tc(99, 1, seq_count=link.next_seq(), ack_flags=0)
        expect_failure(lambda: link.send_packet(packet, "raw"), "acceptance", "UNKNOWN_SERVICE")


@pytest.mark.parametrize("flags, subtypes", [(0x1, [ACCEPT_OK]), (0x2, [START_OK]), (0x8, [DONE_OK]), (0xB, [ACCEPT_OK, START_OK, DONE_OK])])
def test_ack_flags_select_the_success_reports(flight, flags, subtypes):
    with flight.link() as link:
        result = link.command("test.ping", ack_flags=flags)
        seen = result.packets + ping_barrier(link)
        assert [s for s, _ in st1_for(seen, result.request_id)] == subtypes


# --- the ground link over the real port ---------------------------------------------------


class _SlowFirstRead:
    """Wraps a port so the first read waits: everything the board sends meanwhile arrives in one batch."""

    def __init__(self, port, delay):
        self._port = port
        self._delay = delay

    def read(self, n):
        if self._delay:
            import time

            time.sleep(self._delay)
            self._delay = 0
        return self._port.read(n)

    def __getattr__(self, name):
        return getattr(self._port, name)


def test_telemetry_in_the_same_batch_as_a_completion_is_not_lost(flight):
    with flight.link() as link:
        link.command("hk.change_interval", {"intervals": [{"sid": 1, "interval_ms": 100}]})
        link.serial = _SlowFirstRead(link.serial, 0.6)  # about six periodic reports queue up behind the ping's
        result = link.command("test.ping")
        assert result.completed
        queued = [p for p in link.read(0) if is_hk(p)]  # at most one more can come in during this read
        assert len(queued) >= 3, "HK reports that followed the completion were dropped"
