"""The ground end of the serial link: open the port, seal and frame TCs, read and
decode TM, follow each TC's ST1 reports, and pace the uplink (PROTOCOL.md 1).

Pacing: the next TC goes out only when the previous one was accepted or rejected
(ST1 1.1 / 1.2), or when the board's acknowledgement window has passed; the
ground never floods a small receive buffer.

Size: a TC whose frame body (security header | packet | MAC) would be longer than
the board's maximum frame (`max_frame`: the board file's `link.max_frame`, else the
dictionary's MAX_FRAME) is refused here, before anything is written or a sequence
number is taken: the board would drop it (counted only as an oversize frame) and
never report on the TC, so the ground would wait for a report that cannot come.
"""

import errno
import os
import time

import serial

from ground import codec
from ground import dictionary as d
from ground.errors import FramingError, MitraError
from ground.framing import FrameSplitter, frame
from ground.security import seal, seal_clear

_SEALED_OVERHEAD = d.SEC_HEADER_LEN + d.MAC_LEN  # SPI | SN before the packet, MAC after it

DEFAULT_BAUD = 921600
DEFAULT_ACK_WINDOW_S = 0.5
_READ_SIZE = 4096

# Protocol numbers, all from the dictionary.
_ST1 = d.SERVICE_BY_NAME["verification"].number
_ST5 = d.SERVICE_BY_NAME["event"].number
_ACCEPT_OK = d.key("verification.acceptance_success")[1]
_DONE_OK = d.key("verification.completion_success")[1]
_FAILURES = {d.key("verification.%s_failure" % stage)[1]: stage for stage in ("acceptance", "start", "progress", "completion")}
_UNKNOWN_SPI, _BAD_MAC, _REPLAY, _CLEAR_REFUSED = (d.SECURITY_REASON_BY_NAME[n] for n in ("unknown_spi", "bad_mac", "replay", "clear_refused"))
_SECURITY_HINTS = {
    _UNKNOWN_SPI: "the board has no key for this SPI (flash the key, or pick the link's key with --key)",
    _BAD_MAC: "the MAC does not verify: this link's key is not the board's (--key NAME)",
    _REPLAY: "the sequence number is behind the board's anti-replay floor",
    _CLEAR_REFUSED: "the board refuses clear mode (security is on): drop --clear",
}
_EVENT_SECURITY = d.EVENT_BY_NAME["security_rejected"].id
_ACK_ACCEPT, _ACK_DONE = 0x1, 0x8  # PUS-C TC ack flags (ECSS-E-ST-70-41C 7.4.3.1)


class LinkError(MitraError):
    """The port could not be opened or used."""


class BoardSilent(LinkError):
    """No answer from the board within the timeout."""

    def __init__(self, message, waited):
        super().__init__(message)
        self.waited = waited


class Rejected(LinkError):
    """The board's security layer discarded our frame (it said so with an ST5 event)."""

    def __init__(self, port, command, reason, event):
        self.reason = reason
        self.event = event
        name = d.SECURITY_REASONS.get(reason, str(reason))
        hint = _SECURITY_HINTS.get(reason, "")
        super().__init__("%s: board rejected %s: %s%s" % (port, command, name, (" (" + hint + ")") if hint else ""))


class CommandFailed(MitraError):
    """The board reported an ST1 failure for a TC."""

    def __init__(self, stage, code, command, reports):
        self.stage = stage
        self.code = code
        self.error = d.ERROR_BY_CODE.get(code, "UNKNOWN_ERROR")
        self.reports = reports
        super().__init__("%s failed at %s: %s (%d)" % (command, stage, self.error, code))


