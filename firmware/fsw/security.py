# The uplink security check, PROTOCOL.md 1 "Security layer (uplink only)".
#
# Frame body (big-endian):
#   SPI u16 | SN u32 | space packet | MAC 16
#     MAC = first 16 octets of HMAC-SHA-256(key[SPI], SPI | SN | space packet)
#   SPI 0 (clear mode): SPI u16 | space packet, accepted only when enabled=False.
#
#   load_keys(path="keys.json") -> {spi: key}   file {"1": "<64 hex>"}; missing -> {}
#   Security(keys, window=1024, block=64, enabled=True, store_name="replay.dat")
#   .check(frame, n) -> reason                  frame[0:n] is the decoded body
#       OK: self.pkt_start, self.pkt_end span the space packet inside frame.
#       self.spi and self.sn hold what was parsed (also on a rejection, for the
#       event; -1 when not parsed yet).
#   .floor(spi) -> last accepted SN (0 if none), for the security event.
#   Counters: rej_short, rej_clear, rej_unknown_spi, rej_replay, rej_bad_mac,
#             rej_store, and accepted.
#
# Anti-replay: accept SN only in (last, last + window]; `last` moves only after
# the MAC verifies. Reserved blocks: `reserved[spi]` (>= last) is what sits in
# storage; when an accepted SN goes past it, reserved = SN + block is saved
# BEFORE the frame is accepted (if that save fails the frame is refused with
# STORE_FAILED). On boot last = reserved, so no SN accepted before a reboot is
# ever accepted after it (the SNs in between are burned). One write per block.
# replay.dat: (SPI u16 | reserved u32) per SPI, through fsw.storage.

from micropython import const
import struct
import binascii
from fsw import storage
from fsw.hmac256 import Hmac256

OK = const(0)
UNKNOWN_SPI = const(1)
BAD_MAC = const(2)
REPLAY = const(3)
SHORT = const(4)
CLEAR_REFUSED = const(5)
STORE_FAILED = const(6)

_SPI_CLEAR = const(0)
_HDR = const(6)  # SPI u16 | SN u32
_CLEAR_HDR = const(2)  # SPI u16
_PRIMARY = const(6)  # space packet primary header
_MAC = const(16)
_REC = const(6)  # replay.dat record: SPI u16 | reserved u32
_SN_MAX = const(0xFFFFFFFF)


def load_keys(path="keys.json"):
    import json

    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError:
        return {}
    keys = {}
    for k in raw:
        key = binascii.unhexlify(raw[k])
        if len(key) != 32:
            raise ValueError("keys.json: key for SPI %s is not 32 octets" % k)
        keys[int(k)] = key
    return keys


class Security:
    def __init__(self, keys, window=1024, block=64, enabled=True, store_name="replay.dat"):
        self.window = window
        self.block = block
        self.enabled = enabled
        self.store_name = store_name
        self._macs = {}
        for spi in keys:
            self._macs[spi] = Hmac256(keys[spi])
        self._reserved = {}
        raw = storage.load(store_name)
        if raw is not None:
            for i in range(len(raw) // _REC):
                spi, res = struct.unpack_from(">HI", raw, i * _REC)
                self._reserved[spi] = res
        for spi in self._macs:
            if spi not in self._reserved:
                self._reserved[spi] = 0
        self._last = {}
        for spi in self._reserved:
            self._last[spi] = self._reserved[spi]
        self._rec = bytearray(_REC * len(self._reserved))
        self.pkt_start = 0
        self.pkt_end = 0
        self.spi = -1
        self.sn = -1
        self.accepted = 0
        self.rej_short = 0
        self.rej_clear = 0
        self.rej_unknown_spi = 0
        self.rej_replay = 0
        self.rej_bad_mac = 0
        self.rej_store = 0

    def floor(self, spi):
        return self._last.get(spi, 0)

    def check(self, frame, n):
        self.spi = -1
        self.sn = -1
        if n < _CLEAR_HDR:
            self.rej_short += 1
            return SHORT
        spi = (frame[0] << 8) | frame[1]
        self.spi = spi
        if spi == _SPI_CLEAR:
            if self.enabled:
                self.rej_clear += 1
                return CLEAR_REFUSED
            if n < _CLEAR_HDR + _PRIMARY:
                self.rej_short += 1
                return SHORT
            self.pkt_start = _CLEAR_HDR
            self.pkt_end = n
            self.accepted += 1
            return OK
        mac = self._macs.get(spi)
        if mac is None:
            self.rej_unknown_spi += 1
            return UNKNOWN_SPI
        if n < _HDR + _PRIMARY + _MAC:
            self.rej_short += 1
            return SHORT
        sn = (frame[2] << 24) | (frame[3] << 16) | (frame[4] << 8) | frame[5]
        self.sn = sn
        last = self._last[spi]
        if sn <= last or sn > last + self.window:
            self.rej_replay += 1
            return REPLAY
        end = n - _MAC
        if not mac.verify16(frame, 0, end, frame, end):
            self.rej_bad_mac += 1
            return BAD_MAC
        if sn > self._reserved[spi]:
            old = self._reserved[spi]
            res = sn + self.block
            self._reserved[spi] = res if res <= _SN_MAX else _SN_MAX
            try:
                self._persist()
            except OSError:
                self._reserved[spi] = old
                self.rej_store += 1
                return STORE_FAILED
        self._last[spi] = sn
        self.pkt_start = _HDR
        self.pkt_end = end
        self.accepted += 1
        return OK

    def _persist(self):
        i = 0
        for spi in self._reserved:
            struct.pack_into(">HI", self._rec, i, spi, self._reserved[spi])
            i += _REC
        storage.save(self.store_name, self._rec)
