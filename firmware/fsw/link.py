# The link task: bytes -> COBS frames -> security -> packets, and packets ->
# COBS frames -> bytes. PROTOCOL.md 1. Every dropped frame is counted by reason;
# security rejections also go to on_reject, which reports them with a high-severity
# ST5 event within a rate limit (fsw/app.py, fsw.security.Reports).
from micropython import const

from fsw import cobs
from fsw import packet
from fsw import security as sec

_RX_CHUNK = const(64)


class Link:
    def __init__(self, hal_link, guard, max_frame, on_packet, on_reject):
        self.hal = hal_link
        self.guard = guard  # fsw.security.Security
        self.on_packet = on_packet  # on_packet(buf, start, end) for each good packet
        self.on_reject = on_reject  # on_reject(reason, spi, sn, floor)
        self.decoder = cobs.Decoder(max_frame)
        self._rx = bytearray(_RX_CHUNK)
        self._tx = bytearray(cobs.encoded_max(max_frame) + 2)  # 0x00 (never written), the encoded frame, 0x00
        self._tx_body = memoryview(self._tx)[1:]  # where the frame is encoded
        self.frames_ok = 0
        self.drop_length = 0
        self.drop_pec = 0
        self.tm_sent = 0

    def _frame(self, frame, n):
        guard = self.guard
        reason = guard.check(frame, n)
        if reason != sec.OK:
            self.on_reject(reason, guard.spi, guard.sn, guard.floor(guard.spi) if guard.spi >= 0 else 0)
            return
        start = guard.pkt_start
        end = guard.pkt_end
        verdict = packet.check(frame, start, end)
        if verdict == packet.BAD_LENGTH:
            self.drop_length += 1
            return
        if verdict == packet.BAD_PEC:
            self.drop_pec += 1
            return
        self.frames_ok += 1
        self.on_packet(frame, start, end)

    async def rx_task(self):
        rx = self._rx
        feed = self.decoder.feed
        frame = self.decoder.frame
        while True:
            n = await self.hal.read_into(rx)
            if not n:
                return  # end of stream (SITL: the relay went away)
            for i in range(n):
                length = feed(rx[i])
                if length:
                    self._frame(frame, length)

    def send(self, buf, n):
        # COBS-frame buf[0:n] and write it between two delimiters: the leading one ends
        # whatever partial garbage the receiver holds, so a frame whose closing 0x00 the
        # line lost costs only itself, not the frame after it (one octet per packet).
        tx = self._tx
        m = cobs.encode_into(buf, n, self._tx_body) + 1
        tx[m] = 0
        self.hal.write(tx, m + 1)  # one write per packet
        self.tm_sent += 1

    def drops(self):
        # (cobs, oversize, length, pec, unknown SPI, bad MAC, replay, short, clear, store)
        g = self.guard
        d = self.decoder
        return (
            d.drop_cobs,
            d.drop_oversize,
            self.drop_length,
            self.drop_pec,
            g.rej_unknown_spi,
            g.rej_bad_mac,
            g.rej_replay,
            g.rej_short,
            g.rej_clear,
            g.rej_store,
        )
