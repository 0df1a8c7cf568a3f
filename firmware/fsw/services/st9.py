# ST9 time management: periodic CUC time reports every 2^rate_exp seconds
# (255: off) and the mission TC 9.128 that sets on-board time.
from micropython import const

from fsw import dictionary as D

_OFF = const(255)
_MAX_EXP = const(16)


class Time:
    def __init__(self, apid, tm, send, clock, events, rate_exp=_OFF):
        self.apid = apid
        self.tm = tm
        self.send = send
        self.clock = clock
        self.events = events
        self.rate_exp = rate_exp
        self._due = -1  # flight ms of the next report; -1: at the next tick

    def register(self, dispatcher):
        dispatcher.register(D.TC_TIME_SET_RATE, self.set_rate, self.check_rate)
        dispatcher.register(D.TC_TIME_SET_TIME, self.set_time)

    def check_rate(self, args):
        exp = args[0]
        if exp != _OFF and exp > _MAX_EXP:
            return D.ERR_ARG_OUT_OF_RANGE
        return 0

    def set_rate(self, args):
        # the first report comes at the schedule's next tick and the period counts from
        # that report, not from the TC: a TC taken just before a tick would shorten the
        # first period by up to a tick, and two reports could carry the same coarse second
        self.rate_exp = args[0]
        self._due = -1
        return 0

    def set_time(self, args):
        old = self.clock.cuc()[0]
        self.clock.set_cuc(args[0], args[1])
        self.events.emit(D.EVT_TIME_SET, (old, args[0]))
        return 0

    def report(self):
        coarse, fine = self.clock.cuc()
        values = (self.rate_exp, coarse, fine, 1 if self.clock.synced else 0)
        n = self.tm.build(self.apid, D.TM_TIME_REPORT, values)
        self.send(self.tm.buf, n)

    def tick(self, now_ms):
        if self.rate_exp == _OFF or now_ms < self._due:
            return
        self.report()
        period = 1000 << self.rate_exp
        self._due = (now_ms if self._due < 0 else self._due) + period
        if self._due <= now_ms:
            self._due = now_ms + period
