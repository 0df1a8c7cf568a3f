"""fsw.cobs against golden vectors, the ground codec, and fuzzed streams (PROTOCOL.md 1)."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.cobs import Decoder, encode_into, encoded_max
from ground import framing

# (body, encoding without delimiter): the examples of Cheshire & Baker / Wikipedia "COBS"
GOLDEN = [
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    # 254 non-zero octets: one full block, no trailing 0x01
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
    # 00 01..FE (255 octets)
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
    # 01..FF (255 octets): full block, then a block of one
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
    # 02..FF 00
    (bytes(range(2, 256)) + b"\x00", b"\xff" + bytes(range(2, 256)) + b"\x01\x01"),
    # 03..FF 00 01
    (bytes(range(3, 256)) + b"\x00\x01", b"\xfe" + bytes(range(3, 256)) + b"\x02\x01"),
    (b"", b"\x01"),
]


def fw_encode(body):
    dst = bytearray(encoded_max(len(body)))
    m = encode_into(body, len(body), dst)
    return bytes(dst[:m])


def fw_stream(stream, max_frame=1024):
    dec = Decoder(max_frame)
    frames = []
    for b in stream:
        n = dec.feed(b)
        if n:
            frames.append(bytes(dec.frame[:n]))
    return frames, {"cobs": dec.drop_cobs, "oversize": dec.drop_oversize}


def ground_stream(stream, max_frame=1024, chunk=None):
    sp = framing.FrameSplitter(max_frame)
    frames = []
    if chunk is None:
        frames = sp.feed(stream)
    else:
        for i in range(0, len(stream), chunk):
            frames += sp.feed(stream[i : i + chunk])
    return frames, dict(sp.drops)


def is_subsequence(want, got):
    it = iter(got)
    return all(any(w == g for g in it) for w in want)


# --- encoder -----------------------------------------------------------------


@pytest.mark.parametrize("body,enc", GOLDEN)
def test_cobs_encode_into_matches_golden_vector(body, enc):
    assert fw_encode(body) == enc


@pytest.mark.parametrize("body,enc", GOLDEN)
def test_cobs_ground_encode_matches_golden_vector(body, enc):
    assert framing.cobs_encode(body) == enc
    assert framing.frame(body) == enc + b"\x00"


@pytest.mark.parametrize("body,enc", GOLDEN)
def test_cobs_decoder_decodes_golden_vector(body, enc):
    frames, drops = fw_stream(b"\x00" + enc + b"\x00")
    assert frames == ([body] if body else [])
    assert drops == {"cobs": 0, "oversize": 0}
    if body:
        assert framing.cobs_decode(enc) == body


def test_cobs_encode_into_raises_when_dst_too_small():
    body = b"\x11\x22\x00\x33"
    with pytest.raises(ValueError):
        encode_into(body, 4, bytearray(4))
    with pytest.raises(ValueError):
        encode_into(bytes(range(1, 255)), 254, bytearray(254))
    with pytest.raises(ValueError):
        encode_into(b"", 0, bytearray(0))
    assert encode_into(body, 4, bytearray(5)) == 5


def test_cobs_encode_into_uses_only_first_n_octets():
    dst = bytearray(10)
    assert encode_into(b"\x11\x22\x00\x33\x44", 3, dst) == 4
    assert bytes(dst[:4]) == b"\x03\x11\x22\x01"


def test_cobs_encoded_max_bounds_worst_case():
    for n in (0, 1, 253, 254, 255, 508, 1024):
        assert len(fw_encode(b"\x01" * n)) <= encoded_max(n)
    assert encoded_max(254) == 255
    assert len(fw_encode(b"\x01" * 1024)) == encoded_max(1024)


@given(st.binary(max_size=1200))
def test_cobs_firmware_encoder_equals_ground_encoder(body):
    enc = fw_encode(body)
    assert enc == framing.cobs_encode(body)
    assert 0 not in enc
    assert framing.cobs_decode(enc) == body


@given(st.lists(st.sampled_from([b"\x00", b"\x01", b"\xff", b"\x7f" * 253, b"\x01" * 254]), max_size=8).map(b"".join))
def test_cobs_round_trip_on_block_boundaries(body):
    assert framing.cobs_decode(framing.cobs_encode(body)) == body
    assert fw_encode(body) == framing.cobs_encode(body)


# --- ground decode errors ------------------------------------------------------


def test_cobs_decode_rejects_truncated_block():
    with pytest.raises(framing.FramingError) as e:
        framing.cobs_decode(b"\x02\x11\x05\x22")
    assert (e.value.reason, e.value.expected, e.value.got, e.value.offset) == ("cobs", 4, 1, 2)


def test_cobs_decode_rejects_zero_inside():
    with pytest.raises(framing.FramingError) as e:
        framing.cobs_decode(b"\x03\x11\x00")
    assert (e.value.reason, e.value.got, e.value.offset) == ("cobs", 0, 2)


def test_cobs_decode_rejects_empty_input():
    with pytest.raises(framing.FramingError) as e:
        framing.cobs_decode(b"")
    assert (e.value.reason, e.value.expected, e.value.got) == ("cobs", 1, 0)


def test_cobs_framing_error_is_a_value_error():
    from ground.errors import MitraError

    assert issubclass(framing.FramingError, MitraError)
    assert issubclass(framing.FramingError, ValueError)


# --- streaming decoder ----------------------------------------------------------


def test_cobs_decoder_ignores_empty_frames():
    dec = Decoder(16)
    assert [dec.feed(b) for b in b"\x00\x00\x00\x01\x00"] == [0, 0, 0, 0, 0]
    assert (dec.frames, dec.drop_cobs, dec.drop_oversize) == (0, 0, 0)


def test_cobs_decoder_returns_length_on_delimiter():
    dec = Decoder(16)
    out = [dec.feed(b) for b in b"\x00\x03\x11\x22\x02\x33\x00"]
    assert out == [0, 0, 0, 0, 0, 0, 4]
    assert bytes(dec.frame[:4]) == b"\x11\x22\x00\x33"
    assert dec.frames == 1


def test_cobs_decoder_counts_code_past_delimiter():
    dec = Decoder(16)
    out = [dec.feed(b) for b in b"\x05\x11\x22\x00\x02\x33\x00"]
    assert out == [0, 0, 0, 0, 0, 0, 1]  # the bad frame is lost, the next one is not
    assert bytes(dec.frame[:1]) == b"\x33"
    assert (dec.frames, dec.drop_cobs, dec.drop_oversize) == (1, 1, 0)


def test_cobs_decoder_accepts_exactly_max_frame():
    body = bytes((i % 255) + 1 for i in range(64))
    frames, drops = fw_stream(framing.frame(body), max_frame=64)
    assert frames == [body]
    zeros = bytes(64)
    frames, drops = fw_stream(framing.frame(zeros), max_frame=64)
    assert frames == [zeros]
    assert drops == {"cobs": 0, "oversize": 0}


def test_cobs_decoder_drops_oversize_once_and_resyncs():
    good = b"\x10\x00\x20"
    for big in (bytes(65), b"\x01" * 65, b"\x01" * 1000, bytes(1000)):
        stream = framing.frame(good) + framing.frame(big) + framing.frame(good)
        assert fw_stream(stream, 64) == ([good, good], {"cobs": 0, "oversize": 1})
        assert ground_stream(stream, 64) == ([good, good], {"cobs": 0, "oversize": 1})
        assert ground_stream(stream, 64, chunk=7) == ([good, good], {"cobs": 0, "oversize": 1})


def test_cobs_decoder_drops_oversize_without_any_delimiter_for_long():
    # a long run with no 0x00 at all is dropped once, then the next frame is fine
    good = b"\x42"
    stream = b"\x00" + b"\x05" * 5000 + b"\x00" + framing.frame(good)
    assert fw_stream(stream, 64) == ([good], {"cobs": 0, "oversize": 1})
    assert ground_stream(stream, 64, chunk=100) == ([good], {"cobs": 0, "oversize": 1})


def test_cobs_resyncs_after_garbage():
    a, b, c = b"\x01\x02\x03", b"\x00\x00\x09", b"\x44"
    # garbage without a delimiter costs the frame it runs into (a), never more
    stream = b"\x17\x99\x03\xff\xfe" + framing.frame(a) + framing.frame(c) + b"\x07\x07\x00" + framing.frame(b)
    frames, drops = fw_stream(stream)
    assert frames == [c, b]
    assert drops == {"cobs": 2, "oversize": 0}
    assert ground_stream(stream) == (frames, drops)
    assert ground_stream(stream, chunk=1) == (frames, drops)


def test_cobs_decoder_feed_into_hands_frames_to_handler():
    dec = Decoder(32)
    got = []
    stream = bytearray(b"\x00" + framing.frame(b"ab") + framing.frame(b"\x00c"))
    assert dec.feed_into(stream, len(stream), lambda f, n: got.append(bytes(f[:n]))) == 2
    assert got == [b"ab", b"\x00c"]


def test_cobs_decoder_reset_drops_partial_frame():
    dec = Decoder(32)
    for b in b"\x03\x11":
        dec.feed(b)
    dec.reset()
    assert [dec.feed(b) for b in b"\x02\x33\x00"] == [0, 0, 1]
    assert dec.frame[0] == 0x33


# --- fuzz: random and mutated streams ---------------------------------------------


def build_stream(rng, max_frame):
    """A stream of frames with garbage and mutations; returns (stream, intact bodies)."""
    pieces = []  # (body or None, bytes on the wire, mutated)
    for _ in range(rng.randrange(1, 12)):
        kind = rng.random()
        if kind < 0.15:
            g = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            pieces.append((None, g, True))
            continue
        size = rng.choice([rng.randrange(1, 40), rng.randrange(1, max_frame + 1), max_frame, max_frame + rng.randrange(1, 300)])
        alphabet = rng.choice([b"\x00", b"\x00\x01\xff", bytes(range(256)), b"\x55"])
        body = bytes(rng.choice(alphabet) for _ in range(size))
        wire = bytearray(framing.frame(body))
        mutated = False
        if rng.random() < 0.35:
            mutated = True
            for _ in range(rng.randrange(1, 4)):
                op = rng.randrange(3)
                pos = rng.randrange(len(wire))
                if op == 0:
                    wire[pos] ^= 1 << rng.randrange(8)
                elif op == 1:
                    wire.insert(pos, rng.randrange(256))
                elif len(wire) > 1:
                    del wire[pos]
        pieces.append((body, bytes(wire), mutated))
    stream = b"\x00"
    intact = []
    for body, wire, mutated in pieces:
        if body is not None and not mutated and stream.endswith(b"\x00") and len(body) <= max_frame:
            intact.append(body)
        stream += wire
    # end on a delimiter: the ground counts a partial frame's drop when its delimiter
    # arrives, the firmware as soon as it overflows; at frame boundaries they agree
    return stream + b"\x00", intact


def check_stream(stream, intact, max_frame):
    fw = fw_stream(stream, max_frame)
    assert ground_stream(stream, max_frame) == fw
    assert ground_stream(stream, max_frame, chunk=13) == fw
    assert is_subsequence(intact, fw[0]), (intact, fw)
    return fw


def test_cobs_fixed_seed_fuzz_campaign_recovers_every_intact_frame():
    rng = random.Random(20240611)
    totals = {"frames": 0, "cobs": 0, "oversize": 0}
    for _ in range(300):
        max_frame = rng.choice([16, 64, 300, 1024])
        stream, intact = build_stream(rng, max_frame)
        frames, drops = check_stream(stream, intact, max_frame)
        totals["frames"] += len(frames)
        totals["cobs"] += drops["cobs"]
        totals["oversize"] += drops["oversize"]
    # the campaign really exercised every path
    assert totals["frames"] > 500 and totals["cobs"] > 20 and totals["oversize"] > 20


@settings(max_examples=300, deadline=2000)
@given(st.randoms(use_true_random=False), st.sampled_from([8, 64, 1024]))
def test_cobs_fuzz_mutated_streams_decoders_agree(rng, max_frame):
    stream, intact = build_stream(rng, max_frame)
    check_stream(stream, intact, max_frame)


@settings(max_examples=300, deadline=2000)
@given(st.binary(max_size=3000), st.lists(st.binary(min_size=1, max_size=80), max_size=5))
def test_cobs_fuzz_garbage_then_frames_recovered(garbage, bodies):
    stream = garbage + b"\x00" + b"".join(framing.frame(b) for b in bodies)
    frames, drops = check_stream(stream, bodies, 64)
    assert frames[len(frames) - len(bodies) :] == bodies


# --- on the MicroPython unix port --------------------------------------------------

_MP_STREAM = """
import sys
from fsw.cobs import Decoder
data = sys.stdin.buffer.read()
dec = Decoder(%d)
for i in range(len(data)):
    n = dec.feed(data[i])
    if n:
        print("F", "".join("%%02x" %% dec.frame[j] for j in range(n)))
