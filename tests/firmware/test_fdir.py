"""fsw.fdir: the software watchdog per vehicle task, hardware-watchdog gating in the OBC's
schedule loop, limit checks with re-arming, the safing record across reboots (and damaged),
and the FDIR TCs (12.128 clear_safing, 12.129 hang_task) with their error codes.

The OBC is the real one (fsw.app.Obc) in a temporary flash directory, on virtual time
(speed "max": each schedule round is 20 ms of flight time), with a fake vehicle: a
fsw.vehicle.Vehicle with a trivial hw object, since the real apps live elsewhere."""

import asyncio
import math

import pytest

import hal
from fsw import dictionary as D
from fsw import fdir as fdir_mod
from fsw import storage
from fsw.app import Obc
from fsw.vehicle import REASON_FDIR, Vehicle
from ground import codec
from ground import dictionary as d
from ground.framing import FrameSplitter

BOOT_MODE = d.VEHICLE_BY_NAME["rover"].boot_mode
SAFE = D.MODE_ROVER_SURVIVAL
EVT = {e.id: e.name for e in d.EVENTS}


class HalLink:
    def __init__(self):
        self.split = FrameSplitter()
        self.packets = []

    def write(self, buf, n):
        for body in self.split.feed(bytes(buf[:n])):
            self.packets.append(codec.decode(body))


class Hw:
    def inject(self, device, fault, value):
        raise ValueError("no faults here")

    def clear(self, device=None):
        return None


class FakeRover(Vehicle):
    def __init__(self, obc):
        Vehicle.__init__(self, obc, Hw(), "rover", D.EVT_ROVER_MODE_CHANGED, SAFE)


def boot(tmp_path, monkeypatch, vehicle=True, board=None):
    """One boot of the OBC (and the fake rover) on the flash in tmp_path."""
    monkeypatch.chdir(tmp_path)
    link = HalLink()
    obc = Obc(board or {"speed": "max", "security": False, "watchdog_ms": 8000}, link)
    obc.sent = link.packets
    if vehicle:
        FakeRover(obc)
    return obc


def events(obc):
    """(event name, aux) of every event sent so far, and forget them."""
    out = [(EVT[p["data"]["event_id"]], p["data"]["aux"]) for p in obc.sent if p["service"] == 5]
    del obc.sent[:]
    return out


def tc(obc, name, values=None):
    """Run one TC through the OBC's dispatcher; its ST1 reports as (name, error)."""
    del obc.sent[:]
    raw = codec.encode_command(d.command(name), values or {}, seq_count=1)
    obc.dispatcher.handle(raw, 0, len(raw))
    return [(p["name"], p["data"].get("error")) for p in obc.sent if p["service"] == 1]


OK = [
    ("verification.acceptance_success", None),
    ("verification.start_success", None),
    ("verification.completion_success", None),
]


# --- software watchdog ----------------------------------------------------------------


