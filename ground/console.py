"""`ground console`: one terminal session with a board (or a SITL it starts).

    ground console --port /dev/ttyACM0
    ground console --sitl rover --runtime cpython        # starts its own SITL, as `ground sitl` would

Live telemetry is printed above the input line as it arrives (one `show.line` per packet);
commands are typed as for `ground send` (`test.ping`, `hk.change_interval obc:2000`), with Tab
completion from the dictionary (command names, then argument names and the values an argument
may be given by name) and a readline history in `$MITRA_HOME/console_history`. Each command's
ST1 reports are shown as they come (accepted, started, progress, completed, or the failure with
its error name) while telemetry keeps flowing; the prompt is back at once. ST13 transfers show a
progress bar when standard output is a terminal (plain lines otherwise) and their products are
written to `--output`, as `ground fetch` writes them.

One I/O thread owns the link: it writes the queued TCs (paced as GroundLink paces them: the next
goes out once the previous one was accepted or rejected, or the board's ack window has passed),
reads and decodes the downlink, follows the ST1 reports, and records both directions in the
mission archive (ground.archive.Recorder; its SQLite connection stays in that thread). The input
line only parses and checks: a bad line costs one message and the console keeps running. When
the port goes away the console says so once and reopens it when it comes back.
"""

import queue
import shlex
import shutil
import sys
import threading
import time
from collections import namedtuple

from ground import args as cliargs
from ground import codec
from ground import dictionary as d
from ground import show
from ground import transfer
from ground.errors import ArgumentError, MitraError, PortLost
from ground.link import CommandFailed, LinkError, Rejected

PROMPT = "mitra> "
HISTORY_LENGTH = 1000
RECONNECT_S = 1.0  # between attempts to reopen a port that went away
QUIET_S = 2.0  # leaving waits for an unfinished transfer until no part came for this long
BAR_WIDTH = 24

BUILTINS = {
    "help": "help [COMMAND]: the commands, or one command's arguments",
    "hk": "hk on|off: print housekeeping reports or not (they are archived either way)",
    "wait": "wait SECONDS: keep showing telemetry, reading no input, for that long (scripts: a transfer after its command)",
    "quit": "quit: wait for the reports of the commands in flight, then leave (also `exit`, Ctrl-D)",
    "exit": "exit: as quit",
}

_ST1 = d.SERVICE_BY_NAME["verification"].number
# ST1 subtype -> (stage, success)
_REPORTS = {d.key("verification.%s_%s" % (stage, outcome))[1]: (stage, outcome == "success")
            for stage in ("acceptance", "start", "progress", "completion") for outcome in ("success", "failure")}
_DONE_WORDS = {"acceptance": "accepted", "start": "started", "progress": "progress", "completion": "completed"}
_LAST_PART = d.key("large.last_part")[1]


# --- parsing and completion (no link needed) -------------------------------------------------


Line = namedtuple("Line", "builtin words command values")  # builtin: its name, or None for a TC


def parse(text):
    """One console line -> Line, or None for a blank line or a comment.

    Raises ArgumentError (the line does not split, a bad argument) or DictionaryError (no such
    command): both MitraErrors whose message is the one line the console prints."""
    try:
        words = shlex.split(text, comments=True)
    except ValueError as exc:
        raise ArgumentError("cannot read the line: %s" % exc) from None
    if not words:
        return None
    head, rest = words[0], words[1:]
    if head in BUILTINS:
        return Line(head, rest, None, _builtin_value(head, rest))
    command = d.command(head)
    return Line(None, rest, command, cliargs.payload(command, rest))


def _builtin_value(name, words):
    """The checked argument of a built-in: hk -> True/False, wait -> seconds, others -> the words."""
    if name == "hk":
        if words not in (["on"], ["off"]):
            raise ArgumentError("hk: expected 'on' or 'off', got %r" % " ".join(words))
        return words == ["on"]
    if name == "wait":
        import argparse

        try:
            (seconds,) = [cliargs.seconds(w) for w in words]
        except (ValueError, argparse.ArgumentTypeError):  # not one word, or not a finite number > 0
            raise ArgumentError("wait: expected SECONDS > 0, got %r" % " ".join(words)) from None
        return seconds
    return words


