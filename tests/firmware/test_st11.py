"""fsw.services.st11 (ST11 time-based scheduling) under CPython with a fake clock, the real
dispatcher and events, and a temporary flash directory: every TC outcome with its exact error
code, release, persistence across a reboot, missed activities, and power loss at the store write."""

import os
import struct

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw import storage
from fsw.dispatcher import Dispatcher
from fsw.services.st5 import Events
from fsw.services.st11 import CAPACITY, MAX_OCTETS, STORE, Schedule
from fsw.services import st17
from ground import codec
from ground import dictionary as d

from test_storage import FaultyFs, PowerCut  # tests/firmware is on sys.path (rootdir-less test modules)

ERR = d.ERROR_BY_NAME
T0 = 800_000_000  # on-board coarse time of the tests (2025)
RELEASED = d.EVENT_BY_NAME["sched_released"].id
MISSED = d.EVENT_BY_NAME["sched_missed"].id
STORAGE_FAULT = d.EVENT_BY_NAME["storage_fault"].id


class Clock:
    def __init__(self, coarse=T0, fine=0, synced=True):
        self.coarse = coarse
        self.fine = fine
        self.synced = synced

    def cuc(self):
        return self.coarse, self.fine


class Board:
    """The OBC's dispatcher with ST5, ST11 and ST17 and a record of every packet it sent."""

    def __init__(self, clock=None, max_frame=D.MAX_FRAME):
        self.clock = clock or Clock()
        self.tm = fp.TmWriter(self.clock, max_frame)
        self.sent = []
        self.dispatcher = Dispatcher(self.tm, self.send)
        self.events = Events(D.APID_OBC, self.tm, self.send)
        st17.Test(D.APID_OBC, self.tm, self.send).register(self.dispatcher)
        self.sched = Schedule(D.APID_OBC, self.tm, self.send, self.clock, self.dispatcher, self.events)
        self.sched.register(self.dispatcher)
        self.sched.load()

    def send(self, buf, n):
        self.sent.append(codec.decode(bytes(buf[:n])))

    def tc(self, name, values=None, seq=1000):
        """Send one TC from the ground; the ST1 reports about it as (name, error)."""
        raw = codec.encode_command(d.command(name), values, seq_count=seq)
        self.sent = []
        self.dispatcher.handle(raw, 0, len(raw))
        rid = codec.request_id(raw)
        return [(p["name"].split(".")[1], p["data"].get("error")) for p in self.sent if p["service"] == 1 and p["data"]["request_id"] == rid]

    def tick(self):
        self.sent = []
        self.sched.tick(self.clock.cuc())
        return self.sent

    def insert(self, coarse, inner, fine=0, seq=1000):
        return self.tc("sched.insert", {"coarse": coarse, "fine": fine, "tc": inner}, seq=seq)

    def summary(self):
        self.tc("sched.summary")
        (report,) = [p for p in self.sent if p["name"] == "sched.summary_report"]
        return report["data"]


def ping(seq):
    return codec.encode_command(d.command("test.ping"), None, seq_count=seq)


def rid(tc):
    return codec.request_id(tc)


OK = [("acceptance_success", None), ("start_success", None), ("completion_success", None)]


def start_fail(code):
    return [("acceptance_success", None), ("start_failure", ERR[code])]


def done_fail(code):
    return [("acceptance_success", None), ("start_success", None), ("completion_failure", ERR[code])]


def events(packets, event_id):
    return [p["data"]["aux"] for p in packets if p["service"] == 5 and p["data"]["event_id"] == event_id]


@pytest.fixture
def flash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- insert ------------------------------------------------------------------------------


def test_st11_insert_then_summary_lists_it_with_release_time(flash):
    b = Board()
    assert b.insert(T0 + 10, ping(5), fine=0x8000) == OK
    assert b.summary() == {"enabled": 1, "activities": [{"request_id": rid(ping(5)), "coarse": T0 + 10, "fine": 0x8000}]}
    assert os.path.exists(STORE)