print("D", dec.drop_cobs, dec.drop_oversize, dec.frames)
"""


def parse_mp_stream(out):
    frames = []
    drops = None
    for line in out.decode().splitlines():
        parts = line.split()
        if parts[0] == "F":
            frames.append(bytes.fromhex(parts[1]))
        else:
            drops = {"cobs": int(parts[1]), "oversize": int(parts[2])}
            assert int(parts[3]) == len(frames)
    return frames, drops


@pytest.mark.micropython
def test_cobs_fuzz_stream_on_micropython_equals_cpython(micropython):
    rng = random.Random(7)
    stream = b""
    intact = []
    for _ in range(40):
        s, i = build_stream(rng, 64)
        stream += s
        intact += i
    fw = fw_stream(stream, 64)
    assert fw[1]["cobs"] > 0 and fw[1]["oversize"] > 0
    mp = parse_mp_stream(micropython(_MP_STREAM % 64, stdin=stream))
    assert mp == fw
    assert mp == ground_stream(stream, 64)
    assert is_subsequence(intact, mp[0])


@pytest.mark.micropython
def test_cobs_encode_on_micropython_equals_ground(micropython):
    rng = random.Random(3)
    bodies = [g[0] for g in GOLDEN] + [bytes(rng.choice(b"\x00\x01\x80\xff") for _ in range(rng.randrange(600))) for _ in range(30)]
    code = (
        "import binascii\nfrom fsw.cobs import encode_into, encoded_max\n"
        "for h in %r:\n"
        "    b = binascii.unhexlify(h)\n"
        "    dst = bytearray(encoded_max(len(b)))\n"
        "    m = encode_into(b, len(b), dst)\n"
        "    print(binascii.hexlify(dst[:m]).decode())\n" % [b.hex() for b in bodies]
    )
    lines = micropython(code).decode().split("\n")[:-1]
    assert lines == [framing.cobs_encode(b).hex() for b in bodies]


@pytest.mark.micropython
def test_cobs_per_byte_path_allocates_nothing_on_micropython(micropython):
    # heap_lock turns any allocation into MemoryError
    code = """
import micropython
from fsw.cobs import Decoder, encode_into
dec = Decoder(300)
src = bytes(%r)
body = bytes(%r)
dst = bytearray(400)
res = [0, 0]
def run():
    i = 0
    got = 0
    while i < len(src):
        n = dec.feed(src[i])
        if n:
            got += n
        i += 1
    res[0] = got
    res[1] = encode_into(body, len(body), dst)
micropython.heap_lock()
try:
    run()
finally:
    micropython.heap_unlock()
print(res[0], res[1], dec.drop_cobs, dec.drop_oversize)
"""
    body = bytes(range(256)) + b"\x00\x00"
    stream = b"\x00\x05\x01\x00" + framing.frame(body) + framing.frame(bytes(301)) + framing.frame(b"\x01")
    out = micropython(code % (list(stream), list(body))).decode().split()
    assert out == [str(len(body) + 1), str(len(framing.cobs_encode(body))), "1", "1"]