def _names(field):
    """The words a value of `field` may be given by: an enumeration's names, or the parameter,
    event and HK structure names that args.scalar accepts for param_id, event_id and sid."""
    names = getattr(field, "names", None)
    if names:
        return sorted(names.values())
    return sorted(cliargs._NAMED.get(field.name, ()))  # the same table the parser reads them with


def candidates(before, word):
    """What Tab offers for `word` (the word under the cursor) after the text `before` it.

    Complete words end in a space; `NAME=` and the first part of an `A:B` item do not, since a
    value follows them (Python's readline appends nothing itself)."""
    tokens = before.split()
    if not tokens or tokens == ["help"]:  # a command, or help's one argument
        return sorted(n + " " for n in list(d.COMMANDS) + list(BUILTINS) if n.startswith(word))
    head = tokens[0]
    if head == "hk":
        return [w for w in ("off ", "on ") if w.startswith(word)] if len(tokens) == 1 else []
    if head in BUILTINS:
        return []
    if head == "sched.insert" and len(tokens) >= 2:  # AT COMMAND [ARGS...]: the inner command completes as one
        return candidates(" ".join(tokens[2:]) + " " if len(tokens) > 2 else "", word)
    command = d.COMMANDS.get(head)
    if command is None:
        return []
    return sorted(w for w in _argument_words(command, tokens[1:], word) if w.startswith(word))


def _argument_words(command, given, word):
    fields = command.payload
    if "=" in word:  # NAME=VALUE: the values NAME may be given by
        key = word.split("=", 1)[0]
        for field in fields:
            if isinstance(field, d.F) and field.name == key:
                return ["%s=%s " % (key, v) for v in _names(field)]
        return []  # param.set's PARAMETER=VALUE: a number
    if len(fields) == 1 and isinstance(fields[0], d.List):  # the list's items are the arguments
        item = fields[0].item
        if any(isinstance(x, d.ParamValue) for x in item):
            return [p.name + "=" for p in d.PARAMS if p.writable]
        if len(item) == 1:
            return [v + " " for v in _names(item[0])]
        return [v + ":" for v in _names(item[0])]  # hk.change_interval obc:2000
    words = ["now "] if command.name == "time.set_time" and not given else []
    named = {t.split("=", 1)[0] for t in given if "=" in t}
    positional = [t for t in given if "=" not in t]
    # args.payload fills the fields not given by name in order from the positional words
    left = [f for f in fields if isinstance(f, d.F) and f.name not in named][len(positional):]
    words += [f.name + "=" for f in left]
    if left:  # the next positional argument: the names its value may be given by
        words += [v + " " for v in _names(left[0])]
    return words


def _field_text(field):
    if isinstance(field, d.F):
        kind = [field.type + (" " + field.units if field.units else "")]
        if field.minimum is not None or field.maximum is not None:
            lo, hi = d.SCALARS[field.type][2:]
            kind.append("%s..%s" % (lo if field.minimum is None else field.minimum, hi if field.maximum is None else field.maximum))
        if _names(field):
            kind.append("one of " + "|".join(_names(field)))
        return "%s (%s): %s" % (field.name, ", ".join(kind), field.doc)
    if isinstance(field, d.List):
        parts = ":".join(x.name.upper() for x in field.item)
        return "%s: %s... (%s)" % (field.name, parts, field.doc)
    return "%s: %s" % (field.name, field.doc)


def describe(name=None):
    """`help` text: every command by name, or one command with its arguments."""
    if name is None:
        lines = ["built-in: " + ", ".join(BUILTINS), "commands (Tab completes; `help COMMAND` for its arguments):"]
        width = max(len(n) for n in d.COMMANDS) + 2
        lines += ["  %-*s%s" % (width, n, (c.doc or "").splitlines()[0] if c.doc else "") for n, c in sorted(d.COMMANDS.items())]
        return "\n".join(lines)
    if name in BUILTINS:
        return BUILTINS[name]
    command = d.command(name)
    lines = ["%s: %s" % (name, command.doc)]
    lines += ["  " + _field_text(f) for f in command.payload] or ["  (no arguments)"]
    return "\n".join(lines)