def test_st11_summary_is_sorted_by_release_time_equal_times_in_insert_order(flash):
    b = Board()
    for seq, when in ((1, 30), (2, 10), (3, 20), (4, 10)):
        assert b.insert(T0 + when, ping(seq), seq=100 + seq) == OK
    got = [(a["request_id"], a["coarse"] - T0) for a in b.summary()["activities"]]
    assert got == [(rid(ping(2)), 10), (rid(ping(4)), 10), (rid(ping(3)), 20), (rid(ping(1)), 30)]


@pytest.mark.parametrize("coarse,fine", [(T0, 0), (T0, 0x10), (T0 - 1, 0xFFFF), (0, 0)])
def test_st11_insert_release_time_not_in_the_future_is_time_passed(flash, coarse, fine):
    b = Board(Clock(T0, 0x10))
    assert b.insert(coarse, ping(1), fine=fine) == start_fail("TIME_PASSED")
    assert b.sched.entries == []
    assert not os.path.exists(STORE)


def test_st11_insert_just_after_now_is_accepted(flash):
    b = Board(Clock(T0, 0x10))
    assert b.insert(T0, ping(1), fine=0x11) == OK


def test_st11_insert_past_capacity_is_table_full(flash):
    b = Board()
    for i in range(CAPACITY):
        assert b.insert(T0 + 1 + i, ping(i), seq=i) == OK
    assert b.insert(T0 + 100, ping(999), seq=999) == start_fail("TABLE_FULL")
    assert len(b.summary()["activities"]) == CAPACITY


def test_st11_insert_past_the_octet_budget_is_table_full(flash):
    b = Board()
    # ST20 get TCs with many parameter IDs: large embedded TCs
    big = codec.encode_command(d.command("param.get"), {"param_ids": [{"param_id": 1}] * 200}, seq_count=1)
    n = MAX_OCTETS // len(big)
    for i in range(n):
        inner = codec.encode_command(d.command("param.get"), {"param_ids": [{"param_id": 1}] * 200}, seq_count=i)
        assert b.insert(T0 + 1 + i, inner, seq=i) == OK
    assert n < CAPACITY
    last = codec.encode_command(d.command("param.get"), {"param_ids": [{"param_id": 1}] * 200}, seq_count=n)
    assert b.insert(T0 + 100, last, seq=n) == start_fail("TABLE_FULL")
    assert b.insert(T0 + 100, ping(500), seq=500) == OK  # a small one still fits


def _tamper(raw, what):
    raw = bytearray(raw)
    if what == "pec":
        raw[-1] ^= 1
    elif what == "tm":
        raw[0] &= ~0x10
        struct.pack_into(">H", raw, len(raw) - 2, codec.crc16(bytes(raw[:-2])))
    elif what == "no_sec_header":
        raw[0] &= ~0x08
        struct.pack_into(">H", raw, len(raw) - 2, codec.crc16(bytes(raw[:-2])))
    elif what == "version":
        raw[0] |= 0x20
        struct.pack_into(">H", raw, len(raw) - 2, codec.crc16(bytes(raw[:-2])))
    elif what == "pus":
        raw[6] = (1 << 4) | (raw[6] & 0xF)
        struct.pack_into(">H", raw, len(raw) - 2, codec.crc16(bytes(raw[:-2])))
    elif what == "length_field":
        raw[5] += 1
        struct.pack_into(">H", raw, len(raw) - 2, codec.crc16(bytes(raw[:-2])))
    elif what == "truncated":
        raw = raw[:-1]
    elif what == "extra":
        raw += b"\x00"
    elif what == "short":
        raw = raw[:12]
    elif what == "empty":
        raw = b""
    return bytes(raw)


@pytest.mark.parametrize(
    "what,code",
    [
        ("pec", "ARG_OUT_OF_RANGE"),
        ("tm", "ARG_OUT_OF_RANGE"),
        ("no_sec_header", "ARG_OUT_OF_RANGE"),
        ("version", "ARG_OUT_OF_RANGE"),
        ("pus", "ARG_OUT_OF_RANGE"),
        ("length_field", "BAD_LENGTH"),
        ("truncated", "BAD_LENGTH"),
        ("extra", "BAD_LENGTH"),
        ("short", "BAD_LENGTH"),
        ("empty", "BAD_LENGTH"),
    ],
)
def test_st11_insert_embedded_tc_that_is_not_a_whole_valid_tc_is_refused(flash, what, code):
    b = Board()
    assert b.insert(T0 + 10, _tamper(ping(1), what)) == start_fail(code)
    assert b.sched.entries == []