def open_port(port, baud=DEFAULT_BAUD, timeout=0.05):
    """A pyserial port with messages a person can act on when it cannot be opened."""
    try:
        return serial.Serial(port, baudrate=baud, timeout=timeout, exclusive=True)
    except serial.SerialException as exc:
        err = exc.errno if exc.errno is not None else getattr(exc.__context__, "errno", None)
        if err == errno.ENOENT:
            raise LinkError("%s: no such port (is the board plugged in, or `ground sitl` running?)" % port) from None
        if err in (errno.EACCES, errno.EPERM):
            raise LinkError("%s: permission denied (add yourself to 'dialout')" % port) from None
        if err in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "lock" in str(exc).lower():
            raise LinkError("%s: port busy (another program has it open)" % port) from None
        raise LinkError("%s: cannot open: %s" % (port, exc)) from None


class Result:
    """What one TC produced: its ST1 reports and the other TM that came with them."""

    def __init__(self, command, request_id):
        self.command = command
        self.request_id = request_id
        self.reports = []  # ST1 reports for this request
        self.telemetry = []  # everything else received meanwhile
        self.packets = []  # both, in arrival order
        self.accepted = False
        self.completed = False


class GroundLink:
    """One open link to a board (or SITL): uplink with security, downlink decoding."""

    def __init__(self, port, key=None, baud=DEFAULT_BAUD, ack_window_s=DEFAULT_ACK_WINDOW_S, apid=None, serial_port=None, max_frame=d.MAX_FRAME):
        self.port_name = port
        self.max_frame = max_frame  # the board's largest frame body (uplink: with security header and MAC)
        self.key = key  # ground.keys.LinkKey, or None for clear mode
        self.ack_window_s = ack_window_s
        self.apid = apid  # None: each command goes to its owner's APID (the dictionary says which)
        self.serial = serial_port if serial_port is not None else open_port(port, baud)
        self.splitter = FrameSplitter()
        self.seq_count = int.from_bytes(os.urandom(2), "big") & 0x3FFF  # distinct request IDs across sessions
        self.bad_packets = 0
        self.last_error = None
        self._started = False
        self._pending = []

    def close(self):
        self.serial.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- downlink --------------------------------------------------------------

    def flush_input(self):
        self.serial.reset_input_buffer()
        self.splitter.reset()
        self._pending = []

    def read(self, timeout):
        """Decoded TM packets that arrive within `timeout` seconds (at least one read)."""
        if self._pending:  # decoded already, but send_packet returned before handing them out
            out, self._pending = self._pending, []
            return out
        out = []
        deadline = time.monotonic() + timeout
        while True:
            # read(1) returns at the first byte (or the port timeout); then take what is waiting
            chunk = self.serial.read(1)
            if chunk:
                waiting = self.serial.in_waiting
                if waiting:
                    chunk += self.serial.read(min(waiting, _READ_SIZE))
            if chunk:
                for body in self.splitter.feed(chunk):
                    try:
                        out.append(codec.decode(body))
                    except MitraError as exc:
                        self.bad_packets += 1
                        self.last_error = exc
            if out or time.monotonic() >= deadline:
                return out

    def packets(self, duration=None):
        """Yield decoded TM forever, or for `duration` seconds."""
        end = None if duration is None else time.monotonic() + duration
        while end is None or time.monotonic() < end:
            left = 0.2 if end is None else max(0.0, min(0.2, end - time.monotonic()))
            yield from self.read(left)

    # --- uplink ----------------------------------------------------------------

    def _frame(self, packet):
        if self.key is None:
            return seal_clear(packet)
        return seal(packet, self.key.spi, self.key.take_sn(), self.key.key)

    def frame_size(self, packet):
        """Octets of the frame body `packet` would go in (before COBS): what the board's limit counts."""
        return len(packet) + (_SEALED_OVERHEAD if self.key is not None else len(seal_clear(b"")))

    def check_size(self, packet, name="TC"):
        """FramingError (reason "oversize", expected: the limit, got: the size) when `packet` cannot go in one frame."""
        size = self.frame_size(packet)
        if size > self.max_frame:
            raise FramingError("%s: the TC would be a %d-octet frame, over the board's limit of %d octets: send it with fewer items"
                               % (name, size, self.max_frame), "oversize", expected=self.max_frame, got=size)

    def write_packet(self, packet, name="TC"):
        """Seal, frame and write one TC packet (no waiting); refused before anything is sent if too long."""
        self.check_size(packet, name)
        data = frame(self._frame(packet))
        if not self._started:
            data = b"\x00" + data  # flush any partial frame the board holds
            self._started = True
        self.serial.write(data)
        self.serial.flush()

    def next_seq(self):
        self.seq_count = (self.seq_count + 1) & 0x3FFF
        return self.seq_count

    def command(self, name, data=None, timeout=5.0, ack_flags=0xF, on_packet=None):
        """Send one TC and follow it to completion; returns a Result or raises.

        Raises CommandFailed on an ST1 failure, BoardSilent when the board says
        nothing about the TC within `timeout` seconds.
        """
        packet = codec.encode_command(d.command(name), data, seq_count=self.next_seq(), ack_flags=ack_flags, apid=self.apid)
        return self.send_packet(packet, name, timeout=timeout, on_packet=on_packet)

    def send_packet(self, packet, name="TC", timeout=5.0, on_packet=None, _retried=False):
        request_id = codec.request_id(packet)
        ack_flags = packet[6] & 0xF
        result = Result(name, request_id)
        sent_sn = self.key.next_sn if self.key is not None else None
        self.write_packet(packet, name)
        start = time.monotonic()
        deadline = start + timeout
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            batch = self.read(min(0.1, deadline - now))
            for i, p in enumerate(batch):
                self._pending = batch[i + 1 :]  # if this call returns here, the next read() gets the rest
                result.packets.append(p)
                reason = self._security_verdict(p, sent_sn)
                if reason == _REPLAY and not _retried:
                    # The board rebooted and burned a block of SNs: move past its
                    # floor and send the same TC again under a fresh SN.
                    self.key.jump_past(p["data"]["aux"]["floor"])
                    return self.send_packet(packet, name, timeout, on_packet, _retried=True)
                if reason is not None:
                    raise Rejected(self.port_name, name, reason, p)
                if self._is_report_for(p, request_id):
                    result.reports.append(p)
                    sub = p["subtype"]
                    if sub in _FAILURES:
                        raise CommandFailed(_FAILURES[sub], p["data"]["error"], name, result.reports)
                    if sub == _ACCEPT_OK:
                        result.accepted = True
                    if sub == _DONE_OK:
                        result.completed = True
                        return result
                else:
                    result.telemetry.append(p)
                    if on_packet is not None:
                        on_packet(p)
            if not ack_flags & _ACK_DONE and (result.accepted or not ack_flags & _ACK_ACCEPT) and time.monotonic() - start >= self.ack_window_s:
                return result  # nothing more was asked for
        if result.reports:
            return result if not ack_flags & _ACK_DONE else self._silent(name, timeout, "no completion report")
        return self._silent(name, timeout, "no verification report")

    def _silent(self, name, timeout, what):
        hint = ""
        if self.bad_packets:
            hint = " (%d undecodable packets; last: %s)" % (self.bad_packets, self.last_error)
        raise BoardSilent("%s: %s for %s within %.1f s%s" % (self.port_name, what, name, timeout, hint), timeout)

    @staticmethod
    def _is_report_for(p, request_id):
        return p["type"] == "tm" and p["service"] == _ST1 and p["data"].get("request_id") == request_id

    def _security_verdict(self, p, sn):
        """The reason code of a security_rejected event about the frame we just sent, else None."""
        if p["type"] != "tm" or p["service"] != _ST5 or p["data"].get("event_id") != _EVENT_SECURITY:
            return None
        aux = p["data"]["aux"]
        spi = self.key.spi if self.key is not None else 0
        if aux["spi"] != spi:
            return None
        if sn is not None and aux["reason"] not in (_UNKNOWN_SPI, _CLEAR_REFUSED) and aux["sn"] != sn:
            return None  # about someone else's frame
        return aux["reason"]
