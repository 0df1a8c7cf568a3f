# FDIR supervisor, run by the OBC's schedule loop (fsw/app.py) every tick:
#
# - software watchdog per vehicle task: a task whose heartbeat (last_ok_ms, the
#   flight time of its last good cycle) is older than its tolerance is hung:
#   task_hung once, the vehicle's safe mode, the safing record, safed. A task that
#   raises every cycle is hung too (its heartbeat stops).
# - hardware watchdog gating: tick() returns whether every task is alive; the OBC
#   feeds hal's watchdog only then, so a hung task also gets the board reset by
#   its WDT (reset cause 1 in the next boot event). The OBC alone has no tasks
#   and always feeds it; a hung schedule loop stops the feeding by itself.
# - limit checks on housekeeping values (the dictionary's LIMITS table) at
#   _LIMIT_PERIOD_MS, by sampling the ST3 sources: limit_violation once per
#   excursion, re-armed after _REARM_CHECKS checks in a row back in range (a
#   value hovering at its limit reports once, not every check); action 1 safes.
# - the safing record (safing.dat, fsw.storage: power-loss safe): reason, detail,
#   boot count, on-board time of the last FDIR safing. Loaded at boot: while set,
#   the vehicle boots in its safe mode (fsw/vehicle.py) and report_boot()
#   re-reports safed, until TC 12.128 clears it; a damaged record boots safe too
#   (the conservative reading) and is reported as storage_fault 5 and safed with
#   reason none (the reason was lost).
# - TC 12.129 hangs a task on command (tests, demos): its coroutine awaits an
#   event nobody sets, as a task stuck on a device would.
import asyncio
import os
import struct
from micropython import const

import hal
from fsw import dictionary as D
from fsw import storage

STORE = "safing.dat"
_RECORD = ">BHII"  # reason u8, detail u16, boot count u32, CUC coarse u32
_RECORD_LEN = const(11)
_LIMIT_PERIOD_MS = const(1000)
_REARM_CHECKS = const(3)
_STORE_SAFING = const(5)  # storage_fault store number (ground/dictionary/obc.py)
_FAULT_LOAD = const(1)
_FAULT_WRITE = const(2)
_REASON_FDIR = const(2)  # fsw.vehicle.REASON_FDIR (mode_changed reason)
_HEAP_FREE = const(2)  # field of heap_free in HK structure obc (a test checks it)


def _exists(name):
    try:
        os.stat(name)
        return True
    except OSError:
        return False


