"""hil/campaign's own tools, without a flight app: the noisy line really corrupts, the
oracles really catch a bad store or a wrong argument, the fuzz properties really fail on a
broken decoder, and the report rewrites its own section."""

import binascii
import struct

import pytest

from ground import codec
from hil.campaign import flood, fuzz, link, powercut, report
from hil.campaign.channel import Channel, NoisySerial


# --- the noisy line ------------------------------------------------------------------------


def test_channel_flips_bits_at_about_the_ber():
    ch = Channel(ber=1e-3, seed=3)
    out = ch.apply(bytes(100000))
    flipped = sum(bin(b).count("1") for b in out)
    assert flipped == ch.stats["bits_flipped"]
    assert 600 < flipped < 1000  # 800 expected; the seed makes it one fixed draw


def test_channel_clean_or_disabled_passes_octets_unchanged():
    data = bytes(range(256)) * 8
    assert Channel(seed=1).apply(data) == data
    ch = Channel(ber=0.5, drop=0.5, seed=1)
    ch.enabled = False
    assert ch.apply(data) == data
    assert ch.stats["octets"] == 0


def test_channel_losses_bursts_and_dropouts_are_counted():
    ch = Channel(drop=0.01, burst=1e-3, burst_len=8, dropout=1e-4, dropout_len=100, seed=5)
    data = bytes(range(1, 256)) * 400
    out = ch.apply(data)
    s = ch.stats
    assert len(out) == len(data) - s["octets_lost"]
    assert s["bursts"] > 0 and s["dropouts"] > 0 and s["octets_lost"] > 0.01 * len(data)


class _Port:
    def __init__(self, incoming):
        self.written = b""
        self.incoming = incoming

    def write(self, data):
        self.written += data

    def read(self, n=1):
        out, self.incoming = self.incoming[:n], self.incoming[n:]
        return out


def test_noisy_serial_corrupts_each_direction_and_quiet_stops_it():
    port = _Port(bytes(4096))
    noisy = NoisySerial(port, Channel(ber=0.05, seed=1), Channel(ber=0.05, seed=2))
    noisy.write(bytes(1000))
    assert port.written != bytes(1000) and len(port.written) == 1000
    assert noisy.read(1000) != bytes(1000)
    noisy.quiet(True)
    port.written = b""
    noisy.write(bytes(1000))
    assert port.written == bytes(1000)
    assert noisy.read(1000) == bytes(1000)


# --- the oracles catch what they must ------------------------------------------------------


def test_link_argument_checks_refuse_values_never_sent():
    assert link.check_param(1.0, 2.5, 2.5) is None
    assert link.check_param(1.0, 2.5, 1.0) is None
    assert link.check_param(1.0, 2.5, 3.0) is not None
    inserted = {0x18010001: (100, 5)}
    assert link.check_schedule(inserted, [{"request_id": 0x18010001, "coarse": 100, "fine": 5}]) is None
    assert link.check_schedule(inserted, [{"request_id": 0x18010001, "coarse": 101, "fine": 5}])
    assert link.check_schedule(inserted, [{"request_id": 0x18010002, "coarse": 100, "fine": 5}])


def _store(data):
    raw = struct.pack(">HH", 0x4D53, len(data)) + data
    return raw + struct.pack(">H", binascii.crc_hqx(raw, 0xFFFF))


def test_powercut_reader_old_new_torn_and_corrupt(tmp_path):
    (tmp_path / "p.dat").write_bytes(_store(b"new"))
    (tmp_path / "p.dat.bak").write_bytes(_store(b"old"))
    assert powercut.load(tmp_path, "p.dat") == (b"new", "file")
    (tmp_path / "p.dat").write_bytes(_store(b"new")[:-1])  # torn
    assert powercut.load(tmp_path, "p.dat") == (b"old", "bak")
    (tmp_path / "p.dat.bak").write_bytes(b"MS\x00\x03old\x00\x00")  # bad CRC
    assert powercut.load(tmp_path, "p.dat") == (None, "corrupt")
    assert powercut.load(tmp_path, "q.dat") == (None, "missing")
    (tmp_path / "p.dat.tmp").write_bytes(b"")
    assert powercut.caught(tmp_path, "p.dat")


