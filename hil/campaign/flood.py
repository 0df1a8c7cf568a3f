"""A flood of bad frames at a live board, with its free heap and responsiveness recorded.

Each round writes a burst of bad frames in one go, each frame with one defect and so one
expected drop reason (the counters of HK structure obc), then a good ping right behind it,
then an HK one-shot over the same line:

| kind        | the frame                                          | counted as        |
|-------------|----------------------------------------------------|-------------------|
| cobs        | a code octet pointing past the delimiter           | drop_cobs         |
| oversize    | a body of 1100 octets                              | drop_oversize     |
| short       | a 1-octet body                                     | drop_short        |
| clear       | SPI 0 (clear mode) to a board with security on     | drop_clear        |
| unknown_spi | a sealed ping under SPI 7                          | drop_unknown_spi  |
| bad_mac     | a sealed ping with a flipped MAC octet             | drop_bad_mac      |
| replay      | a sealed ping under SN 1 (long behind the floor)   | drop_replay       |
| length      | authenticated, the length field one off            | drop_length       |
| pec         | authenticated, the PEC one off                     | drop_pec          |

Checks: every bad frame is counted once under its own reason and under no other (exact
counts per round), the ping behind each burst completes (the board keeps answering), and
once a scheduled collection has run after the flood the free heap is back where it was
before it (no leak). Figures: the ping's round trip behind a burst against an idle one,
heap_free right after each burst (garbage included: the board collects about once a
second) and the heap_free limit violations the board reported meanwhile, the garbage each
kind of bad frame leaves (full runs), and the TM the board sent per bad frame (issue 11,
defect 7: one high-severity event per rejected frame).
"""

import os
import random
import statistics
import struct
import time

from ground import codec
from ground import dictionary as d
from ground.errors import MitraError
from ground.framing import cobs_encode, frame
from ground.link import LinkError
from ground.security import seal
from hil.campaign.report import Result
from hil.campaign.target import Target
from hil.plugin import drop_delta, hk_obc

KINDS = ("cobs", "oversize", "short", "clear", "unknown_spi", "bad_mac", "replay", "length", "pec")
BURST = 90  # bad frames per round (10 of each kind), written at once
HEAP_LIMIT = next(lim.low for lim in d.LIMITS if lim.field == "heap_free")
LEAK_MARGIN = 4096  # octets of free heap a flood may cost for good (fragmentation, counters growing into longs)
GC_WAIT_S = 1.3  # real time for the schedule loop's collection (every 50 ticks of 20 ms) to have run
PER_KIND = 30  # frames of one kind for the garbage-per-frame figure
EVENT_LIMIT = d.EVENT_BY_NAME["limit_violation"].id


def _ping(seq):
    return codec.encode_tc(17, 1, apid=1, seq_count=seq & 0x3FFF)


def _reseal_pec(packet, delta_len=0, delta_pec=0):
    raw = bytearray(packet)
    struct.pack_into(">H", raw, 4, len(raw) - 7 + delta_len)
    struct.pack_into(">H", raw, len(raw) - 2, (codec.crc16(bytes(raw[:-2])) + delta_pec) & 0xFFFF)
    return bytes(raw)


def bad_frame(kind, link, rng, seq):
    """The wire octets of one bad frame of `kind` (delimiter included)."""
    key = link.key
    if kind == "cobs":
        body = cobs_encode(os.urandom(20))
        return bytes([len(body) + 40]) + body[1:] + b"\x00"  # the first block promises more than the frame has
    if kind == "oversize":
        return frame(bytes(rng.randrange(1, 256) for _ in range(1100)))
    if kind == "short":
        return frame(b"\x01")
    if kind == "clear":
        return frame(b"\x00\x00" + _ping(seq))
    if kind == "unknown_spi":
        return frame(seal(_ping(seq), 7, 1, os.urandom(32)))
    if kind == "bad_mac":
        body = bytearray(seal(_ping(seq), key.spi, key.take_sn(), key.key))
        body[-1] ^= 0x01
        return frame(bytes(body))
    if kind == "replay":
        return frame(seal(_ping(seq), key.spi, 1, key.key))
    if kind == "length":
        return frame(seal(_reseal_pec(_ping(seq), delta_len=1), key.spi, key.take_sn(), key.key))
    if kind == "pec":
        return frame(seal(_reseal_pec(_ping(seq), delta_pec=1), key.spi, key.take_sn(), key.key))
    raise KeyError(kind)


def hk(link):
    """HK obc by a one-shot: (its parameters, every packet read on the way)."""
    packets = []
    return hk_obc(link, seen=packets, timeout=10.0), packets


def _limit_events(packets):
    return sum(1 for p in packets if p["service"] == 5 and p["data"].get("event_id") == EVENT_LIMIT)