# --- the screen ------------------------------------------------------------------------------


class Screen:
    """Lines printed above the input line. On a terminal the prompt and what has been typed so
    far are drawn again below each line, and a transfer's progress bar is rewritten in place
    while nothing else was printed after it; elsewhere every line is plain text."""

    def __init__(self, out=None, err=None, tty=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tty = self.out.isatty() if tty is None else tty
        self.lock = threading.RLock()
        self.prompting = False  # the main thread is in input(): redraw its line after ours
        self._bar = None  # key of the bar on the line just above the prompt

    def _typed(self):
        import readline

        return readline.get_line_buffer()

    def _put(self, text, over_bar=False):
        with self.lock:
            if self.tty:
                self.out.write("\r\x1b[2K" + ("\x1b[1A\r\x1b[2K" if over_bar else "") + text + "\n")
                if self.prompting:
                    self.out.write(PROMPT + self._typed())
            else:
                self.out.write(text + "\n")
            self.out.flush()

    def say(self, text):
        with self.lock:
            for line in str(text).splitlines() or [""]:
                self._put(line)
            self._bar = None

    def error(self, text):
        """A one-line complaint: above the prompt on a terminal, on stderr otherwise."""
        if self.tty:
            self.say("ground: %s" % text)
        else:
            with self.lock:
                self.err.write("ground: %s\n" % text)
                self.err.flush()

    def bar(self, key, text):
        """A progress line for `key`, rewritten in place while it is the last line printed (terminal only)."""
        with self.lock:
            width = shutil.get_terminal_size((80, 24)).columns
            self._put(text[: max(10, width - 1)], over_bar=self._bar == key)
            self._bar = key


def progress_text(t):
    """`transfer 7 image [#######-----]  12/40 parts  2880/9600 octets` for a Transfer."""
    got = len(t.parts)
    octets = sum(len(v) for v in t.parts.values())
    if t.total:
        filled = min(BAR_WIDTH, BAR_WIDTH * got // t.total)
        bar = "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"
    else:
        bar = "[" + "?" * BAR_WIDTH + "]"
    size = "%d/%s octets" % (octets, t.size if t.size is not None else "?")
    return "transfer %d %s %s %d/%s parts %s" % (t.transaction, t.product or "?", bar, got, t.total if t.total else "?", size)


# --- the link's thread -----------------------------------------------------------------------


class _Pending:
    def __init__(self, name, request_id, seq, sn):
        self.name = name
        self.request_id = request_id
        self.label = "%s #%d" % (name, seq)
        self.sn = sn  # the uplink SN it went under (None: clear mode), to match a security rejection
        self.sent = self.last = time.monotonic()
        self.accepted = False


class Session:
    """The I/O thread and what it follows: TCs in flight, transfers, the archive."""

    def __init__(self, screen, link, reopen, archive=None, timeout=10.0, output="."):
        self.screen = screen
        self.link = link  # ground.link.GroundLink; None while the port is gone
        self.port = link.port_name
        self.reopen = reopen  # () -> a new GroundLink on the same port (raises while it is gone)
        self.archive = archive  # path of the mission archive, or None
        self.timeout = timeout  # seconds without a report before a TC is given up on
        self.output = output
        self.outbox = queue.Queue()
        self.pending = {}  # request ID -> _Pending
        self.reasm = transfer.Reassembler()
        self.written = set()  # ids of the Transfer objects whose product was written
        self.receiving = False  # a transfer started and its product is not written yet
        self.last_part = 0.0  # when its last part (or its start) came
        self.recorder = None
        self.show_hk = True  # `hk off`: housekeeping reports are archived, not printed
        self._stop = threading.Event()
        self._queued = 0  # submitted, not yet sent or refused
        self._count = threading.Lock()
        self._next_try = 0.0
        self._thread = threading.Thread(target=self._run, name="ground-console-link", daemon=True)

    # --- the input side (main thread) ---

    def start(self):
        self._thread.start()
        return self

    def submit(self, command, values):
        if not self._thread.is_alive():
            raise LinkError("%s: not sent: the link thread has stopped (see above); quit and start the console again" % command.name)
        with self._count:
            self._queued += 1
        self.outbox.put((command, values))

    def _taken(self):
        with self._count:
            self._queued -= 1

    def busy(self):
        """TCs queued or in flight, or a transfer still coming in."""
        receiving = self.receiving and time.monotonic() - self.last_part < QUIET_S
        return self._queued > 0 or bool(self.pending) or receiving

    def drain(self):
        """Wait until every queued TC went out and every TC in flight was answered or given up on."""
        while self._thread.is_alive() and self.busy():
            time.sleep(0.05)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5.0)

    # --- the link's thread ---

    def _run(self):
        from ground.archive import Recorder

        try:
            if self.archive is not None:
                self.recorder = Recorder(self.archive, port=self.port)  # made here: SQLite objects stay in their thread
                self.link.recorder = self.recorder
            while not self._stop.is_set():
                if self.link is None:
                    self._reconnect()
                    continue
                try:
                    self._send_ready()
                    for p in self.link.read(0.1):
                        self._take(p)
                    self._expire()
                except PortLost as exc:
                    self._lost(exc)
        except Exception as exc:  # the console must say why it stopped following the link, in one line
            self.screen.error("the link thread stopped: %s: %s" % (type(exc).__name__, exc))
        finally:
            if self.link is not None:
                self.link.close()
            if self.recorder is not None:
                self.recorder.close()

    def _pacing(self):
        """True while the last TC sent waits for its acceptance within the board's ack window."""
        window = self.link.ack_window_s
        now = time.monotonic()
        return any(not p.accepted and now - p.sent < window for p in self.pending.values())

    def _send_ready(self):
        while not self._pacing():
            try:
                command, values = self.outbox.get_nowait()
            except queue.Empty:
                return
            try:
                self._send(command, values)
            finally:
                self._taken()

    def _send(self, command, values):
        link = self.link
        seq = link.next_seq()
        packet = codec.encode_command(command, values, seq_count=seq, apid=link.apid)
        sn = link.key.next_sn if link.key is not None else None
        try:
            link.write_packet(packet, command.name)
        except PortLost:
            self.screen.error("%s #%d: the port went away while it was being sent: it may or may not have executed" % (command.name, seq))
            raise
        except MitraError as exc:  # too long for one frame: refused before anything was written
            self.screen.error(str(exc))
            return
        pending = _Pending(command.name, codec.request_id(packet), seq, sn)
        self.pending[pending.request_id] = pending
        self.screen.say("%s: sent" % pending.label)

    def _take(self, p):
        if p["type"] == "tm" and p["service"] == _ST1 and p["data"].get("request_id") in self.pending:
            self._report(self.pending[p["data"]["request_id"]], p)
            return
        for pending in list(self.pending.values()):
            reason = self.link.security_verdict(p, pending.sn)
            if reason is not None:  # the board's security layer discarded this TC's frame
                del self.pending[pending.request_id]
                hint = None
                if reason == d.SECURITY_REASON_BY_NAME["replay"] and self.link.key is not None:
                    floor = p["data"]["aux"]["floor"]
                    hint = "the board's floor is %d; if you trust the downlink: ground sn %s --floor %d" % (floor, self.link.key.name, floor)
                self.screen.error("%s: %s" % (pending.label, Rejected(self.port, pending.name, reason, p, hint=hint)))
                return
        tid = self.reasm.feed(p)
        if tid is None:
            if self.show_hk or p.get("name") != "hk.report":
                self.screen.say(show.line(p))
            return
        if transfer.is_started(p):
            self.screen.say(show.line(p))
        self._transfer(self.reasm.transfers[tid], last=transfer.is_part(p) and p["subtype"] == _LAST_PART)

    def _report(self, pending, p):
        stage, ok = _REPORTS[p["subtype"]]
        pending.last = time.monotonic()
        if not ok:
            del self.pending[pending.request_id]
            failed = CommandFailed(stage, p["data"]["error"], pending.label, [p])
            self.screen.say("%s: FAILED at %s: %s (%d)" % (pending.label, stage, failed.error, failed.code))
            return
        if stage == "acceptance":
            pending.accepted = True
        text = _DONE_WORDS[stage]
        if stage == "progress":
            text = "progress step %d" % p["data"].get("step", 0)
        if stage == "completion":
            del self.pending[pending.request_id]
            text += " in %.3f s" % (pending.last - pending.sent)
        self.screen.say("%s: %s" % (pending.label, text))

    def _expire(self):
        now = time.monotonic()
        for pending in list(self.pending.values()):
            if now - pending.last >= self.timeout:
                del self.pending[pending.request_id]
                what = "no completion report" if pending.accepted else "no verification report"
                self.screen.error("%s: %s within %.1f s (board silent? it may or may not have executed)" % (pending.label, what, self.timeout))

    def _transfer(self, t, last):
        if id(t) in self.written:
            return
        self.last_part = time.monotonic()
        self.receiving = True
        if t.complete and (t.announced or last):
            self.written.add(id(t))
            self.receiving = any(id(x) not in self.written for x in self.reasm.transfers.values())
            try:
                path = transfer.write_product(t, self.output)
            except (MitraError, ValueError, OSError) as exc:
                self.screen.error("transfer %d: %s" % (t.transaction, exc))
                return
            if self.screen.tty:
                self.screen.bar(t.transaction, progress_text(t))
            unchecked = "" if t.announced else " (no transfer_started seen: CRC not checked)"
            octets = sum(len(t.parts[n]) for n in range(t.total))
            self.screen.say("transfer %d: %s complete, %d octets: %s%s" % (t.transaction, t.product or "product", octets, path, unchecked))
            return
        if self.screen.tty:
            self.screen.bar(t.transaction, progress_text(t))
        if last and not t.complete:
            missing = t.missing()
            self.screen.say("transfer %d: last part in, %d missing: large.resend %d %s"
                            % (t.transaction, len(missing), t.transaction, " ".join(str(n) for n in missing[: transfer.MAX_RESEND_ITEMS])))

    def _lost(self, exc):
        self.screen.error("%s; reopening it every %.0f s" % (exc, RECONNECT_S))
        for pending in self.pending.values():
            self.screen.error("%s: no report before the port went away: it may or may not have executed" % pending.label)
        self.pending.clear()
        self.link.close()
        self.link = None
        self._next_try = time.monotonic() + RECONNECT_S

    def _reconnect(self):
        while True:  # what was typed meanwhile cannot go out
            try:
                command, _ = self.outbox.get_nowait()
            except queue.Empty:
                break
            self._taken()
            self.screen.error("%s: not sent: %s is gone" % (command.name, self.port))
        if time.monotonic() < self._next_try:
            self._stop.wait(0.1)
            return
        self._next_try = time.monotonic() + RECONNECT_S
        try:
            link = self.reopen()
        except MitraError:
            return  # still gone: try again later, quietly
        link.recorder = self.recorder
        self.link = link
        self.screen.say("%s: reopened" % self.port)


# --- the command-line entry --------------------------------------------------------------------


def history_path():
    from ground.keys import mitra_home

    return mitra_home() / "console_history"


def _readline(screen):
    """Set up Tab completion and the history file; returns a function that saves the history."""
    import readline

    readline.set_completer_delims(" \t")
    readline.parse_and_bind("tab: complete")

    def complete(word, state):
        if state == 0:
            buffer = readline.get_line_buffer()
            complete.found = candidates(buffer[: readline.get_begidx()], word)
        return complete.found[state] if state < len(complete.found) else None

    complete.found = []
    readline.set_completer(complete)
    path = history_path()
    try:
        readline.read_history_file(str(path))
    except FileNotFoundError:
        pass
    except OSError as exc:
        screen.error("history %s not read: %s" % (path, exc))
    readline.set_history_length(HISTORY_LENGTH)

    def save():
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            readline.write_history_file(str(path))
        except OSError as exc:
            screen.error("history %s not written: %s" % (path, exc))

    return save


def _lines(screen, interactive):
    """The operator's lines; ends at Ctrl-D (or the end of a piped input). Ctrl-C clears the line."""
    while True:
        if interactive:
            screen.prompting = True
            try:
                line = input(PROMPT)
            except EOFError:
                screen.out.write("\n")
                return
            except KeyboardInterrupt:
                with screen.lock:
                    screen.out.write("\n")  # the line typed so far is dropped; a fresh prompt follows
                    screen.out.flush()
                continue
            finally:
                screen.prompting = False  # before the line is acted on: its messages need no prompt redrawn
            yield line
        else:
            line = sys.stdin.readline()
            if not line:
                return
            yield line


def interact(session, screen, interactive):
    """Read and act on lines until quit; returns the exit status."""
    for text in _lines(screen, interactive):
        try:
            line = parse(text)
        except MitraError as exc:
            screen.error(str(exc))
            continue
        if line is None:
            continue
        if line.builtin in ("quit", "exit"):
            break
        if line.builtin == "hk":
            session.show_hk = line.values
            continue
        if line.builtin == "wait":
            try:
                time.sleep(line.values)
            except KeyboardInterrupt:
                if not interactive:
                    raise
                screen.out.write("\n")  # Ctrl-C ends the wait, back at the prompt
            continue
        if line.builtin == "help":
            try:
                screen.say(describe(line.words[0] if line.words else None))
            except MitraError as exc:
                screen.error(str(exc))
            continue
        try:
            session.submit(line.command, line.values)
        except MitraError as exc:
            screen.error(str(exc))
    if session.busy():
        screen.say("waiting for the reports of the commands in flight (Ctrl-C leaves now)")
        session.drain()
    return 0


def add_parser(sub):
    """The `console` subcommand on `sub`; returns (parser, handler) for cli.py's table."""
    from ground.args import add_link_options, seconds

    p = sub.add_parser("console", help="one terminal session: live telemetry, commands with completion and history, live verification")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the board or of `ground sitl`")
    where.add_argument("--sitl", choices=sorted(d.VEHICLE_BY_NAME) + ["obc"], help="start a SITL of this vehicle ('obc': the on-board computer alone) and talk to it")
    add_link_options(p, port=False)  # --key --clear --board --baud --ack-window, as send and tlm
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython", help="--sitl: the flight app's runtime")
    p.add_argument("--timeout", type=seconds, default=10.0, help="seconds without a report before a TC is given up on")
    from ground import archive_cli

    archive_cli.add_link_options(p)  # --mission NAME, --no-archive: as send, tlm and fetch
    p.add_argument("-o", "--output", default=".", help="directory for ST13 products (default: .)")
    return p, run


def open_link(opts):
    """A GroundLink on `opts.port` with the link's key, as `ground send` opens one; the recorder is
    the Session's, made in its own thread."""
    from ground import cli

    return cli.open_link(opts, archived=False)


def run(opts):
    from ground import cli
    from ground.archive import mission_path

    screen = Screen()
    archive = None if opts.no_archive else mission_path(opts.mission)  # a bad name fails before anything starts
    sitl = None
    if opts.sitl is not None:
        sitl = cli.start_sitl(opts.board, opts.runtime, vehicle=None if opts.sitl == "obc" else opts.sitl, log=screen.say)
        opts.port = sitl.port
    try:
        link = open_link(opts)
        session = Session(screen, link, lambda: open_link(opts), archive=archive, timeout=opts.timeout, output=opts.output).start()
        interactive = sys.stdin.isatty() and screen.tty
        save = _readline(screen) if interactive else None
        screen.say("console on %s%s; archive: %s; `help` lists the commands, Tab completes, Ctrl-D quits"
                   % (opts.port, " (SITL %s on %s)" % (opts.sitl, opts.runtime) if sitl else "", archive or "off"))
        try:
            return interact(session, screen, interactive)
        except KeyboardInterrupt:
            return 0  # Ctrl-C while waiting for the last reports: leave now
        finally:
            if save is not None:
                save()
            session.close()
    finally:
        if sitl is not None:
            sitl.stop()

