"""The ground end of the serial link: open the port, seal and frame TCs, read and
decode TM, follow each TC's ST1 reports, and pace the uplink (PROTOCOL.md 1).

Pacing: the next TC goes out only when the previous one was accepted or rejected
(ST1 1.1 / 1.2), or when the board's acknowledgement window has passed; the
ground never floods a small receive buffer.

Resync (README, Uplink security): the downlink is not authenticated, so a
security_rejected event is only a claim. A replay rejection of our own frame is acted on
only if no ST1 report on the TC follows within the ack window (a report proves the board
took the frame), and then moves the ground's SN only when the floor it names lies in
[our SN, our SN + replay_window): the TC is resent with a fresh sequence count under
floor + 1 without persisting it (LinkKey.try_sn), and only an ST1 report on the retry makes
it stick (confirm_sn); anything else reverts it. A forged floor therefore costs at most
one window of SNs, and only while the board accepts them.

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
    _REPLAY: "the sequence number is outside the board's anti-replay window",
    _CLEAR_REFUSED: "the board refuses clear mode (security is on): drop --clear",
}
_EVENT_SECURITY = d.EVENT_BY_NAME["security_rejected"].id
_ACK_ACCEPT, _ACK_DONE = 0x1, 0x8  # PUS-C TC ack flags (ECSS-E-ST-70-41C 7.4.3.1)
DEFAULT_REPLAY_WINDOW = d.PARAM_BY_NAME["link.replay_window"].default  # the board's, unless told otherwise


class LinkError(MitraError):
    """The port could not be opened or used."""


class BoardSilent(LinkError):
    """No answer from the board within the timeout."""

    def __init__(self, message, waited):
        super().__init__(message)
        self.waited = waited


class Rejected(LinkError):
    """The board's security layer discarded our frame (it said so with an ST5 event)."""

    def __init__(self, port, command, reason, event, hint=None):
        self.reason = reason
        self.event = event
        name = d.SECURITY_REASONS.get(reason, str(reason))
        hint = hint if hint is not None else _SECURITY_HINTS.get(reason, "")
        super().__init__("%s: board rejected %s: %s%s" % (port, command, name, (" (" + hint + ")") if hint else ""))


class CommandFailed(MitraError):
    """The board reported an ST1 failure for a TC."""

    def __init__(self, stage, code, command, reports):
        self.stage = stage
        self.code = code
        self.error = d.ERROR_BY_CODE.get(code, "UNKNOWN_ERROR")
        self.reports = reports
        super().__init__("%s failed at %s: %s (%d)" % (command, stage, self.error, code))