class Fdir:
    def __init__(self, obc, store=STORE):
        self.obc = obc
        self.events = obc.events
        self.clock = obc.clock
        self.store = store
        self.record = None  # (reason, detail, boot count, coarse) while safed
        self.load_fault = False
        self.hung = set()  # numbers of the tasks found hung (re-armed when they run again)
        n = len(D.LIMITS)
        self.limit_on = bytearray(b"\x01" * n)
        self.tripped = bytearray(n)  # 1 while a limit's excursion has been reported
        self._in_range = bytearray(n)  # checks in a row back in range while tripped
        self._limits_due = self.clock.uptime_ms() + _LIMIT_PERIOD_MS
        if not hal.heap_free():
            self.disable_limit(D.HK_OBC, _HEAP_FREE)  # CPython: no fixed heap, 0 is not a measurement
        self._load()

    def adopt_limits(self):
        # limits that joined D.LIMITS after construction (a vehicle's tables merged late)
        grow = len(D.LIMITS) - len(self.limit_on)
        if grow > 0:
            self.limit_on.extend(b"\x01" * grow)
            self.tripped.extend(bytearray(grow))
            self._in_range.extend(bytearray(grow))

    # --- safing record ------------------------------------------------------------

    def _load(self):
        raw = storage.load(self.store)
        if raw is not None and len(raw) == _RECORD_LEN:
            rec = struct.unpack(_RECORD, raw)
            self.record = rec if rec[0] != D.SAFING_NONE else None
        elif raw is not None or _exists(self.store) or _exists(self.store + ".bak"):
            self.load_fault = True
            self.record = (D.SAFING_NONE, 0, 0, 0)

    def report_boot(self):
        # after the boot event: what the last boots left behind
        if self.load_fault:
            self.events.emit(D.EVT_STORAGE_FAULT, (_STORE_SAFING, _FAULT_LOAD))
        if self.record is not None:
            self.events.emit(D.EVT_SAFED, self.record)

    def safe(self, reason, detail):
        # FDIR's (and an app's autonomy's) way to safe the vehicle: safe mode first,
        # then the record (a failed write costs the record, never the safing), then safed
        vehicle = self.obc.vehicle
        if vehicle is not None:
            vehicle.safe(_REASON_FDIR)
        rec = (reason, detail, self.obc.boot_count, self.clock.cuc()[0])
        self.record = rec
        try:
            storage.save(self.store, struct.pack(_RECORD, reason, detail, rec[2], rec[3]))
        except OSError:
            self.events.emit(D.EVT_STORAGE_FAULT, (_STORE_SAFING, _FAULT_WRITE))
        self.events.emit(D.EVT_SAFED, rec)

    def clear(self, _args):
        # TC 12.128: written first, forgotten after (a failed write keeps it set: STORAGE_FAILED)
        storage.save(self.store, struct.pack(_RECORD, D.SAFING_NONE, 0, 0, 0))
        self.record = None
        self.load_fault = False
        return 0

    # --- hang on command ------------------------------------------------------------

    def check_task(self, args):
        vehicle = self.obc.vehicle
        if vehicle is None or args[0] >= len(vehicle.tasks):
            return D.ERR_ARG_OUT_OF_RANGE
        return 0

    def hang(self, args):
        # TC 12.129: fsw.vehicle's task loop awaits this event, which nobody sets
        self.obc.vehicle.tasks[args[0]].hang = asyncio.Event()
        return 0

    def register(self, dispatcher):
        dispatcher.register(D.TC_FDIR_CLEAR_SAFING, self.clear)
        dispatcher.register(D.TC_FDIR_HANG_TASK, self.hang, self.check_task)

    # --- supervision -------------------------------------------------------------------

    def tick(self, now):
        # True while every task is alive: the caller feeds the hardware watchdog only then
        alive = self.watch_tasks(now)
        if now >= self._limits_due:
            self._limits_due += _LIMIT_PERIOD_MS
            if self._limits_due <= now:
                self._limits_due = now + _LIMIT_PERIOD_MS
            self.check_limits()
        return alive

    def watch_tasks(self, now):
        vehicle = self.obc.vehicle
        if vehicle is None:
            return True
        alive = True
        hung = self.hung
        for t in vehicle.tasks:
            late = now - t.last_ok_ms
            real = self.clock.real_ms(late) if late > t.tolerance_ms else 0
            if late <= t.tolerance_ms or 0 < real <= t.tolerance_ms:
                # (SITL faster than real time scales the host's jitter too: there a task is
                # judged in real time; in virtual time, real_ms is 0 and flight time decides)
                if t.number in hung:
                    hung.discard(t.number)  # running again: a later hang is a new one
                continue
            alive = False
            if t.number not in hung:
                hung.add(t.number)
                self.events.emit(D.EVT_TASK_HUNG, (t.number, late))
                self.safe(D.SAFING_TASK_HUNG, t.number)
        return alive

    def disable_limit(self, sid, field):
        for i in range(len(D.LIMITS)):
            lim = D.LIMITS[i]
            if lim[0] == sid and lim[1] == field:
                self.limit_on[i] = 0

    def check_limits(self):
        sources = self.obc.hk.sources
        limits = D.LIMITS
        sampled = -1
        values = None
        for i in range(len(limits)):
            if not self.limit_on[i]:
                continue
            sid, field, low, high, action = limits[i]
            if sid != sampled:  # LIMITS is grouped by SID: one sample per structure
                sampled = sid
                source = sources.get(sid)
                values = source() if source is not None else None
            if values is None:
                continue  # this board does not produce the structure
            value = values[field]
            if value > high:
                limit = high
            elif value >= low:
                if self.tripped[i]:
                    self._in_range[i] += 1
                    if self._in_range[i] >= _REARM_CHECKS:
                        self.tripped[i] = 0
                continue
            else:
                limit = low  # below it, or NaN (compares false both ways)
            self._in_range[i] = 0
            if self.tripped[i]:
                continue
            self.tripped[i] = 1
            self.events.emit(D.EVT_LIMIT_VIOLATION, (sid, field, value, limit, action))
            if action:
                self.safe(D.SAFING_LIMIT, sid)
