# The OBC application: reads the board's files, wires link, dispatcher and
# services on APID 0x001, and runs the asyncio tasks. Read top to bottom to see
# which service runs where and at which rate.
import json
import struct
from micropython import const

import hal
from fsw import dictionary as D
from fsw import storage
from fsw.clock import Clock
from fsw.dispatcher import Dispatcher
from fsw.fdir import Fdir
from fsw.link import Link
from fsw.packet import TmWriter
from fsw.params import Params
from fsw.security import Reports, Security, load_keys
from fsw.services.st3 import Housekeeping
from fsw.services.st5 import Events
from fsw.services.st9 import Time
from fsw.services.st11 import Schedule
from fsw.services.st13 import LargeData
from fsw.services.st17 import Test
from fsw.services.st20 import Parameters

_TICK_MS = const(20)  # real milliseconds between schedule checks
_GC_EVERY = const(50)  # ticks between chosen garbage collections (about 1 s)
_TASK_SCHEDULE = const(255)  # task_error's task number of the schedule loop (vehicle tasks count from 0)
_BOOT_STORE = "boot.dat"
_STORE_PARAMS = const(1)
_STORE_BOOT = const(2)
_STORE_SCHED = const(4)
_FAULT_LOAD = const(1)
_FAULT_WRITE = const(2)


def load_board(path="board.json"):
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return {}


