"""A flood of rejected uplink frames on every selected target (issue 11 item 7).

10,000 bad frames (2,000 each of unknown SPI, bad MAC, replay, short and clear mode) once
produced 10,000 high-severity TM packets. Now the board reports at most 4 security_rejected
events in any second and sums up the rest in one security_suppressed event per second (counts
per reason), while HK structure obc's drop_* counters still count every frame. Checked here:
the counters count all 10,000; every rejection is either reported one by one or counted in a
summary (nothing lost, nothing twice); and the security TM stays within the rate limit over
the flight time the flood took on the board (TM time stamps), whatever that time was.
"""

import os
import threading

from ground import codec
from ground import dictionary as d
from ground.framing import frame
from ground.security import seal
from ground.mission import tm_time
from hil.plugin import EVENT_SECURITY, drop_delta, hk_obc, is_event, wait_for

EVENT_SUPPRESSED = d.EVENT_BY_NAME["security_suppressed"].id
PER_S = 4  # security_rejected events a second (fsw/security.py Reports)
EACH = 2000
KINDS = ("unknown_spi", "bad_mac", "replay", "short", "clear_refused")
COUNTER = {"unknown_spi": "drop_unknown_spi", "bad_mac": "drop_bad_mac", "replay": "drop_replay", "short": "drop_short",
           "clear_refused": "drop_clear"}
REASON = {name: code for code, name in d.SECURITY_REASONS.items()}


def bad_frames(link):
    """One wire frame of each kind (each the same every time it is sent: the board keeps no state for them)."""
    key = link.key
    ping = codec.encode_tc(17, 1, apid=1, seq_count=link.next_seq())
    mac = bytearray(seal(ping, key.spi, key.next_sn, key.key))  # an SN inside the window, not taken
    mac[-1] ^= 0x01
    return {
        "unknown_spi": frame(seal(ping, 7, 1, os.urandom(32))),
        "bad_mac": frame(bytes(mac)),
        "replay": frame(seal(ping, key.spi, 1, key.key)),  # SN 1: at or behind the floor
        "short": frame(b"\x01"),
        "clear_refused": frame(b"\x00\x00" + ping),
    }


def accounted(seen):
    """{reason name: rejections reported one by one + counted in summaries} among `seen`."""
    out = dict.fromkeys(KINDS, 0)
    for p in seen:
        if is_event(p, EVENT_SECURITY):
            name = d.SECURITY_REASONS[p["data"]["aux"]["reason"]]
            if name in out:
                out[name] += 1
        elif is_event(p, EVENT_SUPPRESSED):
            for name in KINDS:
                out[name] += p["data"]["aux"][name]
    return out


def test_flood_of_10k_bad_frames_is_counted_whole_and_reported_within_the_rate_limit(flight):
    with flight.link() as link:
        link.command("test.ping")  # the floor is past SN 1 from here on
        before = hk_obc(link)
        frames = bad_frames(link)
        wire = b"\x00" + b"".join(frames[k] for _ in range(EACH) for k in KINDS)
        # written from a thread while this one reads: a board that answered each frame would
        # otherwise block on a full downlink while the ground blocks on a full uplink
        writer = threading.Thread(target=lambda: (link.serial.write(wire), link.serial.flush()))
        writer.start()
        seen = []
        while writer.is_alive():
            seen += link.read(0.2)
        writer.join()
        want = dict.fromkeys(KINDS, EACH)
        if accounted(seen) != want:  # the last second's summary comes once that second is over
            wait_for(link, lambda p: accounted(seen) == want, timeout=120.0, seen=seen)
        after = hk_obc(link, seen)

        assert drop_delta(before, after) == {COUNTER[k]: EACH for k in KINDS}  # every frame counted
        assert accounted(seen) == want  # every rejection reported or summarised, none twice
        events = [p for p in seen if is_event(p, EVENT_SECURITY)]
        summaries = [p for p in seen if is_event(p, EVENT_SUPPRESSED)]
        assert events[0]["data"]["aux"]["reason"] == REASON["unknown_spi"]  # the first frame, at once
        assert all(p["subtype"] == 4 for p in events + summaries)  # both high severity
        # the limit: seconds begin at least 1 s apart, each with at most PER_S reports and one summary
        span = tm_time(summaries[-1]) - tm_time(events[0])
        seconds = int(span) + 1
        assert len(events) <= PER_S * seconds, (len(events), span)
        assert len(summaries) <= seconds, (len(summaries), span)
        assert len(events) + len(summaries) < EACH * len(KINDS) // 10, (len(events), len(summaries), span)