def test_st11_insert_duplicate_request_id_is_refused_and_keeps_the_first(flash):
    b = Board()
    assert b.insert(T0 + 10, ping(7)) == OK
    assert b.insert(T0 + 20, ping(7), seq=1001) == start_fail("ARG_OUT_OF_RANGE")
    assert [a["coarse"] for a in b.summary()["activities"]] == [T0 + 10]


def test_st11_insert_with_wrong_payload_length_is_bad_length_at_acceptance(flash):
    b = Board()
    raw = bytearray(codec.encode_command(d.command("sched.insert"), {"coarse": T0 + 9, "fine": 0, "tc": ping(1)}, seq_count=3))
    body = raw[:-2] + b"\x00"
    struct.pack_into(">H", body, 4, len(body) + 2 - 7)
    body += struct.pack(">H", codec.crc16(bytes(body)))
    b.sent = []
    b.dispatcher.handle(bytes(body), 0, len(body))
    assert [(p["name"], p["data"]["error"]) for p in b.sent] == [("verification.acceptance_failure", ERR["BAD_LENGTH"])]


# --- delete, reset, enable, disable ------------------------------------------------------


def test_st11_delete_removes_the_named_activities(flash):
    b = Board()
    for seq in (1, 2, 3):
        b.insert(T0 + seq, ping(seq), seq=seq)
    assert b.tc("sched.delete", {"requests": [{"request_id": rid(ping(1))}, {"request_id": rid(ping(3))}]}) == OK
    assert [a["request_id"] for a in b.summary()["activities"]] == [rid(ping(2))]
    assert [e[2] for e in reboot(b).sched.entries] == [rid(ping(2))]


def test_st11_delete_with_one_unknown_id_is_unknown_request_and_deletes_nothing(flash):
    b = Board()
    for seq in (1, 2):
        b.insert(T0 + seq, ping(seq), seq=seq)
    assert b.tc("sched.delete", {"requests": [{"request_id": rid(ping(1))}, {"request_id": rid(ping(9))}]}) == start_fail("UNKNOWN_REQUEST")
    assert [a["request_id"] for a in b.summary()["activities"]] == [rid(ping(1)), rid(ping(2))]


def test_st11_reset_empties_the_table_and_disables_release(flash):
    b = Board()
    b.insert(T0 + 5, ping(1))
    assert b.tc("sched.reset") == OK
    assert b.summary() == {"enabled": 0, "activities": []}
    assert reboot(b).summary() == {"enabled": 0, "activities": []}


def test_st11_disable_then_enable_reports_what_fell_due_as_missed_and_never_runs_it(flash):
    b = Board()
    b.insert(T0 + 2, ping(1), seq=1)
    b.insert(T0 + 9, ping(2), seq=2)
    b.tick()  # arms
    assert b.tc("sched.disable") == OK
    assert b.summary()["enabled"] == 0
    b.clock.coarse = T0 + 5
    assert b.tick() == []  # disabled: nothing released
    assert b.tc("sched.enable") == OK
    assert events(b.sent, MISSED) == [{"request_id": rid(ping(1)), "release_coarse": T0 + 2, "now_coarse": T0 + 5}]
    assert [p for p in b.sent if p["name"] == "test.pong"] == []
    assert [a["request_id"] for a in b.summary()["activities"]] == [rid(ping(2))]
    b.clock.coarse = T0 + 9
    sent = b.tick()
    assert events(sent, RELEASED) == [{"request_id": rid(ping(2))}]
    assert events(sent, MISSED) == []


# --- release --------------------------------------------------------------------------------


