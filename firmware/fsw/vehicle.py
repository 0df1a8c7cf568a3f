# What every vehicle app (inspector/, rover/) stands on: its mode, its ST8
# functions on its APIDs (with the dictionary's allowed-mode masks), periodic
# tasks that run in flight time, and fault injection into the emulated devices.
#
# Tasks: each is its own asyncio coroutine, so one that stops (awaits forever,
# raises every cycle) stops only itself; `last_ok_ms` is its heartbeat, the
# flight time of its last good cycle, which FDIR watches. A task runs every
# `period_ms` of flight time; when the runtime falls behind (SITL at high
# speed) it catches up by running the missed cycles back to back, each with
# its own cycle time, so results do not depend on how fast the host is; past
# _MAX_CATCH_UP it skips and counts the skipped cycles as overruns.
from micropython import const

import hal
from fsw import dictionary as D
from fsw.services.st8 import Functions

REASON_COMMAND = const(0)
REASON_AUTONOMOUS = const(1)
REASON_FDIR = const(2)
REASON_BOOT = const(3)
_MAX_CATCH_UP = const(50)
_MIN_TOLERANCE_MS = const(1000)  # FDIR's floor on how late a heartbeat may be (flight ms)


class Task:
    def __init__(self, number, name, period_ms, fn, now_ms, tolerance_ms=0):
        self.number = number  # the task's number in event reports
        self.name = name
        self.period_ms = period_ms
        self.fn = fn  # fn(cycle_ms): cycle_ms is the flight time the cycle stands for
        self.due = now_ms + period_ms
        self.last_ok_ms = now_ms
        self.runs = 0
        self.errors = 0
        self.overruns = 0
        self.last_error = None
        self.coro = None
        # FDIR calls the task hung when its heartbeat is older than this (default: 3 periods, at least the floor)
        self.tolerance_ms = tolerance_ms or max(3 * period_ms, _MIN_TOLERANCE_MS)
        self.hang = None  # an asyncio.Event nobody sets: fdir.hang_task (tests, demos)


class Vehicle:
    def __init__(self, obc, hw, name, mode_event, safe_mode):
        # the vehicle's tables: main.py's Obc merged them at boot (board "vehicle"); an OBC
        # built without (tests, a vehicle started by hand) gets them now
        D.use_vehicle(name)
        adopt = getattr(obc, "tables_changed", None)
        if adopt is not None:
            adopt()
        self.obc = obc
        self.hw = hw  # the emulated (or attached) devices: hw.inspector / hw.rover
        self.name = name
        self.mode, self.apids = D.VEHICLES[name]
        fdir = getattr(obc, "fdir", None)
        if fdir is not None and fdir.record is not None:
            self.mode = safe_mode  # safed before this boot and not cleared by the ground: stay safe
        self.mode_event = mode_event
        self.safe_mode = safe_mode
        self.events = obc.events
        self.clock = obc.clock
        self.functions = Functions(obc.dispatcher, self.current_mode)
        for apid in self.apids:
            self.functions.register_apid(apid)
        self.tasks = []
        obc.vehicle = self

    def current_mode(self):
        return self.mode

    # --- modes -----------------------------------------------------------------

    def set_mode(self, mode, reason):
        # Enter `mode` (no checks: the caller decided); reported with the reason.
        old = self.mode
        self.mode = mode
        self.enter(mode, old)
        self.events.emit(self.mode_event, (old, mode, reason))

    def enter(self, mode, old):
        # Subclasses act on a mode change (actuators off, guidance targets).
        return None

    def safe(self, reason):
        # FDIR's way in: the vehicle's safe mode, whatever it was doing.
        if self.mode != self.safe_mode:
            self.set_mode(self.safe_mode, reason)

    # --- fault injection (tests and demos) ---------------------------------------

    def inject_fault(self, fid, args):
        names = D.FUNCTION_NAMES[fid]
        devices = names[0] or {}
        faults = names[1] or {}
        try:
            self.hw.inject(devices[args[0]], faults[args[1]], args[2])
        except ValueError:
            return D.ERR_ARG_OUT_OF_RANGE  # the device has no such fault
        return 0

    def clear_faults(self, fid, args):
        devices = D.FUNCTION_NAMES[fid][0] or {}
        device = devices.get(args[0]) if args[0] else None
        try:
            self.hw.clear(device)
        except ValueError:
            return D.ERR_ARG_OUT_OF_RANGE
        return 0

    # --- tasks -------------------------------------------------------------------

    def task(self, name, period_ms, fn, tolerance_ms=0):
        t = Task(len(self.tasks), name, period_ms, fn, self.clock.uptime_ms(), tolerance_ms)
        self.tasks.append(t)
        return t

    def start_tasks(self):
        import asyncio

        for t in self.tasks:
            t.coro = asyncio.create_task(self._run(t))

    async def _run(self, t):
        clock = self.clock
        while True:
            now = clock.uptime_ms()
            n = 0
            while t.due <= now and n < _MAX_CATCH_UP:
                try:
                    t.fn(t.due)
                except Exception as exc:  # a failing cycle is not a good one: FDIR sees the heartbeat stop
                    t.errors += 1
                    first = t.last_error is None
                    t.last_error = exc
                    if first:  # once per run of failures: a task failing every cycle must not flood the link
                        self.events.task_error(t.number, exc, t.errors)
                else:
                    t.last_error = None
                    t.runs += 1
                    t.last_ok_ms = t.due
                t.due += t.period_ms
                n += 1
            if t.due <= now:
                missed = (now - t.due) // t.period_ms + 1
                t.overruns += missed
                t.due += missed * t.period_ms
            if t.hang is not None:
                await t.hang.wait()  # hung on command: never returns, the heartbeat stops
            await hal.sleep_ms(clock.real_ms(t.due - clock.uptime_ms()))
