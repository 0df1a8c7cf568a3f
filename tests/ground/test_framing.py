"""ground.framing: COBS codec and the frame splitter (PROTOCOL.md 1, Framing: COBS)."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ground.errors import FramingError, MitraError
from ground.framing import MAX_FRAME, FrameSplitter, cobs_decode, cobs_encode, encoded_max, frame


def test_framing_frame_appends_delimiter():
    assert frame(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33\x00"
    assert frame(b"") == b"\x01\x00"


def test_framing_encoded_max_is_tight():
    assert [encoded_max(n) for n in (0, 1, 254, 255, 1024)] == [1, 2, 255, 257, 1029]
    assert len(cobs_encode(b"\xaa" * 1024)) == 1029


@given(st.binary(max_size=3000))
def test_framing_decode_inverts_encode(body):
    enc = cobs_encode(body)
    assert b"\x00" not in enc
    assert len(enc) <= encoded_max(len(body))
    assert cobs_decode(enc) == body


@pytest.mark.parametrize(
    "data,expected,got,offset",
    [
        (b"\x02", 1, 0, 0),  # code promises one octet, none follows
        (b"\x03\x11", 2, 1, 0),
        (b"\x01\x04\x11\x22", 3, 2, 1),
        (b"\xff" + b"\x01" * 100, 254, 100, 0),
    ],
)
def test_framing_decode_rejects_truncated_block_with_numbers(data, expected, got, offset):
    with pytest.raises(FramingError) as e:
        cobs_decode(data)
    assert (e.value.reason, e.value.expected, e.value.got, e.value.offset) == ("cobs", expected, got, offset)


def test_framing_decode_rejects_zero_inside():
    with pytest.raises(FramingError) as e:
        cobs_decode(b"\x02\x00")
    assert (e.value.reason, e.value.offset) == ("cobs", 1)


def test_framing_error_is_a_mitra_value_error():
    assert issubclass(FramingError, MitraError) and issubclass(FramingError, ValueError)


def test_framing_splitter_returns_frames_in_order():
    sp = FrameSplitter()
    assert sp.feed(b"\x00" + frame(b"a") + frame(b"\x00b")) == [b"a", b"\x00b"]
    assert sp.drops == {"cobs": 0, "oversize": 0}
    assert sp.frames == 2


def test_framing_splitter_holds_partial_frame_across_chunks():
    sp = FrameSplitter()
    wire = b"\x00" + frame(b"hello") + frame(b"world")
    got = []
    for b in wire:
        got += sp.feed(bytes([b]))
    assert got == [b"hello", b"world"]


def test_framing_splitter_ignores_empty_frames():
    sp = FrameSplitter()
    assert sp.feed(b"\x00\x00\x00\x01\x00\x00") == []
    assert sp.drops == {"cobs": 0, "oversize": 0} and sp.frames == 0


def test_framing_splitter_counts_cobs_drop_and_resyncs():
    sp = FrameSplitter()
    assert sp.feed(b"\x05\x11\x00" + frame(b"ok")) == [b"ok"]
    assert sp.drops == {"cobs": 1, "oversize": 0}


def test_framing_splitter_drops_oversize_and_resyncs():
    sp = FrameSplitter(max_frame=16)
    assert sp.feed(frame(bytes(17)) + frame(b"\x01" * 16) + frame(b"\x01" * 17) + frame(b"x")) == [b"\x01" * 16, b"x"]
    assert sp.drops == {"cobs": 0, "oversize": 2}


def test_framing_splitter_bounds_memory_without_delimiter():
    sp = FrameSplitter(max_frame=64)
    for _ in range(100):
        assert sp.feed(b"\x07" * 1000) == []
    assert len(sp._pending) <= 2 * 64 + 4
    assert sp.drops == {"cobs": 0, "oversize": 1}
    assert sp.feed(b"\x00" + frame(b"z")) == [b"z"]


def test_framing_splitter_reset_forgets_partial_frame():
    sp = FrameSplitter()
    sp.feed(b"\x03\x11")
    sp.reset()
    assert sp.feed(b"\x02\x33\x00") == [b"\x33"]


def test_framing_splitter_default_max_is_protocol_max():
    assert FrameSplitter().max_frame == MAX_FRAME == 1024
    sp = FrameSplitter()
    assert sp.feed(frame(bytes(1024)) + frame(bytes(1025))) == [bytes(1024)]
    assert sp.drops["oversize"] == 1


@settings(max_examples=200, deadline=2000)
@given(st.lists(st.binary(min_size=1, max_size=300), max_size=10), st.integers(1, 64), st.binary(max_size=200))
def test_framing_splitter_chunking_does_not_change_result(bodies, chunk, garbage):
    wire = garbage + b"\x00" + b"".join(frame(b) for b in bodies)
    whole = FrameSplitter(256)
    expect = whole.feed(wire)
    sp = FrameSplitter(256)
    got = []
    for i in range(0, len(wire), chunk):
        got += sp.feed(wire[i : i + chunk])
    assert got == expect
    assert sp.drops == whole.drops
    assert expect[len(expect) - len(bodies) :] == bodies


def test_framing_splitter_random_campaign_never_crashes():
    rng = random.Random(99)
    sp = FrameSplitter(128)
    total = 0
    for _ in range(2000):
        n = rng.randrange(0, 300)
        alphabet = rng.choice([(0, 1, 2, 0xFF, 0x80), (1, 2, 0xFF, 0x80), tuple(range(256))])
        chunk = bytes(rng.choice(alphabet) for _ in range(n))
        for f in sp.feed(chunk):
            assert 0 < len(f) <= 128
            total += 1
    assert total > 0 and sp.drops["cobs"] > 0 and sp.drops["oversize"] > 0
