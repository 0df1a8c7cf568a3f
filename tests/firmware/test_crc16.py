"""fsw.crc16: CRC-16/CCITT-FALSE, the PUS PEC (PROTOCOL.md 2)."""

import random

import pytest
from fastcrc import crc16 as fastcrc16
from hypothesis import given
from hypothesis import strategies as st

from fsw.crc16 import crc16


def test_crc16_check_value_123456789():
    assert crc16(b"123456789") == 0x29B1


def test_crc16_empty_is_init():
    assert crc16(b"") == 0xFFFF


def test_crc16_known_vectors():
    assert crc16(b"\x00") == 0xE1F0
    assert crc16(b"A") == 0xB915
    # a packet with its big-endian CRC appended checks to zero (PUS PEC property)
    body = b"\x18\x01\xc0\x00\x00\x05\x21\x11\x01\x00\x00"
    c = crc16(body)
    assert crc16(body + c.to_bytes(2, "big")) == 0


def test_crc16_accepts_bytearray_and_memoryview_and_span():
    data = b"xx123456789yy"
    assert crc16(bytearray(data), 2, 11) == 0x29B1
    assert crc16(memoryview(data), 2, 11) == 0x29B1
    assert crc16(data, 2, 11) == 0x29B1


def test_crc16_continues_across_pieces():
    assert crc16(b"56789", crc=crc16(b"1234")) == 0x29B1


@given(st.binary(max_size=600))
def test_crc16_equals_spacepackets_crc(data):
    # spacepackets computes its PEC with fastcrc's CRC-16/IBM-3740 (= CCITT-FALSE)
    assert crc16(data) == fastcrc16.ibm_3740(data)


@pytest.mark.micropython
def test_crc16_on_micropython_equals_cpython(micropython):
    rng = random.Random(1)
    blobs = [b"123456789", b""] + [bytes(rng.randrange(256) for _ in range(rng.randrange(300))) for _ in range(20)]
    code = (
        "import binascii\nfrom fsw.crc16 import crc16\n"
        "for h in %r:\n"
        "    b = binascii.unhexlify(h)\n"
        "    print(crc16(b), crc16(bytearray(b)), crc16(memoryview(b)))\n" % [b.hex() for b in blobs]
    )
    lines = micropython(code).decode().split("\n")[:-1]
    assert lines == ["%d %d %d" % ((crc16(b),) * 3) for b in blobs]
    assert lines[0] == "%d %d %d" % ((0x29B1,) * 3)
