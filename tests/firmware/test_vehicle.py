"""fsw.vehicle: modes with their events, fault injection by name, and tasks that run in
flight time (catch-up, overruns, heartbeats that stop on a failing cycle)."""

import asyncio

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from fsw.services.st5 import Events
from fsw.vehicle import REASON_COMMAND, REASON_FDIR, Vehicle
from ground import codec
from ground import dictionary as d

# a board merges its vehicle's tables at boot; these tests look at both vehicles'
D.use_vehicle("inspector")
D.use_vehicle("rover")


class Clock:
    """Flight time that the test moves; real_ms 0 so tasks never sleep long."""

    def __init__(self):
        self.ms = 0

    def uptime_ms(self):
        return self.ms

    def real_ms(self, flight_ms):
        return 0

    def cuc(self):
        return (self.ms // 1000, 0)


class Hw:
    def __init__(self):
        self.injected = []
        self.cleared = []

    def inject(self, device, fault, value):
        if fault == "leak" and device != "thrusters":
            raise ValueError("%s has no fault %r" % (device, fault))
        self.injected.append((device, fault, value))

    def clear(self, device=None):
        self.cleared.append(device)


class Obc:
    def __init__(self):
        self.clock = Clock()
        self.tm = fp.TmWriter(self.clock, D.MAX_FRAME)
        self.sent = []
        self.dispatcher = Dispatcher(self.tm, self.send)
        self.events = Events(D.APID_OBC, self.tm, self.send)
        self.vehicle = None

    def send(self, buf, n):
        self.sent.append(codec.decode(bytes(buf[:n])))


def _inspector():
    obc = Obc()
    v = Vehicle(obc, Hw(), "inspector", D.EVT_INSPECTOR_MODE_CHANGED, D.MODE_INSPECTOR_SAFE)
    return obc, v


def test_vehicle_boots_in_its_boot_mode_and_registers_on_obc():
    obc, v = _inspector()
    assert obc.vehicle is v
    assert v.mode == d.VEHICLE_BY_NAME["inspector"].boot_mode
    assert sorted(obc.dispatcher.handlers) == sorted(c.apid for c in d.VEHICLE_BY_NAME["inspector"].components)


def test_vehicle_set_mode_reports_old_new_and_reason_from_the_mode_owner():
    obc, v = _inspector()
    v.set_mode(D.MODE_INSPECTOR_DETUMBLE, REASON_COMMAND)
    v.safe(REASON_FDIR)
    v.safe(REASON_FDIR)  # already safe: no second event
    events = [(p["apid"], p["data"]["aux"]) for p in obc.sent]
    adcs = d.APID_BY_NAME["inspector_adcs"]
    assert events == [
        (adcs, {"old": 0, "new": D.MODE_INSPECTOR_DETUMBLE, "reason": 0}),
        (adcs, {"old": D.MODE_INSPECTOR_DETUMBLE, "new": 0, "reason": REASON_FDIR}),
    ]


def test_vehicle_inject_and_clear_faults_by_dictionary_names():
    obc, v = _inspector()
    devices = {name: n for n, name in d.inspector.DEVICES.items()}
    faults = {name: n for n, name in d.inspector.FAULTS.items()}
    fid = D.FN_INSPECTOR_ADCS_INJECT_FAULT
    assert v.inject_fault(fid, [devices["thrusters"], faults["leak"], 0.25]) == 0
    assert v.inject_fault(fid, [devices["imu"], faults["leak"], 1.0]) == D.ERR_ARG_OUT_OF_RANGE
    assert v.hw.injected == [("thrusters", "leak", 0.25)]
    assert v.clear_faults(D.FN_INSPECTOR_ADCS_CLEAR_FAULTS, [devices["wheels"]]) == 0
    assert v.clear_faults(D.FN_INSPECTOR_ADCS_CLEAR_FAULTS, [0]) == 0
    assert v.hw.cleared == ["wheels", None]


def _run_tasks(v, clock, steps):
    """Advance flight time by each of `steps` (ms), letting the task coroutines run in between."""

    async def main():
        v.start_tasks()
        for dt in steps:
            clock.ms += dt
            for _ in range(3):
                await asyncio.sleep(0)
        for t in v.tasks:
            t.coro.cancel()

    asyncio.run(main())


def test_vehicle_task_runs_every_period_of_flight_time_with_its_cycle_time():
    obc, v = _inspector()
    cycles = []
    t = v.task("control", 100, cycles.append)
    _run_tasks(v, obc.clock, [50, 50, 250, 1000])
    assert cycles == list(range(100, 1351, 100))
    assert (t.runs, t.errors, t.overruns, t.last_ok_ms) == (13, 0, 0, 1300)


def test_vehicle_task_far_behind_catches_up_50_cycles_then_counts_overruns():
    obc, v = _inspector()
    cycles = []
    t = v.task("control", 100, cycles.append)
    _run_tasks(v, obc.clock, [10000])
    assert cycles == list(range(100, 5001, 100))
    assert t.overruns == 50  # 5100 .. 10000 skipped
    assert t.due == 10100


def test_vehicle_task_that_raises_keeps_running_but_its_heartbeat_stops():
    obc, v = _inspector()
    fail = {"on": False}

    def step(cycle_ms):
        if fail["on"]:
            raise ValueError("sensor")

    t = v.task("control", 100, step)
    _run_tasks(v, obc.clock, [300])
    fail["on"] = True
    _run_tasks(v, obc.clock, [500])
    assert (t.runs, t.errors, t.last_ok_ms) == (3, 5, 300)
    assert isinstance(t.last_error, ValueError)


def _task_errors(obc):
    return [p["data"]["aux"] for p in obc.sent if p["service"] == 5 and p["data"]["event_id"] == D.EVT_TASK_ERROR]


def test_vehicle_task_error_is_reported_once_per_run_of_failures_with_its_kind():
    obc, v = _inspector()
    raising = {"exc": None}

    def step(cycle_ms):
        if raising["exc"] is not None:
            raise raising["exc"]

    kinds = {name: n for n, name in d.obc.TASK_ERRORS.items()}
    t = v.task("control", 100, step)
    raising["exc"] = MemoryError("memory allocation failed")
    _run_tasks(v, obc.clock, [500])  # five failed cycles in a row: one report
    assert _task_errors(obc) == [{"task": t.number, "kind": kinds["memory"], "errors": 1}]
    raising["exc"] = None
    _run_tasks(v, obc.clock, [200])
    raising["exc"] = RuntimeError("device")
    _run_tasks(v, obc.clock, [300])  # a new run after good cycles: reported again
    assert _task_errors(obc) == [{"task": t.number, "kind": kinds["memory"], "errors": 1},
                                 {"task": t.number, "kind": kinds["other"], "errors": 6}]
    assert (t.runs, t.errors) == (2, 8)


@pytest.mark.micropython
def test_vehicle_tasks_on_micropython(micropython):
    code = r"""
import asyncio
from fsw import dictionary as D
from fsw.vehicle import Vehicle

class Clock:
    ms = 0
    def uptime_ms(self):
        return self.ms
    def real_ms(self, f):
        return 0

class Obc:
    def __init__(self):
        from fsw.dispatcher import Dispatcher
        self.clock = Clock()
        self.dispatcher = Dispatcher(None, None)
        self.events = None

obc = Obc()
v = Vehicle(obc, None, "rover", D.EVT_ROVER_MODE_CHANGED, D.MODE_ROVER_SURVIVAL)
cycles = []
t = v.task("control", 100, cycles.append)

async def main():
    v.start_tasks()
    for dt in (50, 250, 10000):
        obc.clock.ms += dt
        for _ in range(3):
            await asyncio.sleep(0)
    t.coro.cancel()

asyncio.run(main())
print(len(cycles), cycles[0], cycles[-1], t.overruns, v.mode)
"""
    out = micropython(code).decode().split()
    assert out == ["53", "100", "5300", "50", str(d.VEHICLE_BY_NAME["rover"].boot_mode)]