def test_fdir_task_tolerance_is_three_periods_at_least_the_floor_or_as_given(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    v = obc.vehicle
    fast = v.task("fast", 100, lambda ms: None)
    slow = v.task("slow", 500, lambda ms: None)
    given = v.task("given", 100, lambda ms: None, tolerance_ms=250)
    assert (fast.tolerance_ms, slow.tolerance_ms, given.tolerance_ms) == (1000, 1500, 250)


def test_fdir_hung_task_reports_task_hung_once_safes_and_records(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    v = obc.vehicle
    a = v.task("a", 100, lambda ms: None)
    b = v.task("b", 100, lambda ms: None)
    events(obc)
    f = obc.fdir
    a.last_ok_ms = b.last_ok_ms = 5000
    assert f.tick(6000) is True  # exactly the tolerance late: still alive
    assert events(obc) == []
    a.last_ok_ms = 6000
    assert f.tick(6001) is False  # b: 1001 ms late
    coarse = obc.clock.cuc()[0]
    assert events(obc) == [
        ("task_hung", {"task": 1, "late_ms": 1001}),
        ("rover_mode_changed", {"old": BOOT_MODE, "new": SAFE, "reason": REASON_FDIR}),
        ("safed", {"reason": D.SAFING_TASK_HUNG, "detail": 1, "boot_count": 1, "coarse": coarse}),
    ]
    assert v.mode == SAFE and f.record == (D.SAFING_TASK_HUNG, 1, 1, coarse)
    assert f.tick(6500) is False
    a.last_ok_ms = 9000
    assert f.tick(9000) is False  # still hung: nothing new
    assert events(obc) == []
    b.last_ok_ms = 9000  # runs again: alive, re-armed
    assert f.tick(9000) is True
    a.last_ok_ms = 10001
    assert f.tick(10001) is False  # a new hang is reported again
    assert [name for name, _ in events(obc)] == ["task_hung", "safed"]  # already safe: no mode change


def test_fdir_task_that_raises_every_cycle_is_hung_through_its_heartbeat(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)

    def broken(ms):
        raise OSError("bus")

    obc.vehicle.task("broken", 100, broken)
    fed = run_schedule(obc, monkeypatch, until_ms=3000)
    t = obc.vehicle.tasks[0]
    assert t.errors > 0 and t.runs == 0
    assert fed[-1] == 1000  # last feed while 1000 ms late, none after
    assert [name for name, _ in events(obc)][-3:] == ["task_hung", "rover_mode_changed", "safed"]


# --- hardware watchdog gating through the OBC's schedule loop ---------------------------


def run_schedule(obc, monkeypatch, until_ms, actions=None):
    """Run the OBC schedule loop and the vehicle tasks on virtual time until `until_ms`;
    `actions` {flight ms: fn} run once when flight time reaches them. The uptimes at
    which the hardware watchdog was fed are returned."""
    fed = []
    monkeypatch.setattr(hal, "feed_watchdog", lambda timeout_ms=0: fed.append(obc.clock.uptime_ms()))
    pending = sorted((actions or {}).items())

    async def main():
        if obc.vehicle is not None:
            obc.vehicle.start_tasks()
        obc.waiting = False  # virtual time starts with the ground's first packet: the test is the ground
        sched = asyncio.create_task(obc._schedule())
        while obc.clock.uptime_ms() < until_ms:
            while pending and obc.clock.uptime_ms() >= pending[0][0]:
                pending.pop(0)[1]()
            await asyncio.sleep(0)
        sched.cancel()
        for t in obc.vehicle.tasks if obc.vehicle is not None else ():
            t.coro.cancel()

    asyncio.run(main())
    return fed


def test_fdir_obc_alone_feeds_the_watchdog_every_round(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch, vehicle=False)
    fed = run_schedule(obc, monkeypatch, until_ms=2000)
    assert fed == list(range(20, fed[-1] + 1, 20)) and fed[-1] >= 2000 - 20


def test_fdir_watchdog_feeding_stops_when_a_task_hangs_and_resumes_when_it_recovers(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    t = obc.vehicle.task("control", 100, lambda ms: None)
    hung_at = {}

    def hang():
        assert tc(obc, "fdir.hang_task", {"task": 0}) == OK
        hung_at["ms"] = obc.clock.uptime_ms()

    def recover():
        t.hang.set()  # the stuck await returns: the task catches up its missed cycles

    fed = run_schedule(obc, monkeypatch, until_ms=5000, actions={1000: hang, 3500: recover})
    last_ok = max(ms for ms in range(0, hung_at["ms"] + 1, 100))  # the last cycle before the hang
    gap = [ms for ms in range(20, 5000, 20) if ms not in fed]
    # fed while at most 1000 ms late; not from the first tick past that until the task ran again
    assert gap[0] == last_ok + 1020
    assert gap[-1] < 3600 and all(ms in fed for ms in range(gap[-1] + 20, 4980, 20))
    assert gap == list(range(gap[0], gap[-1] + 1, 20))
    names = [name for name, _ in events(obc)]
    assert names.count("task_hung") == 1 and names.count("safed") == 1
    assert obc.vehicle.mode == SAFE


# --- limit checks -----------------------------------------------------------------------


class Source:
    def __init__(self, *values):
        self.values = list(values)

    def __call__(self):
        return tuple(self.values)


def with_limits(monkeypatch, obc, table, sources):
    monkeypatch.setattr(D, "LIMITS", table)
    f = fdir_mod.Fdir(obc)  # sized for the table
    obc.fdir = f
    for sid, source in sources.items():
        obc.hk.sources[sid] = source
    events(obc)
    return f


def test_fdir_limit_reports_once_per_excursion_and_rearms_after_three_checks_in_range(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    src = Source(15.0, 0)
    f = with_limits(monkeypatch, obc, ((40, 0, 10.0, 20.0, 0),), {40: src})
    now = obc.clock.uptime_ms()
    seen = []

    def check(value):
        nonlocal now
        src.values[0] = value
        now += 1000
        f.tick(now)
        seen.append([(n, a["value"], a["limit"]) for n, a in events(obc)])

    for value in (15.0, 21.0, 25.0, 19.0, 19.0, 22.0, 19.0, 18.0, 17.0, 9.5, 9.0):
        check(value)
    assert seen == [
        [],
        [("limit_violation", 21.0, 20.0)],
        [],  # still out
        [],
        [],  # two checks back in range: not re-armed yet
        [],
        [],
        [],
        [],  # three in a row: re-armed
        [("limit_violation", 9.5, 10.0)],
        [],
    ]
    assert obc.vehicle.mode == BOOT_MODE and f.record is None  # action 0: report only


def test_fdir_limit_checked_at_1_hz_of_flight_time(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    src = Source(99)
    f = with_limits(monkeypatch, obc, ((40, 0, 0, 10, 0),), {40: src})
    start = obc.clock.uptime_ms()
    f.tick(start + 999)
    assert events(obc) == []
    f.tick(start + 1000)
    assert events(obc) == [("limit_violation", {"sid": 40, "field": 0, "value": 99.0, "limit": 10.0, "action": 0})]


def test_fdir_limit_action_safe_reports_then_safes_with_the_structure_as_detail(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    src = Source(1, 2.5)
    f = with_limits(monkeypatch, obc, ((40, 0, 0, 10, 0), (40, 1, 3.0, 1e38, 1)), {40: src})
    f.tick(obc.clock.uptime_ms() + 1000)
    coarse = obc.clock.cuc()[0]
    assert events(obc) == [
        ("limit_violation", {"sid": 40, "field": 1, "value": 2.5, "limit": 3.0, "action": 1}),
        ("rover_mode_changed", {"old": BOOT_MODE, "new": SAFE, "reason": REASON_FDIR}),
        ("safed", {"reason": D.SAFING_LIMIT, "detail": 40, "boot_count": 1, "coarse": coarse}),
    ]
    assert obc.vehicle.mode == SAFE


def test_fdir_limit_nan_is_a_violation_and_a_structure_without_source_is_skipped(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    f = with_limits(monkeypatch, obc, ((40, 0, 0.0, 1.0, 0), (41, 0, 0.0, 1.0, 1)), {40: Source(math.nan)})
    f.tick(obc.clock.uptime_ms() + 1000)
    ((name, aux),) = events(obc)
    assert name == "limit_violation" and math.isnan(aux["value"]) and aux["limit"] == 0.0 and aux["sid"] == 40
    assert obc.vehicle.mode == BOOT_MODE


def test_fdir_obc_heap_limit_is_off_on_cpython_where_heap_free_is_not_measured(tmp_path, monkeypatch):
    # the dictionary's OBC limit is on heap_free, field _HEAP_FREE of structure obc
    assert d.HK_BY_SID[D.HK_OBC].fields[fdir_mod._HEAP_FREE].name == "heap_free"
    heap = [i for i, lim in enumerate(D.LIMITS) if lim[:2] == (D.HK_OBC, fdir_mod._HEAP_FREE)]
    assert heap
    obc = boot(tmp_path, monkeypatch)
    assert hal.heap_free() == 0 and [obc.fdir.limit_on[i] for i in heap] == [0] * len(heap)
    monkeypatch.setattr(hal, "heap_free", lambda: 100)  # a runtime that measures it: on, and violated
    f = fdir_mod.Fdir(obc)
    assert [f.limit_on[i] for i in heap] == [1] * len(heap)
    events(obc)
    f.tick(obc.clock.uptime_ms() + 1000)
    assert [(n, a["sid"], a["field"], a["value"]) for n, a in events(obc)] == [("limit_violation", D.HK_OBC, fdir_mod._HEAP_FREE, 100.0)]


# --- the safing record --------------------------------------------------------------------


def test_fdir_safing_record_survives_reboot_vehicle_boots_safe_until_cleared(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    obc.vehicle.task("a", 100, lambda ms: None)
    obc.fdir.tick(obc.clock.uptime_ms() + 1001)
    record = obc.fdir.record
    assert record[:3] == (D.SAFING_TASK_HUNG, 0, 1)

    obc = boot(tmp_path, monkeypatch)  # reboot: same flash
    assert obc.boot_count == 2 and obc.fdir.record == record
    assert obc.vehicle.mode == SAFE
    obc.fdir.report_boot()
    assert events(obc) == [("safed", dict(zip(("reason", "detail", "boot_count", "coarse"), record)))]

    assert tc(obc, "fdir.clear_safing") == OK
    assert obc.fdir.record is None
    obc = boot(tmp_path, monkeypatch)
    assert obc.fdir.record is None and obc.vehicle.mode == BOOT_MODE
    obc.fdir.report_boot()
    assert events(obc) == []


def test_fdir_clear_without_record_completes(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    assert tc(obc, "fdir.clear_safing") == OK
    assert storage.load(fdir_mod.STORE) == bytes(11)


@pytest.mark.parametrize("damage", ["garbage", "wrong_length"])
def test_fdir_damaged_record_reports_storage_fault_5_and_boots_safe(tmp_path, monkeypatch, damage):
    monkeypatch.chdir(tmp_path)
    if damage == "garbage":
        with open(fdir_mod.STORE, "wb") as fh:
            fh.write(b"MS\x00\x0bnot a record")
    else:
        storage.save(fdir_mod.STORE, b"\x01\x00\x02")  # checks, but is no record
    obc = boot(tmp_path, monkeypatch)
    assert obc.vehicle.mode == SAFE
    obc.fdir.report_boot()
    assert events(obc) == [
        ("storage_fault", {"store": 5, "action": 1}),
        ("safed", {"reason": D.SAFING_NONE, "detail": 0, "boot_count": 0, "coarse": 0}),
    ]
    assert tc(obc, "fdir.clear_safing") == OK  # the ground's way out: a fresh, cleared record
    obc = boot(tmp_path, monkeypatch)
    obc.fdir.report_boot()
    assert events(obc) == [] and obc.vehicle.mode == BOOT_MODE


def test_fdir_torn_record_falls_back_to_the_previous_copy_without_fault(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    obc.fdir.safe(D.SAFING_KEEPOUT, 7)
    obc.fdir.safe(D.SAFING_POWER, 8)
    with open(fdir_mod.STORE, "r+b") as fh:
        fh.seek(5)
        fh.write(b"\xff")
    obc = boot(tmp_path, monkeypatch)
    assert obc.fdir.record[:2] == (D.SAFING_KEEPOUT, 7) and not obc.fdir.load_fault


def test_fdir_record_write_failure_still_safes_and_reports_storage_fault(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    events(obc)

    def broken(name, data):
        raise OSError(28, "no space")

    monkeypatch.setattr(storage, "save", broken)
    obc.fdir.safe(D.SAFING_POWER, 3)
    assert [n for n, _ in events(obc)] == ["rover_mode_changed", "storage_fault", "safed"]
    assert obc.vehicle.mode == SAFE
    assert tc(obc, "fdir.clear_safing") == OK[:2] + [("verification.completion_failure", d.ERROR_BY_NAME["STORAGE_FAILED"])]
    assert obc.fdir.record is not None  # not cleared: the flash still says safed


# --- the FDIR TCs ------------------------------------------------------------------------


def test_fdir_hang_task_refuses_a_task_number_past_the_table_and_without_vehicle(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    obc.vehicle.task("a", 100, lambda ms: None)
    fail = [OK[0], ("verification.start_failure", d.ERROR_BY_NAME["ARG_OUT_OF_RANGE"])]
    assert tc(obc, "fdir.hang_task", {"task": 1}) == fail
    assert obc.vehicle.tasks[0].hang is None
    assert tc(obc, "fdir.hang_task", {"task": 0}) == OK
    assert obc.vehicle.tasks[0].hang is not None
    (tmp_path / "alone").mkdir()
    alone = boot(tmp_path / "alone", monkeypatch, vehicle=False)
    assert tc(alone, "fdir.hang_task", {"task": 0}) == fail


def test_fdir_tc_with_bad_length_is_refused_at_acceptance(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    from hil.plugin import raw_tc

    for raw in (raw_tc(12, 129, b""), raw_tc(12, 128, b"\x00"), raw_tc(12, 129, b"\x00\x00")):
        del obc.sent[:]
        obc.dispatcher.handle(raw, 0, len(raw))
        assert [(p["name"], p["data"].get("error")) for p in obc.sent] == [("verification.acceptance_failure", d.ERROR_BY_NAME["BAD_LENGTH"])]


def test_fdir_unknown_subtype_of_st12(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch)
    from hil.plugin import raw_tc

    raw = raw_tc(12, 1)
    obc.dispatcher.handle(raw, 0, len(raw))
    assert [(p["name"], p["data"].get("error")) for p in obc.sent][-1] == ("verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_SUBTYPE"])


def test_schedule_loop_survives_a_service_that_raises_and_skips_only_that_feed(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch, vehicle=False)
    real_tick = obc.large_data.tick
    calls = {"n": 0}

    def tick_failing_once_at_500_ms(now):
        if now == 500 and not calls["n"]:
            calls["n"] += 1
            raise MemoryError("memory allocation failed")
        return real_tick(now)

    monkeypatch.setattr(obc.large_data, "tick", tick_failing_once_at_500_ms)
    fed = run_schedule(obc, monkeypatch, until_ms=1000)
    assert obc.schedule_errors == 1
    assert 500 not in fed and 480 in fed and 520 in fed  # that tick's feed skipped, the loop went on
    assert obc.clock.uptime_ms() >= 1000


def test_schedule_loop_reports_task_error_once_per_run_of_failing_ticks(tmp_path, monkeypatch):
    obc = boot(tmp_path, monkeypatch, vehicle=False)
    real_tick = obc.large_data.tick

    def tick_failing_from_500_to_560_ms(now):
        if 500 <= now <= 560:
            raise MemoryError("memory allocation failed")
        return real_tick(now)

    monkeypatch.setattr(obc.large_data, "tick", tick_failing_from_500_to_560_ms)
    run_schedule(obc, monkeypatch, until_ms=1000)
    assert obc.schedule_errors == 4  # 500, 520, 540, 560
    reported = [p["data"]["aux"] for p in obc.sent if p["service"] == 5 and p["data"]["event_id"] == D.EVT_TASK_ERROR]
    assert reported == [{"task": 255, "kind": D.TASK_ERROR_MEMORY, "errors": 1}]
