"""COBS framing of the serial link (PROTOCOL.md 1, "Framing: COBS").

On the wire: ``0x00 | COBS(body) | 0x00 | COBS(body) | 0x00 ...``. The encoding is
Cheshire & Baker's consistent overhead byte stuffing (IEEE/ACM Trans. Networking, 1999),
byte for byte the same as the firmware's ``fsw/cobs.py``: a final full 254-octet block
gets no trailing 0x01 block.
"""

from .errors import FramingError

MAX_FRAME = 1024
"""Largest frame body a board accepts unless it declares less (PROTOCOL.md 1)."""

_FULL = 0xFF  # code of a full block: 254 data octets, no implicit zero


def encoded_max(n: int) -> int:
    """Worst-case COBS length of an ``n``-octet body, delimiter not included."""
    return n + (n + 253) // 254 if n else 1


def cobs_encode(body: bytes) -> bytes:
    """COBS-encode ``body``; the result holds no 0x00 and has no delimiter."""
    out = bytearray()
    segments = bytes(body).split(b"\x00")
    last = len(segments) - 1
    for k, seg in enumerate(segments):
        n = len(seg)
        i = 0
        while n - i >= 254:
            out.append(_FULL)
            out += seg[i : i + 254]
            i += 254
        if k == last and n and i == n:
            break  # the body ends on a full block: no trailing 0x01
        out.append(n - i + 1)
        out += seg[i:]
    return bytes(out)


def _decode(data: bytes) -> tuple[bytearray, int]:
    """Decode ``data`` (no 0x00 in it) as far as it goes.

    Returns the decoded octets and the offset of a truncated block's code octet, or -1
    when the whole input decoded. A truncated block still contributes what it has, so
    the length equals what the firmware's streaming decoder would have written.
    """
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        end = i + code
        if end > n:
            out += data[i + 1 :]
            return out, i
        out += data[i + 1 : end]
        i = end
        if code != _FULL and i < n:
            out.append(0)
    return out, -1


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS-encoded body (no delimiter); raise FramingError when malformed."""
    data = bytes(data)
    if not data:
        raise FramingError("cobs: empty input (expected at least 1 code octet)", "cobs", expected=1, got=0, offset=0)
    zero = data.find(0)
    if zero >= 0:
        raise FramingError(
            "cobs: 0x00 inside encoded data at offset %d" % zero, "cobs", expected="non-zero", got=0, offset=zero
        )
    out, bad = _decode(data)
    if bad >= 0:
        want = data[bad] - 1
        have = len(data) - bad - 1
        raise FramingError(
            "cobs: block at offset %d promises %d octets, %d present" % (bad, want, have),
            "cobs",
            expected=want,
            got=have,
            offset=bad,
        )
    return bytes(out)


def frame(body: bytes) -> bytes:
    """One frame as sent on the wire: COBS(body) followed by the 0x00 delimiter."""
    return cobs_encode(body) + b"\x00"


class FrameSplitter:
    """Splits a received byte stream into frame bodies, resynchronising on 0x00.

    Empty frames (0x00 0x00) are ignored. Malformed frames are dropped and counted in
    ``drops["cobs"]``, bodies longer than ``max_frame`` in ``drops["oversize"]`` (once
    per frame; the rest up to the next 0x00 is discarded). Same verdicts as the
    firmware's ``fsw.cobs.Decoder`` on the same stream, once its delimiter has arrived:
    the splitter judges a frame at its delimiter (or when the partial frame grows past
    ``2 * max_frame + 4`` octets), the firmware as soon as it overflows.
    """

    def __init__(self, max_frame: int = MAX_FRAME):
        self.max_frame = max_frame
        self.frames = 0
        self.drops = {"cobs": 0, "oversize": 0}
        self._pending = bytearray()
        self._skip = False
        # any run of encoded octets this long decodes to more than max_frame octets
        self._limit = 2 * max_frame + 4

    def reset(self) -> None:
        """Forget a partial frame (the counters stay)."""
        self._pending.clear()
        self._skip = False

    def feed(self, chunk: bytes) -> list[bytes]:
        """Consume ``chunk``; return the frame bodies it completed, oldest first."""
        frames: list[bytes] = []
        chunk = bytes(chunk)
        start = 0
        pending = self._pending
        while True:
            z = chunk.find(0, start)
            if z < 0:
                if not self._skip:
                    pending += chunk[start:]
                    if len(pending) > self._limit:
                        self._oversize()
                return frames
            if self._skip:
                self._skip = False
            elif pending:
                pending += chunk[start:z]
                self._finish(bytes(pending), frames)
                pending.clear()
            elif z > start:
                self._finish(chunk[start:z], frames)
            start = z + 1

    def _oversize(self) -> None:
        self.drops["oversize"] += 1
        self._pending.clear()
        self._skip = True

    def _finish(self, data: bytes, frames: list[bytes]) -> None:
        out, bad = _decode(data)
        if len(out) > self.max_frame:
            self.drops["oversize"] += 1
        elif bad >= 0:
            self.drops["cobs"] += 1
        elif out:
            self.frames += 1
            frames.append(bytes(out))
