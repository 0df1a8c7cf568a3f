# ST3 housekeeping: structures by SID, each with its own source of values,
# reported periodically (flight time) or once on request.
# Size: a report is one packet whose size its structure fixes (no splitting or
# refusing here); tests/firmware/test_reply_sizes.py keeps every structure within
# the smallest board frame. A one-shot of N structures sends N reports.
from micropython import const

from fsw import dictionary as D

_MIN_INTERVAL_MS = const(100)
_MAX_INTERVAL_MS = const(3600000)


class Housekeeping:
    def __init__(self, apid, tm, send, clock):
        self.apid = apid
        self.tm = tm
        self.send = send
        self.clock = clock
        self.sources = {}  # sid -> function returning the values after the SID
        self.enabled = {}
        self.interval = {}
        self._due = {}

    def add(self, sid, source, interval_ms, enabled=True):
        self.sources[sid] = source
        self.interval[sid] = interval_ms
        self.enabled[sid] = enabled
        self._due[sid] = self.clock.uptime_ms() + interval_ms

    def register(self, dispatcher):
        dispatcher.register(D.TC_HK_ENABLE_PERIODIC, self.enable, self.check_sids)
        dispatcher.register(D.TC_HK_DISABLE_PERIODIC, self.disable, self.check_sids)
        dispatcher.register(D.TC_HK_ONE_SHOT, self.one_shot, self.check_sids)
        dispatcher.register(D.TC_HK_CHANGE_INTERVAL, self.change_interval, self.check_intervals)

    def report(self, sid):
        # reported by the APID that owns the structure
        n = self.tm.build(D.HK_APID[sid], D.TM_HK_REPORT, (sid,) + self.sources[sid]())
        self.send(self.tm.buf, n)

    def tick(self, now_ms):
        for sid in self.sources:
            if self.enabled[sid] and now_ms >= self._due[sid]:
                self.report(sid)
                due = self._due[sid] + self.interval[sid]
                self._due[sid] = due if due > now_ms else now_ms + self.interval[sid]

    def check_sids(self, args):
        for (sid,) in args[0]:
            if sid not in self.sources:
                return D.ERR_UNKNOWN_STRUCTURE
        return 0

    def check_intervals(self, args):
        for sid, interval in args[0]:
            if sid not in self.sources:
                return D.ERR_UNKNOWN_STRUCTURE
            if not _MIN_INTERVAL_MS <= interval <= _MAX_INTERVAL_MS:
                return D.ERR_ARG_OUT_OF_RANGE
        return 0

    def enable(self, args):
        now = self.clock.uptime_ms()
        for (sid,) in args[0]:
            self.enabled[sid] = True
            self._due[sid] = now + self.interval[sid]
        return 0

    def disable(self, args):
        for (sid,) in args[0]:
            self.enabled[sid] = False
        return 0

    def one_shot(self, args):
        for (sid,) in args[0]:
            self.report(sid)
        return 0

    def change_interval(self, args):
        now = self.clock.uptime_ms()
        for sid, interval in args[0]:
            self.interval[sid] = interval
            self._due[sid] = now + interval
        return 0
