"""fsw.services.st13 (ST13 large-data downlink): parts and their sizes, pacing by the link's
byte budget, resend paths with every error code, downlink_log, and flash retention. Under
CPython through the dispatcher; the nominal path also on the MicroPython unix port."""

import os
import struct

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from fsw.services.st5 import Events
from fsw.services import st13
from fsw.services.st13 import LargeData
from ground import codec
from ground import dictionary as d
from ground.export import layout
from ground.transfer import crc16

ERR = d.ERROR_BY_NAME
STARTED = d.EVENT_BY_NAME["transfer_started"].id
STORAGE_FAULT = d.EVENT_BY_NAME["storage_fault"].id
PART_NAMES = ("large.first_part", "large.intermediate_part", "large.last_part")


class Clock:
    def cuc(self):
        return (100, 0)


class Board:
    """The OBC's ST5 and ST13 behind a dispatcher, wired as fsw/app.py wires them."""

    def __init__(self, max_frame=D.MAX_FRAME, baud=921600):
        self.tm = fp.TmWriter(Clock(), max_frame)
        self.sent = []
        self.dispatcher = Dispatcher(self.tm, self.send)
        self.events = Events(D.APID_OBC, self.tm, self.send)
        self.ld = LargeData(D.APID_OBC, self.tm, self.send, self.events, max_frame, baud)
        self.events.send = self.ld.tap(self.send)
        self.events.register(self.dispatcher)
        self.ld.register(self.dispatcher)
        self.now = 0
        self.raw = []

    def send(self, buf, n):
        self.raw.append(n)
        self.sent.append(codec.decode(bytes(buf[:n])))

    def take(self):
        out, self.sent = self.sent, []
        return out

    def tc(self, name, values=None, seq=1):
        raw = codec.encode_command(d.command(name), values, seq_count=seq)
        self.dispatcher.handle(raw, 0, len(raw))
        return self.take()

    def resend(self, tid, parts=(), seq=1):
        return self.tc("large.resend", {"transaction": tid, "parts": [{"part": n} for n in parts]}, seq)

    def run(self, ticks=1, step=20):
        for _ in range(ticks):
            self.now += step
            self.ld.tick(self.now)
        return self.take()

    def drain(self, limit=10000):
        out = []
        for _ in range(limit):
            got = self.run()
            out += got
            if not self.ld.jobs:
                return out
        raise AssertionError("still sending after %d ticks" % limit)


def parts_of(packets):
    return [(p["name"], p["data"]["transaction"], p["data"]["part"], bytes(p["data"]["data"])) for p in packets if p["name"] in PART_NAMES]


def started(packets):
    return [p["data"]["aux"] for p in packets if p["name"].startswith("event.") and p["data"]["event_id"] == STARTED]


def errors(packets):
    return [(p["name"], p["data"].get("error")) for p in packets if p["name"].startswith("verification.") and "failure" in p["name"]]


@pytest.fixture
def flash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def product(n, seed=7):
    return bytes((i * 31 + seed) & 0xFF for i in range(n))


# --- parts and sizes -----------------------------------------------------------------------


def test_st13_start_announces_then_sends_first_intermediate_last_parts_byte_exact(flash):
    b = Board()
    data = product(1000)
    tid = b.ld.start(2, data)
    (ev,) = started(b.take())
    assert ev == {"transaction": tid, "product": 2, "size": 1000, "parts": 6, "crc": crc16(data)}
    got = parts_of(b.drain())
    assert [(n, t, k) for n, t, k, _ in got] == [("large.first_part", tid, 0)] + [("large.intermediate_part", tid, k) for k in range(1, 5)] + [("large.last_part", tid, 5)]
    assert [len(x) for *_, x in got] == [st13.PART_MAX] * 5 + [1000 - 5 * st13.PART_MAX]
    assert b"".join(x for *_, x in got) == data


