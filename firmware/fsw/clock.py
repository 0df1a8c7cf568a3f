# On-board time: integer seconds + microseconds since the CUC epoch
# (2000-01-01T00:00:00, no leap seconds). Floats never hold the time (they are
# single precision on the boards). `rate_ppm` is how many flight microseconds
# pass per real millisecond x 1000: 1_000_000 is real time; SITL's speed factor
# and the drift-correction parameter both fold into it.
# Virtual time (speed "max", SITL only): flight time does not follow the host's
# clock at all; the OBC's schedule loop advances it a fixed step per round
# (advance()), so flight time passes as fast as the host runs the tasks.
from micropython import const

_US = const(1000000)


class Clock:
    def __init__(self, ticks_ms, ticks_diff, speed=1.0, drift_ppm=0.0, coarse=0):
        self._ticks_ms = ticks_ms
        self._ticks_diff = ticks_diff
        self.virtual = speed == "max"
        self._speed = 1.0 if self.virtual else speed
        self._last = ticks_ms()
        self._s = coarse
        self._us = 0
        self._rem = 0  # sub-microsecond remainder, in 1e-3 us
        self._up_s = 0  # flight time since boot, unaffected by set_cuc
        self._up_us = 0
        self.synced = False  # True once the ground set the time
        self._rate = 0  # set_drift() below brings the clock up to date first, so it needs a rate
        self.set_drift(drift_ppm)

    def set_drift(self, drift_ppm):
        self._update()
        self._rate = int(self._speed * (1000000 + drift_ppm) + 0.5)

    def _update(self):
        if self.virtual:
            return
        now = self._ticks_ms()
        dt = self._ticks_diff(now, self._last)
        if dt <= 0:
            return
        self._last = now
        # dt ms * rate ppm of (1000 us) -> flight us, keeping the remainder
        total = dt * self._rate + self._rem  # in 1e-3 us
        us = total // 1000
        self._rem = total - us * 1000
        self._add_us(us)

    def advance(self, ms):
        # virtual time: `ms` flight milliseconds pass (the drift correction applies)
        total = ms * self._rate + self._rem  # speed is 1 in virtual time: rate = 1e6 + drift
        us = total // 1000
        self._rem = total - us * 1000
        self._add_us(us)

    def _add_us(self, us):
        up = self._up_us + us
        self._up_s += up // _US
        self._up_us = up % _US
        us += self._us
        self._s += us // _US
        self._us = us % _US

    def now(self):
        # (seconds, microseconds) since the epoch
        self._update()
        return self._s, self._us

    def cuc(self):
        # (coarse seconds, fine in 2^-16 s)
        self._update()
        return self._s, (self._us << 16) // _US

    def set_cuc(self, coarse, fine):
        self._update()
        self._s = coarse
        self._us = (fine * _US) >> 16
        self.synced = True

    def uptime_s(self):
        self._update()
        return self._up_s

    def uptime_ms(self):
        # monotonic flight milliseconds since boot: what periodic schedules run on
        self._update()
        return self._up_s * 1000 + self._up_us // 1000

    def real_ms(self, flight_ms):
        # real milliseconds that `flight_ms` of flight time take (0 if not positive,
        # and always 0 in virtual time: nothing to wait for)
        if flight_ms <= 0 or self.virtual:
            return 0
        return int(flight_ms * 1000000 // self._rate)

    def ms(self):
        # monotonic flight milliseconds (for schedules); wraps never within a mission
        self._update()
        return self._s * 1000 + self._us // 1000
