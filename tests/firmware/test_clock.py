"""fsw.clock: flight time from the host's ticks scaled by the speed factor and the drift
correction, and virtual time (speed "max") advanced by the schedule loop alone."""

import pytest

from fsw.clock import Clock


class Ticks:
    def __init__(self):
        self.ms = 1000

    def __call__(self):
        return self.ms


def _clock(speed=1.0, drift=0.0):
    ticks = Ticks()
    return ticks, Clock(ticks, lambda a, b: a - b, speed, drift)


def test_clock_scaled_by_speed_and_drift():
    ticks, c = _clock(speed=50.0, drift=100.0)
    ticks.ms += 1000
    assert c.uptime_ms() == 50005  # 1 s real at 50x, +100 ppm
    assert (c.real_ms(50005), c.real_ms(50004)) == (1000, 999)  # the inverse, rounded down
    assert c.real_ms(0) == 0 and c.real_ms(-5) == 0


def test_clock_virtual_time_ignores_the_host_and_advances_exactly():
    ticks, c = _clock(speed="max")
    assert c.virtual
    ticks.ms += 60000
    assert c.uptime_ms() == 0
    for _ in range(500):
        c.advance(20)
    assert (c.uptime_ms(), c.uptime_s(), c.now()) == (10000, 10, (10, 0))
    assert c.real_ms(100) == 0


def test_clock_virtual_time_applies_the_drift_correction_without_losing_remainders():
    _, c = _clock(speed="max", drift=-250.0)
    for _ in range(1000):
        c.advance(20)
    assert c.now() == (19, 995000)  # 20 s * (1 - 250e-6), exact to the microsecond


def test_clock_set_cuc_in_virtual_time_keeps_uptime():
    _, c = _clock(speed="max")
    c.advance(1500)
    c.set_cuc(800000000, 32768)
    c.advance(500)
    assert c.cuc() == (800000001, 0)
    assert c.uptime_ms() == 2000


@pytest.mark.micropython
def test_clock_virtual_time_on_micropython(micropython):
    out = micropython(
        "from fsw.clock import Clock\n"
        "c = Clock(lambda: 0, lambda a, b: a - b, 'max', -250.0)\n"
        "for _ in range(1000):\n"
        "    c.advance(20)\n"
        "print(c.now(), c.uptime_ms(), c.real_ms(100))\n"
    )
    assert out.decode().split() == ["(19,", "995000)", "19995", "0"]
