# COBS framing (Cheshire & Baker, 1999), PROTOCOL.md 1 "Framing: COBS".
#
# On the wire: 0x00 | COBS(body) | 0x00 | COBS(body) | 0x00 ...
#
#   encoded_max(n) -> int
#     Worst-case encoded length of an n-octet body (without the delimiter).
#   encode_into(src, n, dst) -> m
#     Encodes src[0:n] into dst[0:m] (bytearray or writable memoryview), no 0x00
#     delimiter: the caller writes it. ValueError if dst is too small.
#     Same output as the reference encoder: a final full 254-octet block gets no
#     trailing 0x01 block.
#   Decoder(max_frame)
#     Streaming decoder, one byte at a time, no allocation after __init__.
#     .feed(b) -> L: b is an int 0..255. Returns L > 0 when a 0x00 delimiter ends
#       a valid non-empty frame; the body is then self.frame[0:L], valid until the
#       next feed. Returns 0 otherwise. Empty frames (0x00 0x00) are ignored.
#     .feed_into(buf, n, handler) -> frames: feeds buf[0:n], calls handler(frame, L)
#       for each frame; returns how many frames were handed over.
#     .reset(): drop any partial frame (counters stay).
#     Counters (int attributes):
#       frames         valid frames returned
#       drop_cobs      malformed COBS (a 0x00 inside a block: the code byte pointed
#                      past the delimiter)
#       drop_oversize  body longer than max_frame (counted once per frame, then
#                      everything up to the next 0x00 is discarded)
#     After any error the decoder resynchronises at the next 0x00: garbage costs
#     at most the frame it hits.

from micropython import const

_BLOCK = const(0xFF)  # code of a full block: 254 data octets, no implicit zero


def encoded_max(n):
    if n == 0:
        return 1
    return n + (n + 253) // 254


def encode_into(src, n, dst):
    cap = len(dst)
    if cap < 1:
        raise ValueError("cobs: dst too small")
    code_i = 0  # where the current block's code goes
    o = 1
    code = 1
    is_open = True
    for i in range(n):
        b = src[i]
        if not is_open:
            # a full block closed and more input follows: open the next one
            if o >= cap:
                raise ValueError("cobs: dst too small")
            code_i = o
            o += 1
            code = 1
            is_open = True
        if b == 0:
            dst[code_i] = code
            if o >= cap:
                raise ValueError("cobs: dst too small")
            code_i = o
            o += 1
            code = 1
        else:
            if o >= cap:
                raise ValueError("cobs: dst too small")
            dst[o] = b
            o += 1
            code += 1
            if code == _BLOCK:
                dst[code_i] = code
                is_open = False
    if is_open:
        dst[code_i] = code
    return o


class Decoder:
    def __init__(self, max_frame):
        self.max_frame = max_frame
        self.frame = bytearray(max_frame)
        self.frames = 0
        self.drop_cobs = 0
        self.drop_oversize = 0
        self.reset()

    def reset(self):
        self._n = 0  # decoded octets so far
        self._left = 0  # data octets still due in the current block
        self._code = _BLOCK  # previous code; _BLOCK means "no implicit zero due"
        self._started = False  # any octet since the last delimiter
        self._skip = False  # discarding until the next delimiter

    def feed(self, b):
        if b == 0:
            if self._skip or not self._started:
                self.reset()
                return 0
            if self._left:
                self.drop_cobs += 1
                self.reset()
                return 0
            n = self._n
            self.reset()
            if n:
                self.frames += 1
            return n
        if self._skip:
            return 0
        self._started = True
        if self._left:
            n = self._n
            if n >= self.max_frame:
                self._oversize()
                return 0
            self.frame[n] = b
            self._n = n + 1
            self._left -= 1
            return 0
        # b is a code octet: the previous block ends with an implicit zero
        # unless it was a full block (or there was none)
        if self._code != _BLOCK:
            n = self._n
            if n >= self.max_frame:
                self._oversize()
                return 0
            self.frame[n] = 0
            self._n = n + 1
        self._code = b
        self._left = b - 1
        return 0

    def _oversize(self):
        self.drop_oversize += 1
        self._skip = True

    def feed_into(self, buf, n, handler):
        count = 0
        feed = self.feed
        for i in range(n):
            L = feed(buf[i])
            if L:
                handler(self.frame, L)
                count += 1
        return count