def settled_heap(link):
    """heap_free once a scheduled collection has run (garbage gone): (heap_free, packets read)."""
    time.sleep(GC_WAIT_S)
    params, packets = hk(link)
    return params["heap_free"], packets


def garbage_per_frame(link, rng, seq):
    """{kind: octets of heap one bad frame of it leaves to the next collection}."""
    out = {}
    for kind in KINDS:
        settled_heap(link)
        h0 = hk(link)[0]["heap_free"]
        wire = b"".join(bad_frame(kind, link, rng, seq + i) for i in range(PER_KIND))
        link.serial.write(b"\x00" + wire)
        link.command("test.ping", timeout=30.0)
        h1 = hk(link)[0]["heap_free"]
        out[kind] = (h0 - h1) // PER_KIND if h1 <= h0 else None  # None: a collection ran in between
    return out


def run(trials=4, seed=0, runtime="micropython", port=None, key_name=None):
    """`trials` rounds of BURST bad frames each (and, from 10 rounds on, the garbage per kind)."""
    res = Result("flood", "Flood of bad frames: counting, heap and responsiveness")
    rng = random.Random(seed)
    count_row = res.row("each bad frame counted once, under its own reason")
    answer_row = res.row("the ping behind each burst completes")
    heap_row = res.row("free heap back after a collection (no leak, margin %d B)" % LEAK_MARGIN)
    with Target(runtime=runtime, port=port, key_name=key_name) as target:
        link = target.link()
        try:
            idle = []
            for _ in range(5):
                t0 = time.monotonic()
                link.command("test.ping", timeout=10.0)
                idle.append(time.monotonic() - t0)
            heap0, _ = settled_heap(link)
            before, _ = hk(link)
            heaps, rtts, tm_during, up_octets, limits = [], [], 0, 0, 0
            sent_total = dict.fromkeys(KINDS, 0)
            seq = rng.randrange(0x4000)
            for r in range(trials):
                kinds = [k for k in KINDS for _ in range(BURST // len(KINDS))]
                rng.shuffle(kinds)
                wire = bytearray(b"\x00")
                for k in kinds:
                    seq += 1
                    wire += bad_frame(k, link, rng, seq)
                    sent_total[k] += 1
                up_octets += len(wire)
                t0 = time.monotonic()
                link.serial.write(bytes(wire))
                answer_row.trials += 1
                try:
                    res_ping = link.command("test.ping", timeout=30.0)
                    rtts.append(time.monotonic() - t0)
                    tm_during += len(res_ping.packets)
                    limits += _limit_events(res_ping.packets)
                except (LinkError, MitraError) as exc:
                    answer_row.fail("round %d: %s" % (r, exc))
                after, packets = hk(link)
                tm_during += len(packets)
                limits += _limit_events(packets)
                heaps.append(after["heap_free"])
                count_row.trials += len(kinds)
                got = {k[5:]: n for k, n in drop_delta(before, after).items()}
                want = {k: kinds.count(k) for k in KINDS}
                if got != want:
                    count_row.fail("round %d: counted %s, sent %s" % (r, got, want))
                before = after
            heap_row.trials = 1
            heap1, packets = settled_heap(link)
            limits += _limit_events(packets)
            if heap1 < heap0 - LEAK_MARGIN:
                heap_row.fail("heap_free %d B after the flood and a collection, %d B before" % (heap1, heap0))
            per_kind = garbage_per_frame(link, rng, seq) if trials >= 10 else None
            if target.sitl is not None and target.sitl.returncode is not None:
                answer_row.fail("the flight app exited with code %s" % target.sitl.returncode)
        finally:
            link.close()
    frames = sum(sent_total.values())
    count_row.figures = "%d frames, %d octets up; %.2f TM packets down per bad frame" % (frames, up_octets, tm_during / max(frames, 1))
    answer_row.figures = "ping RTT idle median %.0f ms; behind a burst of %d frames median %.0f ms, max %.0f ms" % (
        1000 * statistics.median(idle), BURST, 1000 * statistics.median(rtts) if rtts else float("nan"),
        1000 * max(rtts) if rtts else float("nan"))
    heap_row.figures = "heap_free settled %d B before, %d B after; right after a burst min %d B (heap_free limit %d B: %d limit_violation events)" % (
        heap0, heap1, min(heaps) if heaps else 0, HEAP_LIMIT, limits)
    if per_kind:
        heap_row.figures += "; garbage per bad frame: " + ", ".join(
            "%s %s" % (k, "n/a (a collection ran meanwhile)" if v is None else "%d B" % v) for k, v in per_kind.items())
    res.notes.append("target: %s; %d rounds of %d bad frames (%s, 10 each)" % (target.name, trials, BURST, ", ".join(KINDS)))
    return res