def test_st11_release_hands_the_tc_to_the_dispatcher_when_due_not_before(flash):
    b = Board()
    inner = ping(42)
    b.insert(T0 + 2, inner, fine=0x4000)
    assert b.tick() == []  # arms; nothing due
    b.clock.coarse, b.clock.fine = T0 + 2, 0x3FFF
    assert b.tick() == []
    b.clock.fine = 0x4000
    sent = b.tick()
    assert [p["name"] for p in sent] == [
        "event.info",
        "verification.acceptance_success",
        "verification.start_success",
        "test.pong",
        "verification.completion_success",
    ]
    assert events(sent, RELEASED) == [{"request_id": rid(inner)}]
    assert all(p["data"]["request_id"] == rid(inner) for p in sent if p["service"] == 1)
    assert b.tick() == []  # exactly once
    assert b.summary()["activities"] == []
    assert reboot(b).sched.entries == []  # gone from flash too


def test_st11_release_of_several_due_goes_in_release_order(flash):
    b = Board()
    for seq, when in ((1, 3), (2, 1), (3, 2)):
        b.insert(T0 + when, ping(seq), seq=seq)
    b.tick()
    b.clock.coarse = T0 + 3
    assert [e["request_id"] for e in events(b.tick(), RELEASED)] == [rid(ping(2)), rid(ping(3)), rid(ping(1))]


def test_st11_nothing_is_released_against_an_unset_clock(flash):
    b = Board(Clock(T0, synced=False))
    b.insert(T0 + 1, ping(1))
    b.clock.coarse = T0 + 5
    assert b.tick() == []
    assert len(b.sched.entries) == 1


def test_st11_first_armed_tick_reports_due_activities_missed(flash):
    # the clock was unset (e.g. after boot) while the release time passed
    b = Board(Clock(T0, synced=False))
    b.insert(T0 + 1, ping(1), seq=1)
    b.insert(T0 + 9, ping(2), seq=2)
    b.clock.coarse, b.clock.synced = T0 + 5, True
    sent = b.tick()
    assert events(sent, MISSED) == [{"request_id": rid(ping(1)), "release_coarse": T0 + 1, "now_coarse": T0 + 5}]
    assert events(sent, RELEASED) == []
    assert [e[2] for e in b.sched.entries] == [rid(ping(2))]
    assert [e[2] for e in reboot(b).sched.entries] == [rid(ping(2))]


def test_st11_released_tc_may_change_the_schedule_itself(flash):
    b = Board()
    disable = codec.encode_command(d.command("sched.disable"), None, seq_count=1)
    b.insert(T0 + 1, disable, seq=1)
    b.insert(T0 + 1, ping(2), seq=2)
    b.tick()
    b.clock.coarse = T0 + 1
    sent = b.tick()
    assert events(sent, RELEASED) == [{"request_id": rid(disable)}]  # the ping after it waits: release is off
    assert b.summary() == {"enabled": 0, "activities": [{"request_id": rid(ping(2)), "coarse": T0 + 1, "fine": 0}]}


def test_st11_released_tc_for_an_unknown_apid_gets_its_own_failure_report(flash):
    b = Board()
    inner = codec.encode_tc(17, 1, apid=0x123, seq_count=3)
    b.insert(T0 + 1, inner)
    b.tick()
    b.clock.coarse = T0 + 1
    sent = b.tick()
    assert [(p["name"], p["data"].get("error")) for p in sent if p["service"] == 1] == [("verification.acceptance_failure", ERR["UNKNOWN_APID"])]


def test_st11_release_with_a_failing_store_still_runs_once_and_says_storage_fault(flash, monkeypatch):
    b = Board()
    b.insert(T0 + 1, ping(1))
    b.tick()
    b.clock.coarse = T0 + 1
    monkeypatch.setattr(storage, "save", _fail_save)
    sent = b.tick()
    assert events(sent, STORAGE_FAULT) == [{"store": 4, "action": 2}]
    assert events(sent, RELEASED) == [{"request_id": rid(ping(1))}]
    assert b.tick() == []


# --- summary ---------------------------------------------------------------------------------


