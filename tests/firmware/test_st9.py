"""fsw.services.st9 (ST9 time reports): the period counts from the first report, so
reports step by exactly 2^rate_exp flight seconds wherever in a tick the TC lands."""

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.services.st9 import Time
from ground import codec

TICK_MS = 20  # fsw.app's schedule step


class Clock:
    """Flight time that only the test moves; coarse seconds are whole uptime seconds."""

    def __init__(self):
        self.ms = 0
        self.synced = False

    def uptime_ms(self):
        return self.ms

    def cuc(self):
        return self.ms // 1000, ((self.ms % 1000) << 16) // 1000


class Events:
    def emit(self, event_id, aux):
        raise AssertionError("no event expected")


def _board():
    clock = Clock()
    sent = []
    tm = fp.TmWriter(clock, D.MAX_FRAME)
    time = Time(D.APID_OBC, tm, lambda buf, n: sent.append((clock.ms, codec.decode(bytes(buf[:n])))), clock, Events())
    return clock, time, sent


def _fly(clock, time, until_ms):
    while clock.ms < until_ms:
        clock.ms += TICK_MS
        time.tick(clock.ms)


@pytest.mark.parametrize("tc_ms", [980, 990, 1000, 1500, 1980])
@pytest.mark.parametrize("rate_exp", [0, 1])
def test_reports_step_by_the_period_from_the_first_report(tc_ms, rate_exp):
    clock, time, sent = _board()
    _fly(clock, time, tc_ms - tc_ms % TICK_MS)
    clock.ms = tc_ms  # the TC lands between two ticks, as the link task takes it
    assert time.check_rate([rate_exp]) == 0 and time.set_rate([rate_exp]) == 0
    clock.ms -= tc_ms % TICK_MS
    _fly(clock, time, tc_ms + 5000 * (1 << rate_exp))
    at = [ms for ms, _ in sent]
    coarse = [p["data"]["coarse"] for _, p in sent]
    assert at[0] - tc_ms < TICK_MS + 1  # the first report: at the next tick
    assert [b - a for a, b in zip(at, at[1:])] == [1000 << rate_exp] * (len(at) - 1)
    assert [b - a for a, b in zip(coarse, coarse[1:])] == [1 << rate_exp] * (len(at) - 1)
    assert {p["data"]["rate_exp"] for _, p in sent} == {rate_exp}


def test_rate_255_stops_reports_and_out_of_range_is_refused():
    clock, time, sent = _board()
    time.set_rate([0])
    _fly(clock, time, 2000)
    time.set_rate([255])
    n = len(sent)
    _fly(clock, time, 10000)
    assert len(sent) == n > 0
    assert time.check_rate([17]) == D.ERR_ARG_OUT_OF_RANGE
    assert time.check_rate([16]) == 0 and time.check_rate([255]) == 0
