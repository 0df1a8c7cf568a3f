"""fsw.security.Reports: the rate limit of the security_rejected events (issue 11 item 7).

At most `per_s` rejections are reported one by one in each second (a second begins at the first
rejection after the previous one ended, so the first is always reported at once: the ground's
resync waits for it); the rest are counted per reason and summarised once that second is over.
"""

import pytest

from fsw.security import BAD_MAC, CLEAR_REFUSED, REPLAY, SHORT, STORE_FAILED, UNKNOWN_SPI, Reports

# the summary's order: the event security_suppressed's fields
ORDER = (UNKNOWN_SPI, BAD_MAC, REPLAY, SHORT, CLEAR_REFUSED, STORE_FAILED)


def flood(rep, reasons, now):
    return [rep.allow(r, now) for r in reasons]


def test_reports_first_rejection_is_reported_at_once():
    rep = Reports(per_s=4)
    assert rep.allow(REPLAY, 123456) is True
    assert rep.due(123456) is None  # nothing suppressed: no summary, ever
    assert rep.due(10**9) is None


def test_reports_allow_per_s_then_count_per_reason():
    rep = Reports(per_s=4)
    reasons = [ORDER[i % 5] for i in range(10000)]  # 2000 of each reason a flood can bring
    allowed = flood(rep, reasons, 5000)
    assert allowed == [True] * 4 + [False] * 9996
    assert rep.due(5999) is None  # the second is not over
    counts = rep.due(6000)
    assert counts == (2000 - 1, 2000 - 1, 2000 - 1, 2000 - 1, 2000, 0)  # the first four were reported
    assert sum(counts) + 4 == 10000
    assert rep.due(6000) is None  # one summary per second that suppressed something


def test_reports_next_second_starts_at_the_next_rejection():
    rep = Reports(per_s=2)
    flood(rep, [BAD_MAC] * 5, 0)
    assert rep.allow(BAD_MAC, 999) is False  # still the first second
    assert rep.due(1000) == (0, 4, 0, 0, 0, 0)
    assert flood(rep, [SHORT] * 3, 1500) == [True, True, False]  # a new second, from 1500
    assert rep.due(2499) is None
    assert rep.due(2500) == (0, 0, 0, 1, 0, 0)


def test_reports_a_due_summary_is_taken_before_a_late_rejection_opens_a_new_second():
    rep = Reports(per_s=1)
    flood(rep, [REPLAY] * 3, 0)
    # no tick ran in between: the caller asks due() before allow() (fsw/app.py _rejected)
    assert rep.due(4000) == (0, 0, 2, 0, 0, 0)
    assert rep.allow(REPLAY, 4000) is True


def test_reports_store_failed_saturates_at_u16():
    rep = Reports(per_s=0)
    flood(rep, [STORE_FAILED] * 70000, 0)
    assert rep.due(1000) == (0, 0, 0, 0, 0, 0xFFFF)


_MP = """
from fsw.security import Reports, BAD_MAC, REPLAY, SHORT, UNKNOWN_SPI, CLEAR_REFUSED
rep = Reports(per_s=4)
reasons = (UNKNOWN_SPI, BAD_MAC, REPLAY, SHORT, CLEAR_REFUSED)
allowed = 0
now = 1 << 40  # uptimes past the small-int range
for i in range(10000):
    if rep.allow(reasons[i % 5], now + i // 100):  # 100 rejections per ms: the flood lasts 100 ms
        allowed += 1
print(allowed, rep.due(now + 999), rep.due(now + 1000), rep.due(now + 1000))
print(rep.allow(REPLAY, now + 5000))
"""


@pytest.mark.micropython
def test_reports_on_micropython(micropython):
    out = micropython(_MP).decode().split("\n")
    assert out[0] == "4 None (1999, 1999, 1999, 1999, 2000, 0) None"
    assert out[1] == "True"