def test_powercut_record_parsers_refuse_damage(tmp_path):
    assert powercut.params_of(struct.pack(">Hf", 2, 1.5)) == {2: 1.5}
    with pytest.raises(ValueError):
        powercut.params_of(struct.pack(">Hf", 999, 1.5))
    ping = codec.encode_tc(17, 1, apid=1, seq_count=9)
    good = bytes([1, 1]) + struct.pack(">IHH", 7, 0, len(ping)) + ping
    assert powercut.sched_ids(good) == [codec.request_id(ping)]
    with pytest.raises(ValueError):  # a PEC error is a ValueError (ground.errors)
        powercut.sched_ids(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(ValueError):
        powercut.sched_ids(good + b"\x00")
    (tmp_path / "st13_00001_3_0000.dat").write_bytes(_store(b"log"))
    assert powercut.st13_products(tmp_path)  # the CRC in the name is not the data's
    crc = binascii.crc_hqx(b"log", 0xFFFF)
    (tmp_path / "st13_00001_3_0000.dat").rename(tmp_path / ("st13_00001_3_%04x.dat" % crc))
    assert powercut.st13_products(tmp_path) == []


def test_flood_bad_frames_are_each_one_defect():
    class Key:
        spi, key, n = 1, bytes(32), 100

        def take_sn(self):
            self.n += 1
            return self.n

    class L:
        key = Key()

    import random

    from ground.framing import FrameSplitter
    from ground.security import unseal

    split = FrameSplitter()
    for kind in flood.KINDS:
        wire = flood.bad_frame(kind, L, random.Random(1), 5)
        bodies = split.feed(b"\x00" + wire)
        if kind in ("cobs", "oversize"):
            assert bodies == [], kind
            continue
        (body,) = bodies
        if kind in ("length", "pec"):
            _, _, packet = unseal(body, {1: bytes(32)})  # authenticated...
            with pytest.raises(ValueError):
                codec.check(packet)  # ...and the packet itself is bad
        elif kind == "replay":
            assert unseal(body, {1: bytes(32)})[1] == 1
        elif kind == "clear":
            assert body[:2] == b"\x00\x00"  # SPI 0: refused by a board with security on
        else:
            with pytest.raises(ValueError):
                unseal(body, {1: bytes(32)})
    assert split.drops == {"cobs": 1, "oversize": 1}


# --- the fuzz properties fail on a broken decoder ------------------------------------------


def test_fuzz_property_catches_an_undocumented_exception(monkeypatch):
    row = report.Row("codec")

    def broken(raw):
        raise TypeError("not a documented error")

    monkeypatch.setattr(fuzz.codec, "decode", broken)
    fuzz._run(row, fuzz.damaged(fuzz.tm_packet()), fuzz.prop_codec_decode, 5, 0)
    assert row.failures == 1 and "TypeError" in row.examples[0]


def test_fuzz_dispatcher_property_catches_a_missing_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    obc = fuzz.boot_obc(None)
    monkeypatch.setattr(obc.dispatcher, "_report", lambda key, values: None)  # the dispatcher goes mute
    row = report.Row("dispatcher")
    fuzz._run(row, fuzz.tc_packet(ack_flags=0xF), lambda raw: fuzz.prop_dispatcher(obc, raw), 5, 0)
    assert row.failures == 1


def test_fuzz_decoders_agree_property_catches_a_lost_frame(monkeypatch):
    real = fuzz.FrameSplitter.feed

    def lossy(self, chunk):
        return real(self, chunk)[1:]  # drops a frame now and then

    monkeypatch.setattr(fuzz.FrameSplitter, "feed", lossy)
    row = report.Row("agree")
    fuzz._run(row, fuzz.st.tuples(fuzz._wire_stream(), fuzz.st.binary(min_size=1, max_size=20)), fuzz.prop_cobs_decoders_agree, 20, 0)
    assert row.failures == 1


# --- the report -----------------------------------------------------------------------------


def test_report_rerun_rewrites_its_own_section_only(tmp_path):
    doc = tmp_path / "reliability.md"
    doc.write_text("# Reliability\n\nhand-written text\n")
    a = report.Result("fuzz", "Fuzz")
    a.row("x", trials=3, failures=0, figures="f | g")
    b = report.Result("link", "Link")
    b.row("y", trials=1, failures=1)
    report.write_section(a, "python -m hil campaign fuzz", doc, order=("link", "fuzz"))
    report.write_section(b, "python -m hil campaign link", doc, order=("link", "fuzz"))
    text = doc.read_text()
    assert text.index("campaign link: begin") < text.index("campaign fuzz: begin")  # in the campaigns' order
    a.rows[0].trials = 99
    report.write_section(a, "python -m hil campaign fuzz --trials 99", doc, order=("link", "fuzz"))
    text = doc.read_text()
    assert text.count("campaign fuzz: begin") == 1 and "| x | 99 | 0 | f \\| g |" in text and "| x | 3 |" not in text
    assert "hand-written text" in text and "| y | 1 | 1 |" in text
    assert "`python -m hil campaign fuzz --trials 99`" in text