def board_link(board):
    """{'baud', 'ack_window_s', 'max_frame'} of a board description's link section (boards/*.json),
    the protocol's defaults where it says nothing: what a GroundLink to that board is opened with."""
    link = board.get("link", {})
    return {
        "baud": link.get("baud", DEFAULT_BAUD),
        "ack_window_s": link["ack_window_ms"] / 1000.0 if "ack_window_ms" in link else DEFAULT_ACK_WINDOW_S,
        "max_frame": link.get("max_frame", d.MAX_FRAME),
    }


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

    def __init__(self, port, key=None, baud=DEFAULT_BAUD, ack_window_s=DEFAULT_ACK_WINDOW_S, apid=None, serial_port=None, max_frame=d.MAX_FRAME,
                 replay_window=DEFAULT_REPLAY_WINDOW, recorder=None):
        self.port_name = port
        self.recorder = recorder  # ground.archive.Recorder: every frame body up and down, or None
        self.replay_window = replay_window  # bound of a resync to a floor the downlink names
        self.max_frame = max_frame  # the board's largest frame body (uplink: with security header and MAC)
        self.key = key  # ground.keys.LinkKey, or None for clear mode
        self.ack_window_s = ack_window_s
        self.apid = apid  # None: each command goes to its owner's APID (the dictionary says which)
        self.serial = serial_port if serial_port is not None else open_port(port, baud)
        self.splitter = FrameSplitter()
        self.seq_count = int.from_bytes(os.urandom(2), "big") & 0x3FFF  # distinct request IDs across sessions
        self.bad_packets = 0
        self.last_error = None
        self._pending = []

    def close(self):
        if self.recorder is not None:
            self.recorder.commit()
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
                        p = codec.decode(body)
                        if p["apid"] != codec.IDLE_APID:  # fill: the receiver discards it (CCSDS 133.0-B-2 4.1.3.3.4.4)
                            out.append(p)
                    except MitraError as exc:
                        p = exc
                        self.bad_packets += 1
                        self.last_error = exc
                    if self.recorder is not None:
                        self.recorder.down(body, p)  # stored as received, a frame that does not decode too
            if out or time.monotonic() >= deadline:
                if self.recorder is not None:
                    # a batch holds the archive's write lock until committed: a quiet link (`ground tlm`
                    # between two HK reports, a console) commits a due one so other writers get it
                    self.recorder.commit_if_due()
                return out

    def packets(self, duration=None):
        """Yield decoded TM forever, or for `duration` seconds."""
        end = None if duration is None else time.monotonic() + duration
        while end is None or time.monotonic() < end:
            left = 0.2 if end is None else max(0.0, min(0.2, end - time.monotonic()))
            yield from self.read(left)

    # --- uplink ----------------------------------------------------------------

    def _frame(self, packet, sn=None):
        if self.key is None:
            return seal_clear(packet)
        return seal(packet, self.key.spi, self.key.take_sn() if sn is None else sn, self.key.key)

    def frame_size(self, packet):
        """Octets of the frame body `packet` would go in (before COBS): what the board's limit counts."""
        return len(packet) + (_SEALED_OVERHEAD if self.key is not None else len(seal_clear(b"")))

    def check_size(self, packet, name="TC"):
        """FramingError (reason "oversize", expected: the limit, got: the size) when `packet` cannot go in one frame."""
        size = self.frame_size(packet)
        if size > self.max_frame:
            raise FramingError("%s: the TC would be a %d-octet frame, over the board's limit of %d octets: send it with fewer items"
                               % (name, size, self.max_frame), "oversize", expected=self.max_frame, got=size)

    def write_packet(self, packet, name="TC", sn=None):
        """Seal, frame and write one TC packet (no waiting); refused before anything is sent if too long.
        `sn`: an SN handed out already (a resync's try_sn); by default the key store takes the next."""
        self.check_size(packet, name)
        # a leading 0x00 before every frame ends any partial frame the board holds: a frame
        # whose closing delimiter the line lost then costs only itself, never the next TC
        data = b"\x00" + frame(self._frame(packet, sn))
        self.serial.write(data)
        self.serial.flush()
        if self.recorder is not None:
            self.recorder.up(packet)

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

    def send_packet(self, packet, name="TC", timeout=5.0, on_packet=None, _sn=None):
        request_id = codec.request_id(packet)
        ack_flags = packet[6] & 0xF
        result = Result(name, request_id)
        sent_sn = _sn if _sn is not None else (self.key.next_sn if self.key is not None else None)
        self.write_packet(packet, name, sn=_sn)
        start = time.monotonic()
        deadline = start + timeout
        suspect, suspect_until = None, None  # a replay rejection naming our SN, not acted on yet
        while True:
            now = time.monotonic()
            if suspect is not None and now >= suspect_until:
                return self._resync(packet, name, timeout, on_packet, sent_sn, suspect)
            if now >= deadline:
                break
            batch = self.read(min(0.1, deadline - now, suspect_until - now) if suspect is not None else min(0.1, deadline - now))
            for i, p in enumerate(batch):
                self._pending = batch[i + 1 :]  # if this call returns here, the next read() gets the rest
                result.packets.append(p)
                reason = self.security_verdict(p, sent_sn)
                if reason == _REPLAY and _sn is None and self.key is not None:
                    # The board rebooted and burned a block of SNs (or another ground moved it on), or
                    # someone on the unauthenticated downlink says so: a report on this TC within the
                    # ack window proves the board took the frame after all; none, and _resync decides
                    if suspect is None:
                        suspect, suspect_until = p, time.monotonic() + self.ack_window_s
                    result.telemetry.append(p)
                    continue
                if reason is not None:
                    raise Rejected(self.port_name, name, reason, p)
                if self.is_report_for(p, request_id):
                    suspect = None  # the board took our frame: the rejection was not about it
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
            if suspect is None and not ack_flags & _ACK_DONE and (result.accepted or not ack_flags & _ACK_ACCEPT) and time.monotonic() - start >= self.ack_window_s:
                return result  # nothing more was asked for
        if suspect is not None:
            return self._resync(packet, name, timeout, on_packet, sent_sn, suspect)
        if result.reports:
            return result if not ack_flags & _ACK_DONE else self._silent(name, timeout, "no completion report")
        return self._silent(name, timeout, "no verification report")

    def _resync(self, packet, name, timeout, on_packet, sent_sn, event):
        """Resend `packet` (with a new sequence count) under the SN after the floor a replay rejection
        of `sent_sn` names, when no report on `packet` came within the ack window: only for a floor in
        [sent_sn, sent_sn + replay_window), persisted only once the board reports on the retry."""
        floor = event["data"]["aux"]["floor"]
        if not sent_sn <= floor < sent_sn + self.replay_window:
            if floor < sent_sn:
                what = "our SN %d is past the board's window (floor %d, window %d)" % (sent_sn, floor, self.replay_window)
                fix = "ground sn %s --floor %d --force" % (self.key.name, floor)
            else:
                what = "the floor it names (%d) is %d SNs ahead of ours (%d), beyond the resync bound of %d: not followed" % (
                    floor, floor - sent_sn, sent_sn, self.replay_window)
                fix = "ground sn %s --floor %d" % (self.key.name, floor)
            hint = "%s; the downlink is not authenticated: confirm the board's floor before `%s`" % (what, fix)
            raise Rejected(self.port_name, name, _REPLAY, event, hint=hint)
        # a fresh sequence count, so no report about the first frame can pass for one about the retry
        retry = bytearray(packet)
        retry[2:4] = ((packet[2] & 0xC0) << 8 | self.next_seq()).to_bytes(2, "big")
        retry[-2:] = codec.crc16(bytes(retry[:-2])).to_bytes(2, "big")
        sn = self.key.try_sn(floor + 1)
        try:
            result = self.send_packet(bytes(retry), name, timeout, on_packet, _sn=sn)
        except CommandFailed:
            self.key.confirm_sn(sn)  # a failure report: the frame passed the security check
            raise
        except BaseException:
            self.key.revert_sn()
            raise
        if result.reports:
            self.key.confirm_sn(sn)
        else:
            self.key.revert_sn()  # no report asked for, or none came: nothing confirms the floor
        return result

    def _silent(self, name, timeout, what):
        hint = ""
        if self.bad_packets:
            hint = " (%d undecodable packets; last: %s)" % (self.bad_packets, self.last_error)
        raise BoardSilent("%s: %s for %s within %.1f s%s" % (self.port_name, what, name, timeout, hint), timeout)

    @staticmethod
    def is_report_for(p, request_id):
        """True for an ST1 report on the TC of `request_id`."""
        return p["type"] == "tm" and p["service"] == _ST1 and p["data"].get("request_id") == request_id

    def security_verdict(self, p, sn):
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
