"""fsw.hmac256 against CPython's hmac and RFC 4231, on CPython and MicroPython."""

import hashlib
import hmac
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsw.hmac256 import Hmac256

# RFC 4231 test cases 1-4, 6, 7: (key, data, HMAC-SHA-256)
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


@pytest.mark.parametrize("key,data,mac", RFC4231)
def test_hmac256_matches_rfc4231(key, data, mac):
    assert Hmac256(key).digest(data).hex() == mac


def test_hmac256_rfc4231_case5_truncated_to_128_bits():
    h = Hmac256(b"\x0c" * 20)
    assert h.digest(b"Test With Truncation")[:16].hex() == "a3b6167473100ee06e0c796c2955552b"


@given(st.binary(max_size=200), st.binary(max_size=600), st.data())
def test_hmac256_equals_stdlib_hmac_on_a_span(key, data, draw):
    start = draw.draw(st.integers(0, len(data)))
    end = draw.draw(st.integers(start, len(data)))
    want = hmac.new(key, data[start:end], hashlib.sha256).digest()
    h = Hmac256(key)
    assert h.digest(bytearray(data), start, end) == want
    assert h.digest(memoryview(data), start, end) == want


def test_hmac256_verify16_accepts_good_and_rejects_each_flipped_octet():
    key = bytes(range(32))
    frame = bytearray(b"\x00\x01\x00\x00\x00\x07" + b"packet!" + bytes(16))
    end = len(frame) - 16
    frame[end:] = hmac.new(key, bytes(frame[:end]), hashlib.sha256).digest()[:16]
    h = Hmac256(key)
    assert h.verify16(frame, 0, end, frame, end) is True
    for i in range(len(frame)):
        bad = bytearray(frame)
        bad[i] ^= 0x01
        assert h.verify16(bad, 0, end, bad, end) is False, i


def test_hmac256_verify16_rejects_short_mac():
    h = Hmac256(b"k" * 32)
    mac = h.digest(b"abc")
    assert h.verify16(b"abc", 0, 3, mac[:15]) is False
    assert h.verify16(b"abc", 0, 3, mac[:16]) is True
    assert h.verify16(b"abc", 0, 3, b"\x00" + mac, 1) is True


@pytest.mark.micropython
def test_hmac256_on_micropython_equals_stdlib(micropython):
    rng = random.Random(5)
    cases = [(k, d) for k, d, _ in RFC4231]
    cases += [(bytes(rng.randrange(256) for _ in range(rng.randrange(100))), bytes(rng.randrange(256) for _ in range(rng.randrange(400)))) for _ in range(20)]
    code = (
        "import binascii\nfrom fsw.hmac256 import Hmac256\n"
        "for k, d in %r:\n"
        "    k = binascii.unhexlify(k)\n"
        "    d = bytearray(binascii.unhexlify(d))\n"
        "    h = Hmac256(k)\n"
        "    m = h.digest(d, 1, len(d) - 1) if len(d) > 2 else h.digest(d)\n"
        "    print(binascii.hexlify(h.digest(d)).decode(), binascii.hexlify(m).decode(), h.verify16(d, 0, len(d), h.digest(d)))\n"
        % [(k.hex(), d.hex()) for k, d in cases]
    )
    lines = micropython(code).decode().split("\n")[:-1]
    want = []
    for k, d in cases:
        full = hmac.new(k, d, hashlib.sha256).hexdigest()
        span = hmac.new(k, d[1:-1], hashlib.sha256).hexdigest() if len(d) > 2 else full
        want.append("%s %s True" % (full, span))
    assert lines == want
    assert lines[0].split()[0] == RFC4231[0][2]
