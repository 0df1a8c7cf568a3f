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
#
#   Reports(per_s=4): the rate limit of the security_rejected events (issue 11 item 7)
#   .allow(reason, now_ms) -> True: report this rejection now; False: counted only
#   .due(now_ms) -> None, or the suppressed counts per reason (UNKNOWN_SPI ..
#       STORE_FAILED) once the second that suppressed them is over: one summary
# A second starts at the first rejection after the last one ended, so the first
# rejection after a quiet spell is always reported at once (the ground's resync
# waits for it). The rej_* counters above count every frame either way.

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
_REASONS = const(7)  # reason codes 0 (OK) .. STORE_FAILED
_SECOND_MS = const(1000)


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


class Reports:
    def __init__(self, per_s=4):
        self.per_s = per_s
        self.start = -_SECOND_MS  # uptime (ms) the current second began at: none yet
        self.used = 0  # events reported in it
        self.suppressed = [0] * _REASONS
        self.pending = 0  # rejections not reported since the last summary

    def allow(self, reason, now):
        if now - self.start >= _SECOND_MS:
            self.start = now
            self.used = 0
        if self.used < self.per_s:
            self.used += 1
            return True
        if 0 < reason < _REASONS:
            self.suppressed[reason] += 1
            self.pending += 1
        return False

    def due(self, now):
        if not self.pending or now - self.start < _SECOND_MS:
            return None
        s = self.suppressed
        store = s[STORE_FAILED]  # a u16 in the event (each needed a valid MAC: never a flood)
        out = (s[UNKNOWN_SPI], s[BAD_MAC], s[REPLAY], s[SHORT], s[CLEAR_REFUSED], store if store < 0xFFFF else 0xFFFF)
        for i in range(_REASONS):
            s[i] = 0
        self.pending = 0  # the second is over: the next rejection starts one of its own
        return out
