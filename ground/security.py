"""Uplink security layer, ground side (PROTOCOL.md 1, "Security layer", modelled on
CCSDS SDLS, CCSDS 355.0-B-2).

Frame body: ``SPI u16 | SN u32 | space packet | MAC 16`` (big-endian), the MAC being the
first 16 octets of HMAC-SHA-256(key[SPI], SPI | SN | space packet). SPI 0 is clear mode:
``SPI u16 | space packet``. The board (``fsw/security.py``) holds the anti-replay state;
``unseal`` checks structure and MAC only.
"""

import hashlib
import hmac
import struct

from .errors import SecurityError

SPI_CLEAR = 0
HEADER_LEN = 6  # SPI u16 | SN u32
MAC_LEN = 16
KEY_LEN = 32
PRIMARY_HEADER_LEN = 6
_HEADER = struct.Struct(">HI")


def mac16(key: bytes, data: bytes) -> bytes:
    """First 16 octets of HMAC-SHA-256(key, data)."""
    return hmac.new(key, data, hashlib.sha256).digest()[:MAC_LEN]


def seal(packet: bytes, spi: int, sn: int, key: bytes) -> bytes:
    """Uplink frame body carrying ``packet`` under key ``key`` selected by ``spi``."""
    if not 1 <= spi <= 0xFFFF:
        raise SecurityError("security: SPI %d outside 1..65535" % spi, "spi", expected=(1, 0xFFFF), got=spi)
    if not 1 <= sn <= 0xFFFFFFFF:
        raise SecurityError("security: SN %d outside 1..4294967295" % sn, "sn", expected=(1, 0xFFFFFFFF), got=sn)
    if len(key) != KEY_LEN:
        raise SecurityError(
            "security: key of %d octets (expected %d)" % (len(key), KEY_LEN), "key", expected=KEY_LEN, got=len(key)
        )
    head = _HEADER.pack(spi, sn) + bytes(packet)
    return head + mac16(key, head)


def seal_clear(packet: bytes) -> bytes:
    """Clear-mode (SPI 0) frame body: accepted only by a board with security off."""
    return b"\x00\x00" + bytes(packet)


def unseal(body: bytes, keys: dict[int, bytes]) -> tuple[int, int | None, bytes]:
    """Check a frame body's structure and MAC; return ``(spi, sn, packet)``.

    ``sn`` is None in clear mode (SPI 0). Raises SecurityError with reason "short",
    "unknown_spi" or "bad_mac".
    """
    body = bytes(body)
    if len(body) < 2:
        raise SecurityError("security: %d octets, no SPI" % len(body), "short", expected=2, got=len(body))
    spi = int.from_bytes(body[:2], "big")
    if spi == SPI_CLEAR:
        need = 2 + PRIMARY_HEADER_LEN
        if len(body) < need:
            raise SecurityError(
                "security: clear frame of %d octets (expected at least %d)" % (len(body), need),
                "short",
                expected=need,
                got=len(body),
                spi=spi,
            )
        return spi, None, body[2:]
    key = keys.get(spi)
    if key is None:
        raise SecurityError(
            "security: unknown SPI %d (known: %s)" % (spi, sorted(keys)), "unknown_spi", expected=sorted(keys), got=spi, spi=spi
        )
    need = HEADER_LEN + PRIMARY_HEADER_LEN + MAC_LEN
    if len(body) < need:
        raise SecurityError(
            "security: frame of %d octets (expected at least %d)" % (len(body), need),
            "short",
            expected=need,
            got=len(body),
            spi=spi,
        )
    _, sn = _HEADER.unpack_from(body)
    end = len(body) - MAC_LEN
    want = mac16(key, body[:end])
    got = body[end:]
    if not hmac.compare_digest(want, got):
        raise SecurityError("security: MAC does not check (SPI %d, SN %d)" % (spi, sn), "bad_mac", expected=want, got=got, spi=spi)
    return spi, sn, body[HEADER_LEN:end]
