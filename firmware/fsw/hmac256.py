# HMAC-SHA-256 (RFC 2104, FIPS 198-1) over hashlib.sha256; MicroPython has no
# `hmac` module and its sha256 objects cannot be copied, so the ipad/opad key
# blocks are precomputed once and two hashes are run per message.
#
#   Hmac256(key)                       key: bytes-like, any length (> 64 is hashed)
#   .digest(data, start=0, end=-1) -> bytes(32)
#       HMAC of data[start:end] (end < 0: to the end of data).
#   .verify16(data, start, end, mac, mac_start=0) -> bool
#       True if mac[mac_start:mac_start+16] equals the first 16 octets of the HMAC
#       of data[start:end]; compares every octet (no early exit).
# Per call it allocates the hash objects, one memoryview slice and the digests:
# fine per frame, never use it per byte.

from micropython import const
import hashlib

_BLOCK = const(64)
_IPAD = const(0x36)
_OPAD = const(0x5C)


class Hmac256:
    def __init__(self, key):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        ik = bytearray(_BLOCK)
        ok = bytearray(_BLOCK)
        for i in range(_BLOCK):
            k = key[i] if i < len(key) else 0
            ik[i] = k ^ _IPAD
            ok[i] = k ^ _OPAD
        self._ik = bytes(ik)
        self._ok = bytes(ok)

    def digest(self, data, start=0, end=-1):
        if end < 0:
            end = len(data)
        h = hashlib.sha256(self._ik)
        h.update(memoryview(data)[start:end])
        inner = h.digest()
        h = hashlib.sha256(self._ok)
        h.update(inner)
        return h.digest()

    def verify16(self, data, start, end, mac, mac_start=0):
        d = self.digest(data, start, end)
        if len(mac) - mac_start < 16:
            return False
        diff = 0
        for i in range(16):
            diff |= d[i] ^ mac[mac_start + i]
        return diff == 0