class Obc:
    def __init__(self, board, hal_link):
        self.board = board
        D.use_vehicle(board.get("vehicle"))  # its parameters, events, HK and functions join the tables first
        link_cfg = board.get("link", {})
        max_frame = link_cfg.get("max_frame", D.MAX_FRAME)
        self._faults = []

        self.params = Params()
        self.params.load()
        if self.params.load_fault:
            self._faults.append((_STORE_PARAMS, _FAULT_LOAD))
        self.boot_count = self._count_boot()
        self.params.set_internal(D.PAR_OBC_BOOT_COUNT, self.boot_count)

        self.clock = Clock(hal.ticks_ms, hal.ticks_diff, board.get("speed", 1.0), self.params.get(D.PAR_OBC_CLOCK_DRIFT_PPM))
        self.tm = TmWriter(self.clock, max_frame)
        self.guard = Security(
            load_keys(), window=self.params.get(D.PAR_LINK_REPLAY_WINDOW), enabled=board.get("security", True)
        )
        self.reject_reports = Reports()  # security_rejected: at most 4 a second, the rest summarised
        self.link = Link(hal_link, self.guard, max_frame, self._packet, self._rejected)
        send = self.link.send
        self.dispatcher = Dispatcher(self.tm, send)
        self.vehicle = None  # a vehicle app (inspector, rover) sets itself here
        self.waiting = self.clock.virtual
        self.heap_peak = 0
        self.schedule_errors = 0  # ticks of the schedule loop that raised

        self.events = Events(D.APID_OBC, self.tm, send, self.params.get(D.PAR_OBC_EVENT_MIN_SEVERITY))
        self.hk = Housekeeping(D.APID_OBC, self.tm, send, self.clock)
        self.hk.add(D.HK_OBC, self.obc_hk, self.params.get(D.PAR_OBC_HK_PERIOD_MS))
        self.time = Time(D.APID_OBC, self.tm, send, self.clock, self.events)
        # ST13: products in parts, paced by the schedule loop; it keeps the events for downlink_log
        self.large_data = LargeData(D.APID_OBC, self.tm, send, self.events, max_frame, link_cfg.get("baud", 921600))
        self.events.send = self.large_data.tap(send)
        # ST11: released TCs go through the dispatcher as if from the ground
        self.sched = Schedule(D.APID_OBC, self.tm, send, self.clock, self.dispatcher, self.events)
        self.sched.load()
        if self.sched.load_fault:
            self._faults.append((_STORE_SCHED, _FAULT_LOAD))
        for service in (
            self.events,
            self.hk,
            self.time,
            self.sched,
            self.large_data,
            Test(D.APID_OBC, self.tm, send),
            Parameters(D.APID_OBC, self.tm, send, self.params, self.events),
        ):
            service.register(self.dispatcher)

        obs = self.params.observers
        obs[D.PAR_OBC_HK_PERIOD_MS] = self._set_hk_period
        obs[D.PAR_OBC_CLOCK_DRIFT_PPM] = self.clock.set_drift
        obs[D.PAR_LINK_REPLAY_WINDOW] = self._set_window
        obs[D.PAR_OBC_EVENT_MIN_SEVERITY] = self._set_min_severity

        # FDIR loads the safing record now: a vehicle built after this boots safe while it is set
        self.fdir = Fdir(self)
        self.fdir.register(self.dispatcher)

    def tables_changed(self):
        # a vehicle's dictionary tables joined after construction (fsw.vehicle)
        self.params.adopt()
        self.fdir.adopt_limits()

    # --- wiring callbacks -----------------------------------------------------

    def _packet(self, buf, start, end):
        self.waiting = False  # virtual time starts with the ground's first packet
        self.dispatcher.handle(buf, start, end)

    def _rejected(self, reason, spi, sn, floor):
        # every rejection is counted (guard.rej_*); reported one by one only within the rate limit
        now = self.clock.uptime_ms()
        self._summarise(now)  # a summary that is due goes out before the next report
        if self.reject_reports.allow(reason, now):
            self.events.emit(D.EVT_SECURITY_REJECTED, (reason, spi if spi >= 0 else 0, sn if sn >= 0 else 0, floor))

    def _summarise(self, now):
        counts = self.reject_reports.due(now)
        if counts is not None:
            self.events.emit(D.EVT_SECURITY_SUPPRESSED, counts)

    def _set_hk_period(self, value):
        self.hk.change_interval(([(D.HK_OBC, value)],))

    def _set_window(self, value):
        self.guard.window = value

    def _set_min_severity(self, value):
        self.events.min_severity = value

    def _count_boot(self):
        raw = storage.load(_BOOT_STORE)
        count = struct.unpack(">I", raw)[0] + 1 if raw is not None and len(raw) == 4 else 1
        try:
            storage.save(_BOOT_STORE, struct.pack(">I", count))
        except OSError:
            self._faults.append((_STORE_BOOT, _FAULT_WRITE))
        return count

    def obc_hk(self):
        link = self.link
        d = self.dispatcher
        return (
            self.clock.uptime_s(),
            self.boot_count,
            hal.heap_free(),
            link.frames_ok,
        ) + link.drops() + (d.tc_accepted, d.tc_rejected, link.tm_sent, self.heap_peak)

    # --- tasks -------------------------------------------------------------------

    async def _schedule(self):
        watchdog = self.board.get("watchdog_ms", 0)
        ticks = 0
        failing = False  # the last tick raised: task_error is reported once per run of failures
        virtual = self.clock.virtual
        while True:
            if virtual:
                if self.waiting:
                    # SITL at speed max: flight time stands still until the ground's first
                    # packet, so a pass starts from the board's boot state, not from wherever
                    # it drifted while the ground was connecting
                    await hal.sleep_ms(1)
                    continue
                self.clock.advance(_TICK_MS)  # then each round is one tick of flight time
            now = self.clock.uptime_ms()
            try:
                self.hk.tick(now)
                self.time.tick(now)
                self.large_data.tick(now)
                self._summarise(now)
                self.sched.tick(self.clock.cuc())
                if self.fdir.tick(now):
                    hal.feed_watchdog(watchdog)  # only while every task is alive: else the WDT resets the board
            except Exception as exc:
                # a failing service (a MemoryError near the heap's limit) costs its tick, never
                # the loop: a dead loop would freeze flight time and every report; the watchdog
                # is not fed in this tick, so a failure that repeats still resets a board
                self.schedule_errors += 1
                hal.collect()
                if not failing:
                    self.events.task_error(_TASK_SCHEDULE, exc, self.schedule_errors)
                failing = True
            else:
                failing = False
            ticks += 1
            if ticks >= _GC_EVERY:
                ticks = 0
                hal.collect()  # here, between packets, rather than mid-frame
                used = hal.heap_used()
                if used > self.heap_peak:
                    self.heap_peak = used  # live data right after a collection: the app's high-water mark
            await hal.sleep_ms(0 if virtual else _TICK_MS)

    async def run(self):
        import asyncio

        self.events.emit(D.EVT_BOOT, (self.boot_count, hal.reset_cause()))
        for store, action in self._faults:
            self.events.emit(D.EVT_STORAGE_FAULT, (store, action))
        self.fdir.report_boot()
        if self.vehicle is not None:
            self.vehicle.start_tasks()
        hal.collect()
        scheduler = asyncio.create_task(self._schedule())
        await self.link.rx_task()  # returns at end of stream
        scheduler.cancel()