def test_st11_summary_too_long_for_the_frame_is_reply_too_long(flash):
    # a board with small frames: header 19 + enabled 1 + count 1 + PEC 2 leaves room for 2 items of 10
    b = Board(max_frame=19 + 2 + 2 * 10 + 2)
    b.insert(T0 + 1, ping(1), seq=1)
    b.insert(T0 + 2, ping(2), seq=2)
    assert b.tc("sched.summary") == OK
    b.insert(T0 + 3, ping(3), seq=3)
    assert b.tc("sched.summary") == done_fail("REPLY_TOO_LONG")


# --- persistence -----------------------------------------------------------------------------


def reboot(b, synced=False):
    """A new board on the same flash; its clock restarts unset unless `synced`."""
    return Board(Clock(b.clock.coarse, b.clock.fine, synced=synced))


def test_st11_schedule_and_enabled_flag_survive_a_reboot(flash):
    b = Board()
    b.insert(T0 + 10, ping(1), seq=1, fine=7)
    b.insert(T0 + 20, ping(2), seq=2)
    b.tc("sched.disable")
    after = reboot(b)
    assert not after.sched.load_fault
    assert after.summary() == b.summary()
    assert after.summary()["enabled"] == 0


def test_st11_after_reboot_due_while_off_is_missed_later_one_released(flash):
    b = Board()
    b.insert(T0 + 10, ping(1), seq=1)
    b.insert(T0 + 30, ping(2), seq=2)
    after = reboot(b)  # clock restarts unset
    after.clock.coarse = 5
    assert after.tick() == []
    after.clock.coarse, after.clock.synced = T0 + 20, True  # the ground sets the time
    sent = after.tick()
    assert events(sent, MISSED) == [{"request_id": rid(ping(1)), "release_coarse": T0 + 10, "now_coarse": T0 + 20}]
    assert [p for p in sent if p["name"] == "test.pong"] == []
    after.clock.coarse = T0 + 30
    sent = after.tick()
    assert events(sent, RELEASED) == [{"request_id": rid(ping(2))}]
    assert [p["name"] for p in sent if p["name"] == "test.pong"] == ["test.pong"]


def _corrupt(path):
    raw = bytearray(open(path, "rb").read())
    raw[5] ^= 0xFF
    open(path, "wb").write(bytes(raw))


def test_st11_damaged_store_falls_back_to_bak(flash):
    b = Board()
    b.insert(T0 + 10, ping(1), seq=1)
    b.insert(T0 + 20, ping(2), seq=2)
    _corrupt(STORE)
    after = reboot(b)
    assert [e[2] for e in after.sched.entries] == [rid(ping(1))]  # the last good copy
    assert not after.sched.load_fault


def test_st11_damaged_store_and_bak_start_empty_with_load_fault(flash):
    b = Board()
    b.insert(T0 + 10, ping(1), seq=1)
    b.insert(T0 + 20, ping(2), seq=2)
    _corrupt(STORE)
    _corrupt(STORE + ".bak")
    after = reboot(b)
    assert after.sched.entries == [] and after.sched.load_fault
    assert after.sched.enabled


def test_st11_store_with_a_bad_embedded_tc_keeps_the_good_ones_with_load_fault(flash):
    good = ping(1)
    bad = _tamper(ping(2), "pec")
    data = bytes([1, 2]) + struct.pack(">IHH", T0 + 1, 0, len(good)) + good + struct.pack(">IHH", T0 + 2, 0, len(bad)) + bad
    storage.save(STORE, data)
    b = Board()
    assert [e[2] for e in b.sched.entries] == [rid(good)]
    assert b.sched.load_fault


@pytest.mark.parametrize("cut", [b"", b"\x01", b"\x01\x02", b"\x01\x01\x00"])
def test_st11_truncated_store_record_sets_load_fault(flash, cut):
    storage.save(STORE, cut)
    b = Board()
    assert b.sched.load_fault
    assert b.sched.entries == []


def test_st11_missing_store_is_empty_enabled_without_fault(flash):
    b = Board()
    assert (b.sched.entries, b.sched.enabled, b.sched.load_fault) == ([], True, False)


