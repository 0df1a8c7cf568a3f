"""ground.transfer: reassembly of ST13 transactions from decoded TM (out of order, duplicates,
lost parts, lost last part, lost start event, CRC mismatch), the resend request, product
files by kind, and fetch()'s resume loop against a scripted link."""

import pytest

from ground import codec
from ground import dictionary as d
from ground import transfer
from ground.link import CommandFailed
from ground.transfer import Reassembler, TransferError, crc16, fetch, resend_request, write_product

STARTED = d.EVENT_BY_NAME["transfer_started"].id
PART = 64


def part_packet(tid, k, count, data):
    """A decoded TM 13.x exactly as the link hands it over (encoded and decoded through the codec)."""
    name = "large.first_part" if k == 0 and count > 1 else "large.last_part" if k == count - 1 else "large.intermediate_part"
    service, subtype = d.key(name)
    raw = codec.encode_tm(service, subtype, {"transaction": tid, "part": k, "data": data[k * PART : (k + 1) * PART]}, apid=1)
    return codec.decode(raw)


def started_packet(tid, product, data, parts=None, crc=None):
    aux = {"transaction": tid, "product": product, "size": len(data), "parts": parts if parts is not None else -(-len(data) // PART), "crc": crc16(data) if crc is None else crc}
    raw = codec.encode_tm(5, 1, {"event_id": STARTED, "aux": aux}, apid=1)
    return codec.decode(raw)


def packets(tid, data, product=2):
    count = -(-len(data) // PART)
    return started_packet(tid, product, data), [part_packet(tid, k, count, data) for k in range(count)]


DATA = bytes((i * 13 + 5) & 0xFF for i in range(10 * PART - 17))  # 10 parts, a short last one


def test_crc16_check_value():
    assert crc16(b"123456789") == 0x29B1


def test_reassembly_in_order_is_complete_and_checks():
    start, parts = packets(7, DATA)
    r = Reassembler()
    for p in [start] + parts:
        assert r.feed(p) == 7
    t = r.transfers[7]
    assert t.complete and t.missing() == [] and t.data() == DATA and t.product == "spectrum"


def test_reassembly_out_of_order_and_event_last():
    start, parts = packets(7, DATA)
    r = Reassembler()
    for p in parts[::-1] + [start]:
        r.feed(p)
    assert r.transfers[7].data() == DATA


def test_reassembly_ignores_duplicates_and_counts_them():
    start, parts = packets(7, DATA)
    r = Reassembler()
    for p in [start] + parts + parts[3:5] + parts[:1]:
        r.feed(p)
    t = r.transfers[7]
    assert t.duplicates == 3 and t.data() == DATA


def test_reassembly_lists_lost_parts_and_refuses_the_incomplete_product():
    start, parts = packets(7, DATA)
    r = Reassembler()
    for k, p in enumerate([start] + parts):
        if k - 1 not in (2, 3, 7):
            r.feed(p)
    t = r.transfers[7]
    assert not t.complete and t.missing() == [2, 3, 7]
    with pytest.raises(TransferError, match="transaction 7: incomplete, missing parts 2-3, 7"):
        t.data()
    assert resend_request(t) == [2, 3, 7]


def test_reassembly_lost_last_part_without_event_knows_no_count_and_asks_past_the_highest():
    _, parts = packets(7, DATA)
    r = Reassembler()
    for p in parts[:-1]:
        r.feed(p)
    t = r.transfers[7]
    assert t.total is None and not t.complete and t.missing() == []
    assert resend_request(t) == [9]  # the board's answer re-announces the transfer: the count follows
    r.feed(parts[-1])
    assert t.complete and t.data() == DATA


def test_reassembly_lost_last_part_with_event_knows_it_is_missing():
    start, parts = packets(7, DATA)
    r = Reassembler()
    for p in [start] + parts[:-1]:
        r.feed(p)
    assert r.transfers[7].missing() == [9]


def test_reassembly_lost_start_event_completes_from_the_last_part_unchecked():
    _, parts = packets(7, DATA)
    r = Reassembler()
    for p in parts[5:] + parts[:5]:
        r.feed(p)
    t = r.transfers[7]
    assert t.complete and not t.announced and t.product is None and t.data() == DATA


def test_reassembly_crc_mismatch_is_refused_with_both_values():
    start, parts = packets(7, DATA)
    bad = started_packet(7, 2, DATA, crc=crc16(DATA) ^ 0x0101)
    r = Reassembler()
    for p in [bad] + parts:
        r.feed(p)
    with pytest.raises(TransferError, match="transaction 7: CRC mismatch: expected 0x%04X, got 0x%04X" % (crc16(DATA) ^ 0x0101, crc16(DATA))):
        r.transfers[7].data()


def test_reassembly_corrupted_part_fails_the_crc():
    start, parts = packets(7, DATA)
    parts[4]["data"]["data"] = bytes(len(parts[4]["data"]["data"]))
    r = Reassembler()
    for p in [start] + parts:
        r.feed(p)
    with pytest.raises(TransferError, match="CRC mismatch"):
        r.transfers[7].data()


def test_reassembly_size_mismatch_is_refused():
    _, parts = packets(7, DATA)
    r = Reassembler()
    r.feed(started_packet(7, 2, DATA + b"x", parts=10))
    for p in parts:
        r.feed(p)
    with pytest.raises(TransferError, match="size mismatch: expected %d octets, got %d" % (len(DATA) + 1, len(DATA))):
        r.transfers[7].data()


def test_reassembly_event_and_last_part_disagreeing_on_the_count_is_refused():
    _, parts = packets(7, DATA)
    r = Reassembler()
    r.feed(started_packet(7, 2, DATA, parts=12))
    for p in parts:
        r.feed(p)
    t = r.transfers[7]
    assert t.missing() == [10, 11]  # the event's count wins
    assert "last part is 9, but 12 known before" in t.conflict


def test_reassembly_keeps_transactions_apart_and_ignores_other_telemetry():
    a_start, a = packets(1, DATA)
    b_data = DATA[:100]
    b_start, b = packets(2, b_data, product=1)
    r = Reassembler()
    pong = codec.decode(codec.encode_tm(17, 2, {}, apid=1))
    mixed = [a_start, b_start, pong] + [x for pair in zip(a, b + [None] * 10) for x in pair if x is not None]
    for p in mixed:
        r.feed(p)
    assert r.feed(pong) is None
    assert (r.transfers[1].data(), r.transfers[2].data()) == (DATA, b_data)


def test_reassembly_a_reused_transaction_id_with_another_product_starts_over():
    start, parts = packets(3, DATA)
    r = Reassembler()
    for p in [start] + parts[:4]:
        r.feed(p)
    other = DATA[::-1]
    start2, parts2 = packets(3, other)
    for p in [start2] + parts2:
        r.feed(p)
    assert r.transfers[3].data() == other


def test_write_product_by_kind_log_as_text(tmp_path):
    # image and spectrum have their own writers (ground.image, transfer.write_spectrum)
    start, parts = packets(12, DATA, product=3)
    r = Reassembler()
    for p in [start] + parts:
        r.feed(p)
    path = write_product(r.transfers[12], tmp_path / "out")
    assert path.name == "%s-00012.txt" % d.obc.PRODUCTS[3]
    assert path.read_bytes() == DATA


def test_write_spectrum_csv_and_png_from_its_layout(tmp_path):
    import struct

    from ground.transfer import write_spectrum

    samples = [(0.0, 0.02), (0.5, 1.5), (1.5, 4.25)]
    data = struct.pack(">Hfff", len(samples), 1.5, 410.0, -2.5) + b"".join(struct.pack(">ff", *s) for s in samples)
    path = write_spectrum(tmp_path, "spectrum-00003", data)
    assert path.read_text().splitlines() == [
        "# hole depth 1.500 m at x 410.00 m, y -2.50 m",
        "depth_m,abundance_wt_pct",
        "0.0000,0.0200",
        "0.5000,1.5000",
        "1.5000,4.2500",
    ]
    assert (tmp_path / "spectrum-00003.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="spectrum: 29 octets for 3 samples \\(expected 38\\)"):
        write_spectrum(tmp_path, "bad", data[:29])


def test_write_product_uses_a_replaced_writer(tmp_path, monkeypatch):
    start, parts = packets(12, DATA, product=1)
    r = Reassembler()
    for p in [start] + parts:
        r.feed(p)

    def png(directory, stem, data):
        path = directory / (stem + ".png")
        path.write_bytes(b"PNG" + data[:4])
        return path

    monkeypatch.setitem(transfer.WRITERS, "image", png)
    assert write_product(r.transfers[12], tmp_path).read_bytes() == b"PNG" + DATA[:4]


def test_write_product_refuses_an_incomplete_transfer_and_writes_nothing(tmp_path):
    start, parts = packets(12, DATA)
    r = Reassembler()
    for p in [start] + parts[:-1]:
        r.feed(p)
    with pytest.raises(TransferError):
        write_product(r.transfers[12], tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- fetch() against a scripted board -----------------------------------------------------------


class ScriptedLink:
    """Plays a board: a transfer's packets on read(), resend answered from the product
    (re-announced, then the parts asked for); `lose` drops parts on their first trip."""

    def __init__(self, tid, data, initial=True, lose=(), known=True):
        self.tid, self.data, self.known = tid, data, known
        self.count = -(-len(data) // PART)
        self.queue = []
        self.lose = set(lose)
        self.requests = []
        if initial:
            self._send(range(self.count), announce=True)

    def _send(self, numbers, announce):
        if announce:
            self.queue.append(started_packet(self.tid, 3, self.data))
        for k in numbers:
            if k in self.lose:
                self.lose.discard(k)
                continue
            self.queue.append(part_packet(self.tid, k, self.count, self.data))

    def read(self, timeout):
        out, self.queue = self.queue, []
        return out

    def command(self, name, data, on_packet=None, **_):
        assert name == "large.resend"
        parts = [x["part"] for x in data["parts"]]
        self.requests.append(parts)
        if data["transaction"] != self.tid or not self.known:
            raise CommandFailed("start", d.ERROR_BY_NAME["UNKNOWN_TRANSACTION"], name, [])
        self._send(parts or range(self.count), announce=True)


def test_fetch_asks_for_the_lost_parts_and_completes():
    link = ScriptedLink(5, DATA, lose={1, 8})
    t = fetch(link, quiet=0.0)
    assert t.data() == DATA and link.requests == [[1, 8]]


def test_fetch_recovers_a_lost_last_part_and_start_event():
    link = ScriptedLink(5, DATA, initial=False)
    link.queue = [part_packet(5, k, 10, DATA) for k in range(9)]  # no event, no last part
    t = fetch(link, quiet=0.0)
    assert link.requests == [[9]] and t.announced and t.data() == DATA


def test_fetch_of_a_given_transaction_asks_for_every_part_first():
    link = ScriptedLink(5, DATA, initial=False)
    t = fetch(link, transaction=5, quiet=0.0)
    assert link.requests == [[]] and t.data() == DATA


def test_fetch_gives_up_after_the_retry_limit_naming_the_parts():
    link = ScriptedLink(5, DATA, lose={3})
    link.lose = {3}
    original = link._send

    def always_lose(numbers, announce):
        original([k for k in numbers if k != 3], announce)

    link._send = always_lose
    with pytest.raises(TransferError, match="transaction 5: parts 3 still missing after 2 resend requests"):
        fetch(link, quiet=0.0, retries=2)
    assert link.requests == [[3], [3]]


def test_fetch_unknown_transaction_says_it_is_gone():
    link = ScriptedLink(5, DATA, initial=False, known=False)
    with pytest.raises(TransferError, match="transaction 9 is no longer on the board \\(UNKNOWN_TRANSACTION\\)"):
        fetch(link, transaction=9, quiet=0.0)


def test_fetch_without_any_transfer_times_out_with_a_hint():
    link = ScriptedLink(5, DATA, initial=False)
    with pytest.raises(TransferError, match="no transfer started within 0 s"):
        fetch(link, wait=0.0)


def test_fetch_crc_mismatch_is_an_error_not_a_file():
    link = ScriptedLink(5, DATA)
    link.queue[0] = started_packet(5, 3, DATA, crc=crc16(DATA) ^ 1)
    with pytest.raises(TransferError, match="CRC mismatch"):
        fetch(link, quiet=0.0)


# --- the resend command on the CLI -------------------------------------------------------------


def test_cli_resend_takes_the_transaction_then_the_parts():
    from ground import args

    command = d.command("large.resend")
    assert args.payload(command, ["7", "3", "5"]) == {"transaction": 7, "parts": [{"part": 3}, {"part": 5}]}
    assert args.payload(command, ["7"]) == {"transaction": 7, "parts": []}
    with pytest.raises(args.ArgumentError, match="missing transaction"):
        args.payload(command, [])