@pytest.mark.parametrize("size", [1, st13.PART_MAX - 1, st13.PART_MAX, st13.PART_MAX + 1, 3 * st13.PART_MAX])
def test_st13_part_count_and_last_part_at_size_boundaries(flash, size):
    b = Board()
    data = product(size)
    b.ld.start(1, data)
    (ev,) = started(b.take())
    got = parts_of(b.drain())
    assert ev["parts"] == len(got) == -(-size // st13.PART_MAX)
    assert got[-1][0] == "large.last_part"  # a one-part product is its last part
    assert b"".join(x for *_, x in got) == data


@pytest.mark.parametrize("max_frame", [240, 128])
def test_st13_every_part_packet_fits_the_boards_frame(flash, max_frame):
    b = Board(max_frame=max_frame)
    b.ld.start(1, product(2000))
    b.take()
    b.raw = []
    assert b.drain()
    assert max(b.raw) <= max_frame
    assert b.ld.part_size == min(st13.PART_MAX, max_frame - 25)


def test_st13_start_refuses_unknown_product_empty_and_oversize(flash):
    b = Board()
    for prod, data in ((0, b"x"), (4, b"x"), (1, b""), (1, bytes(65536))):
        with pytest.raises(ValueError):
            b.ld.start(prod, data)
    assert b.take() == [] and os.listdir(flash) == []


def test_st13_transaction_ids_count_up_and_continue_after_reboot(flash):
    b = Board()
    assert [b.ld.start(1, b"a"), b.ld.start(1, b"b")] == [1, 2]
    assert Board().ld.start(1, b"c") == 3  # a reboot finds the files and goes on after the newest


# --- pacing --------------------------------------------------------------------------------


def test_st13_pacing_sends_a_few_parts_per_tick_at_921600_and_fewer_on_a_slow_uart(flash):
    fast = Board(baud=921600)
    fast.ld.start(1, product(20 * st13.PART_MAX))
    fast.take()
    per_tick = [len(fast.run()) for _ in range(4)]
    # half of 921600 baud for ST13: 46 octets per ms, 920 per 20 ms tick, a part costs 225 on the wire
    assert per_tick == [0, 4, 4, 4]  # the first tick only starts the clock
    slow = Board(baud=115200)
    slow.ld.start(1, product(20 * st13.PART_MAX))
    slow.take()
    counts = [len(slow.run()) for _ in range(12)]
    assert max(counts) == 1 and 3 <= sum(counts) <= 6


def test_st13_pacing_keeps_within_half_the_link_rate(flash):
    b = Board(baud=921600)
    b.ld.start(1, product(60000))
    b.take()
    b.raw = []
    ticks = 0
    while b.ld.jobs:
        b.run()
        ticks += 1
    wire = sum(n + n // 254 + 2 for n in b.raw)  # COBS overhead and delimiter per frame
    assert wire <= (ticks * 20 + 40) * 921600 // 10 // 1000 // 2


def test_st13_no_burst_after_an_idle_spell(flash):
    b = Board()
    b.run(50)  # idle for a second
    b.ld.start(1, product(40 * st13.PART_MAX))
    b.take()
    assert len(b.run(1, step=5000)) <= 9  # capped at about two ticks' worth


# --- resend -----------------------------------------------------------------------------------


def test_st13_resend_some_parts_reannounces_and_sends_them_in_order(flash):
    b = Board()
    data = product(1000)
    tid = b.ld.start(3, data)
    b.drain()
    replies = b.resend(tid, [4, 1, 4])  # a repeat in one request is sent once
    assert errors(replies) == []
    out = b.drain()
    assert started(out) == [{"transaction": tid, "product": 3, "size": 1000, "parts": 6, "crc": crc16(data)}]
    assert [(name, k, x) for name, _, k, x in parts_of(out)] == [
        ("large.intermediate_part", 1, data[192:384]),
        ("large.intermediate_part", 4, data[768:960]),
    ]


def test_st13_resend_empty_list_sends_every_part(flash):
    b = Board()
    data = product(500)
    tid = b.ld.start(1, data)
    b.drain()
    b.resend(tid, [])
    assert b"".join(x for *_, x in parts_of(b.drain())) == data


def test_st13_resend_queues_behind_the_transfer_in_progress(flash):
    b = Board()
    done = b.ld.start(1, product(300))
    b.drain()
    busy = b.ld.start(1, product(2000))  # 11 parts
    early = [k for _, _, k, _ in parts_of(b.run(1))]
    assert 0 < len(early) < 11  # under way
    b.resend(done, [0])
    order = [(t, k) for _, t, k, _ in parts_of(b.drain())]
    assert order == [(busy, k) for k in range(len(early), 11)] + [(done, 0)]


def test_st13_resend_while_its_own_first_transfer_is_queued_is_absorbed(flash):
    b = Board()
    busy = b.ld.start(1, product(2000))
    queued = b.ld.start(1, product(300))
    b.run(2)
    b.resend(queued, [1])  # every part of it is queued already
    order = [(t, k) for _, t, k, _ in parts_of(b.drain())]
    assert order == [(busy, k) for k in range(4, 11)] + [(queued, 0), (queued, 1)]


def test_st13_resend_absorbed_by_its_queued_transfer_announces_it_again_when_it_starts(flash):
    # a ground that asks for a transfer whose start it missed (`ground fetch --transaction N` after
    # `ground send large.downlink_log`) gets its transfer_started, CRC and size with the parts
    b = Board()
    busy = b.ld.start(1, product(2000))
    queued = b.ld.start(1, product(300))
    assert [e["transaction"] for e in started(b.take())] == [busy, queued]  # seen by the ground that started them
    b.run(2)
    b.resend(queued, [])
    out = b.drain()
    assert [e["transaction"] for e in started(out)] == [queued]
    assert [k for _, t, k, _ in parts_of(out) if t == queued] == [0, 1]


def test_st13_resend_of_a_transaction_already_queued_merges_and_sends_nothing_twice(flash):
    b = Board()
    busy = b.ld.start(1, product(2000))
    tid = b.ld.start(1, product(1000))
    b.run(2)
    b.drain()  # both done
    b.ld.start(1, product(2000))
    b.run(2)  # a third is in progress; resends queue behind it
    b.resend(tid, [2, 3])
    b.resend(tid, [3, 5], seq=2)
    b.resend(busy, [0], seq=3)
    out = b.drain()
    again = [(t, k) for _, t, k, _ in parts_of(out) if t != 3]
    assert again == [(tid, 2), (tid, 3), (tid, 5), (busy, 0)]
    assert [e["transaction"] for e in started(out)] == [tid, busy]


def test_st13_resend_unknown_transaction_fails_at_start(flash):
    b = Board()
    out = b.resend(42, [])
    assert errors(out) == [("verification.start_failure", ERR["UNKNOWN_TRANSACTION"])]
    assert b.ld.jobs == []


def test_st13_resend_part_past_the_end_is_out_of_range_and_queues_nothing(flash):
    b = Board()
    tid = b.ld.start(1, product(1000))  # parts 0..5
    b.drain()
    assert errors(b.resend(tid, [5, 6])) == [("verification.start_failure", ERR["ARG_OUT_OF_RANGE"])]
    assert errors(b.resend(tid, [0xFFFF])) == [("verification.start_failure", ERR["ARG_OUT_OF_RANGE"])]
    assert b.ld.jobs == [] and b.drain() == []


def test_st13_resend_with_a_short_payload_is_bad_length(flash):
    b = Board()
    raw = codec.encode_command(d.command("large.resend"), {"transaction": 1, "parts": [{"part": 0}]}, seq_count=1)
    bad = bytearray(raw[:-3])
    bad[4:6] = (len(bad) + 2 - 7).to_bytes(2, "big")
    bad += codec.crc16(bytes(bad)).to_bytes(2, "big") if hasattr(codec, "crc16") else crc16(bytes(bad)).to_bytes(2, "big")
    b.dispatcher.handle(bad, 0, len(bad))
    assert errors(b.take()) == [("verification.acceptance_failure", ERR["BAD_LENGTH"])]


# --- flash retention --------------------------------------------------------------------------


def test_st13_keeps_the_last_four_transfers_and_deletes_older_ones(flash):
    b = Board()
    tids = [b.ld.start(1, product(100, seed=i)) for i in range(6)]
    names = sorted(os.listdir(flash))
    assert len(names) == st13.KEEP == 4
    assert [int(n.split("_")[1]) for n in names] == tids[2:]
    b.drain()
    assert errors(b.resend(tids[1], [])) == [("verification.start_failure", ERR["UNKNOWN_TRANSACTION"])]
    assert errors(b.resend(tids[2], [], seq=2)) == []


def test_st13_a_deleted_transfer_is_not_sent_even_if_it_was_queued(flash):
    b = Board()
    doomed = b.ld.start(1, product(1000))
    for i in range(st13.KEEP):
        b.ld.start(1, product(10, seed=i))
    assert doomed not in [t for _, t, _, _ in parts_of(b.drain())]


def test_st13_resend_after_reboot_reads_the_product_from_flash(flash):
    b = Board()
    data = product(700)
    tid = b.ld.start(2, data)
    b.drain()
    again = Board()  # reboot: only the files remain
    again.resend(tid, [])
    out = again.drain()
    assert started(out) == [{"transaction": tid, "product": 2, "size": 700, "parts": 4, "crc": crc16(data)}]
    assert b"".join(x for *_, x in parts_of(out)) == data


def test_st13_reboot_removes_a_save_cut_by_a_reset(flash):
    (flash / "st13_00009_1_abcd.dat.tmp").write_bytes(b"torn")
    Board()
    assert os.listdir(flash) == []


def test_st13_write_failure_raises_oserror_and_announces_nothing(flash, monkeypatch):
    b = Board()

    def full(name, data):
        raise OSError(28, "no space")

    monkeypatch.setattr(st13.storage, "save", full)
    with pytest.raises(OSError):
        b.ld.start(1, b"abc")
    assert b.take() == [] and b.ld.jobs == []


def test_st13_file_gone_from_flash_makes_later_resends_unknown(flash):
    b = Board()
    tid = b.ld.start(1, product(400))
    b.drain()
    for name in os.listdir(flash):
        os.remove(name)
    b.resend(tid, [])
    assert parts_of(b.drain()) == []
    assert errors(b.resend(tid, [], seq=2)) == [("verification.start_failure", ERR["UNKNOWN_TRANSACTION"])]


def test_st13_torn_file_is_refused_with_a_storage_fault_not_sent(flash):
    b = Board()
    tid = b.ld.start(1, product(1000))
    b.drain()
    (name,) = os.listdir(flash)
    with open(name, "r+b") as f:
        f.truncate(300)
    b.resend(tid, [5])
    out = b.drain()
    assert parts_of(out) == []
    assert [p["data"]["aux"] for p in out if p["name"].startswith("event.") and p["data"]["event_id"] == STORAGE_FAULT] == [{"store": 6, "action": 1}]


# --- downlink_log ------------------------------------------------------------------------------


def test_st13_downlink_log_sends_the_recent_events_as_text_product_3(flash):
    b = Board()
    b.events.emit(D.EVT_BOOT, (3, 1))
    b.events.emit(D.EVT_PARAM_CHANGED, (2,))
    out = b.tc("large.downlink_log")
    assert [p["name"] for p in out][-1] == "verification.completion_success"
    (ev,) = started(out)
    assert ev["product"] == 3
    data = b"".join(x for *_, x in parts_of(b.drain()))
    assert (len(data), crc16(data)) == (ev["size"], ev["crc"])
    lines = data.decode().splitlines()
    assert lines[0].startswith("# mitra event log") and "2 events" in lines[0]
    assert lines[1:] == ["100 apid=1 sev=1 event=1 aux=0000000301", "100 apid=1 sev=2 event=3 aux=0002"]


def test_st13_event_log_keeps_the_last_lines_only_oldest_first(flash):
    b = Board()
    for i in range(st13.LOG_LINES + 5):
        b.events.emit(D.EVT_PARAM_CHANGED, (i,))
    lines = b.ld.log_product().decode().splitlines()
    assert "%d events" % st13.LOG_LINES in lines[0]
    assert [ln.rsplit("aux=", 1)[1] for ln in lines[1:]] == ["%04x" % i for i in range(5, st13.LOG_LINES + 5)]


def test_st13_event_log_slot_holds_the_longest_event_of_every_vehicle():
    longest = max(struct.calcsize(">" + fmt) for fmt in (layout(e.aux) for e in d.EVENTS))
    assert 0 < longest <= st13._LOG_AUX
    assert st13._LOG_HEAD == struct.calcsize(st13._LOG_FMT) and st13._LOG_HEAD + st13._LOG_AUX <= st13._LOG_SLOT


def test_st13_downlink_log_write_failure_is_storage_failed_with_storage_fault_6(flash, monkeypatch):
    b = Board()

    def full(name, data):
        raise OSError(28, "no space")

    monkeypatch.setattr(st13.storage, "save", full)
    out = b.tc("large.downlink_log")
    assert errors(out) == [("verification.completion_failure", ERR["STORAGE_FAILED"])]
    faults = [p["data"]["aux"] for p in out if p["name"].startswith("event.") and p["data"]["event_id"] == STORAGE_FAULT]
    assert faults == [{"store": 6, "action": 2}]


# --- MicroPython -------------------------------------------------------------------------------

_MPY_SNIPPET = """
import os
from fsw import dictionary as D
from fsw import packet as fp
from fsw.services.st5 import Events
from fsw.services.st13 import LargeData
class Clock:
    def cuc(self):
        return (100, 0)
tm = fp.TmWriter(Clock(), 240)
out = []
def send(buf, n):
    out.append(bytes(buf[:n]))
ev = Events(1, tm, send)
ld = LargeData(1, tm, send, ev, 240, 115200)
ev.send = ld.tap(send)
data = bytes((i * 31 + 7) & 0xFF for i in range(1000))
tid = ld.start(2, data)
t = 0
while ld.jobs:
    t += 20
    ld.tick(t)
ld2 = LargeData(1, tm, send, ev, 240, 115200)
print(tid, ld2.next_id, len(os.listdir()))
import sys
for p in out:
    sys.stdout.write(p.hex() + "\\n")
"""


@pytest.mark.micropython
def test_st13_on_the_micropython_unix_port_sends_the_same_packets_as_cpython(micropython, tmp_path, monkeypatch):
    lines = micropython(_MPY_SNIPPET, cwd=tmp_path).decode().split()
    assert lines[:3] == ["1", "2", "1"]
    packets = [codec.decode(bytes.fromhex(h)) for h in lines[3:]]
    (ev,) = started(packets)
    data = b"".join(x for *_, x in parts_of(packets))
    assert data == product(1000) and (ev["size"], ev["crc"]) == (1000, crc16(data))
    assert max(len(bytes.fromhex(h)) for h in lines[3:]) <= 240