def _fail_save(name, data):
    raise OSError(28, "no space left")


@pytest.mark.parametrize(
    "name,values",
    [
        ("sched.insert", {"coarse": T0 + 50, "fine": 0, "tc": ping(9)}),
        ("sched.delete", {"requests": [{"request_id": rid(ping(1))}]}),
        ("sched.reset", None),
        ("sched.disable", None),
        ("sched.enable", None),
    ],
)
def test_st11_store_write_failure_is_storage_failed_and_changes_nothing(flash, monkeypatch, name, values):
    b = Board()
    b.insert(T0 + 10, ping(1), seq=1)
    if name == "sched.enable":
        b.tc("sched.disable")
        b.clock.coarse = T0 + 11  # due while disabled: would be reported missed
    before = (list(b.sched.entries), b.sched.enabled)
    on_flash = open(STORE, "rb").read()
    monkeypatch.setattr(storage, "save", _fail_save)
    b.sent = []
    assert b.tc(name, values) == done_fail("STORAGE_FAILED")
    assert events(b.sent, MISSED) == []
    assert (list(b.sched.entries), b.sched.enabled) == before
    assert open(STORE, "rb").read() == on_flash


@pytest.mark.parametrize("history", [1, 2])
def test_st11_power_cut_at_every_step_of_the_insert_write_leaves_old_or_new(flash, monkeypatch, history):
    # history 1: first change after an empty start (no .bak yet); 2: a .bak present
    outcomes = set()
    for at in range(1, 8):
        for f in os.listdir(flash):
            os.remove(f)
        b = Board()
        for i in range(history):
            b.insert(T0 + 10 + i, ping(i), seq=i)
        old = [e[2] for e in b.sched.entries]
        new = sorted(old + [rid(ping(50))])
        with monkeypatch.context() as m:
            FaultyFs(m, at)
            try:
                result = b.insert(T0 + 99, ping(50), seq=50)
                finished = True
            except PowerCut:
                finished = False
        got = [e[2] for e in reboot(b).sched.entries]
        assert sorted(got) == (new if finished else sorted(old)), (at, finished)
        if finished:
            assert result == OK
        outcomes.add(finished)
    assert outcomes == {True, False}  # both a cut and a clean write were exercised


# --- on the MicroPython unix port -------------------------------------------------------------


@pytest.mark.micropython
def test_st11_insert_release_and_reload_on_micropython(micropython, tmp_path):
    inner = ping(5)
    insert = codec.encode_command(d.command("sched.insert"), {"coarse": 1000, "fine": 0, "tc": inner}, seq_count=1)
    code = """
from fsw import dictionary as D
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from fsw.services.st5 import Events
from fsw.services.st11 import Schedule
from fsw.services import st17
class Clock:
    synced = True
    t = (900, 0)
    def cuc(self):
        return self.t
out = []
def send(buf, n):
    out.append((buf[7] << 8 | buf[8], bytes(buf[19:n - 2])))
def board(clock):
    tm = fp.TmWriter(clock, 1024)
    disp = Dispatcher(tm, send)
    ev = Events(D.APID_OBC, tm, send)
    st17.Test(D.APID_OBC, tm, send).register(disp)
    s = Schedule(D.APID_OBC, tm, send, clock, disp, ev)
    s.register(disp)
    s.load()
    return s, disp
c = Clock()
s, disp = board(c)
raw = bytes.fromhex("%s")
disp.handle(raw, 0, len(raw))
print([k for k, _ in out])
s2, _ = board(c)
print(len(s2.entries), s2.entries[0][2])
out.clear()
s2.tick(c.t)
c.t = (1000, 0)
s2.tick(c.t)
print([k for k, _ in out])
print(len(s2.entries))
""" % insert.hex()
    lines = micropython(code, cwd=str(tmp_path)).decode().splitlines()
    assert lines == [
        str([0x0101, 0x0103, 0x0107]),
        "1 %d" % rid(inner),
        str([0x0501, 0x0101, 0x0103, 0x1102, 0x0107]),
        "0",
    ]
