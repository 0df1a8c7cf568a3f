"""ground/console.py: parsing, completion and the screen as functions; the session against a SITL
with its input piped (plain lines); and in a real terminal (tmux send-keys / capture-pane)."""

import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

from ground import codec
from ground import console
from ground import dictionary as d
from ground.archive import Archive, mission_path
from ground.console import Screen, candidates, describe, parse, progress_text
from ground.errors import ArgumentError, DictionaryError, MitraError
from ground.sitl import Sitl
from ground.transfer import Transfer, crc16
from hil.plugin import unavailable

pytestmark = pytest.mark.usefixtures("mitra_home")  # tests/ground/conftest.py: keys, archive, history


# --- completion -------------------------------------------------------------------------------


def test_completes_command_names_with_a_trailing_space():
    assert candidates("", "test.pi") == ["test.ping "]
    assert candidates("", "hk.change_") == ["hk.change_interval "]
    assert "quit " in candidates("", "q")


def test_completes_nothing_for_an_unknown_command():
    assert candidates("", "nosuch.") == []
    assert candidates("nosuch.cmd ", "") == []


def test_completes_enumerated_values_and_argument_names():
    assert candidates("rover_mobility.set_mode ", "") == ["CHARGE ", "DRILL ", "DRIVE ", "IDLE ", "SURVIVAL ", "mode="]
    assert candidates("rover_mobility.set_mode ", "mode=D") == ["mode=DRILL ", "mode=DRIVE "]


def test_completes_only_the_arguments_not_given_yet():
    # x given by position: y, z and t are left; no value names (floats)
    assert candidates("inspector_gnc.approach 1 ", "") == ["t=", "y=", "z="]
    assert candidates("inspector_gnc.approach y=2 ", "") == ["t=", "x=", "z="]


def test_completes_dictionary_names_in_lists():
    assert candidates("param.set ", "obc.hk") == ["obc.hk_period_ms="]  # NAME=VALUE: no space, a value follows
    assert candidates("hk.one_shot ", "o") == ["obc "]
    assert candidates("hk.change_interval ", "ob") == ["obc:"]  # SID:INTERVAL
    assert candidates("event.enable ", "boo") == ["boot "]


def test_completes_inner_command_of_a_schedule_insert():
    assert candidates("sched.insert +10 ", "test.p") == ["test.ping "]
    assert candidates("sched.insert +10 rover_mobility.set_mode ", "S") == ["SURVIVAL "]


def test_completes_builtins_arguments():
    assert candidates("help ", "test.p") == ["test.ping "]
    assert candidates("hk ", "o") == ["off ", "on "]
    assert candidates("time.set_time ", "n") == ["now "]


# --- parsing ------------------------------------------------------------------------------------


def test_parse_blank_and_comment_lines_are_nothing():
    assert parse("") is None
    assert parse("   # a note") is None


def test_parse_builtin_and_command():
    assert parse("help test.ping").builtin == "help"
    assert parse("hk off").values is False
    assert parse("wait 2.5").values == 2.5
    line = parse("hk.change_interval obc:2000")
    assert line.builtin is None and line.command.name == "hk.change_interval"
    assert line.values == {"intervals": [{"sid": 1, "interval_ms": 2000}]}
    assert parse("rover_mobility.set_mode DRIVE").values == {"mode": 2}


@pytest.mark.parametrize("text, error, message", [
    ("nosuch.cmd", DictionaryError, "unknown service or component 'nosuch'"),
    ("test.pong", DictionaryError, "unknown command 'test.pong' (known: test.ping)"),
    ("test.ping 3", ArgumentError, "test.ping takes no arguments (got 3)"),
    ("rover_mobility.set_mode FLY", ArgumentError, "mode: 'FLY' is not an integer or one of: CHARGE, DRILL, DRIVE, IDLE, SURVIVAL"),
    ("rover_mobility.set_mode 9", ArgumentError, "mode: 9 outside its range"),
    ("test.ping 'open", ArgumentError, "cannot read the line: No closing quotation"),
    ("hk maybe", ArgumentError, "hk: expected 'on' or 'off', got 'maybe'"),
    ("wait", ArgumentError, "wait: expected SECONDS > 0, got ''"),
    ("wait -1", ArgumentError, "wait: expected SECONDS > 0, got '-1'"),
    ("wait 1 2", ArgumentError, "wait: expected SECONDS > 0, got '1 2'"),
])
def test_parse_bad_lines_raise_one_line_errors(text, error, message):
    with pytest.raises(error) as info:
        parse(text)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_describe_names_arguments_with_their_ranges_and_names():
    text = describe("rover_mobility.set_mode")
    assert text.splitlines()[1].startswith("  mode (u8, 0..4, one of CHARGE|DRILL|DRIVE|IDLE|SURVIVAL)")
    assert "test.ping" in describe()
    with pytest.raises(DictionaryError):
        describe("nosuch.cmd")


# --- the screen ---------------------------------------------------------------------------------


class Out(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


def _transfer(parts, total=4):
    t = Transfer(7)
    t.announce({"product": 0, "size": 40, "crc": 0, "parts": total})
    for n in range(parts):
        t.add(n, b"x" * 10)
    return t


def test_progress_text_counts_parts_and_octets():
    text = progress_text(_transfer(1))
    assert text.startswith("transfer 7 ")
    assert "[" + "#" * 6 + "-" * 18 + "]" in text  # 1 of 4 parts of a 24-wide bar
    assert text.endswith("1/4 parts 10/40 octets")


def test_plain_screen_prints_lines_without_escapes_or_bars():
    out, err = Out(False), Out(False)
    screen = Screen(out, err)
    screen.say("one")
    screen.error("bad")
    assert out.getvalue() == "one\n"
    assert err.getvalue() == "ground: bad\n"
    assert not screen.tty


def test_terminal_screen_rewrites_a_bar_in_place_only_while_it_is_last():
    out = Out(True)
    screen = Screen(out, Out(True))
    up = "\x1b[1A"
    screen.bar(7, progress_text(_transfer(1)))
    assert up not in out.getvalue()
    screen.bar(7, progress_text(_transfer(2)))
    assert out.getvalue().count(up) == 1  # the second bar replaced the first
    screen.say("TM something")
    screen.bar(7, progress_text(_transfer(3)))
    assert out.getvalue().count(up) == 1  # a line came between: a new bar line, nothing overwritten
    assert out.getvalue().endswith("3/4 parts 30/40 octets\n")


# --- the session's downlink side, fed decoded packets (no link) ----------------------------------------

STARTED = d.EVENT_BY_NAME["transfer_started"].id
LOG = 3  # d.obc.PRODUCTS
PART = 16


def _log_packets(tid, data):
    """transfer_started, then the parts, each encoded and decoded through the codec as the link hands them over."""
    count = -(-len(data) // PART)
    aux = {"transaction": tid, "product": LOG, "size": len(data), "parts": count, "crc": crc16(data)}
    out = [codec.decode(codec.encode_tm(5, 1, {"event_id": STARTED, "aux": aux}, apid=1))]
    for k in range(count):
        name = "large.first_part" if k == 0 else "large.last_part" if k == count - 1 else "large.intermediate_part"
        chunk = data[k * PART:(k + 1) * PART]
        out.append(codec.decode(codec.encode_tm(*d.key(name), {"transaction": tid, "part": k, "data": chunk}, apid=1)))
    return out


class _NoLink:
    port_name = "/dev/null-board"


def test_session_names_missing_parts_then_writes_the_product(tmp_path):
    out, err = Out(False), Out(False)
    session = console.Session(Screen(out, err), _NoLink(), reopen=None, output=str(tmp_path))
    data = bytes(range(100))
    started, *parts = _log_packets(5, data)
    for p in [started] + parts[:3] + parts[4:]:  # part 3 lost
        session._take(p)
    assert "transfer 5: last part in, 1 missing: large.resend 5 3" in out.getvalue().splitlines()
    assert session.busy()  # leaving waits a little for the rest of a transfer
    session._take(parts[3])  # the resend brings it
    last = out.getvalue().splitlines()[-1]
    assert last == "transfer 5: log complete, 100 octets: %s" % (tmp_path / "log-00005.txt")
    assert (tmp_path / "log-00005.txt").read_bytes() == data
    assert not session.busy()
    assert not any(line.startswith("transfer 5 log [") for line in out.getvalue().splitlines())  # no bar on a pipe
    assert err.getvalue() == ""


def test_session_draws_one_bar_per_transfer_on_a_terminal(tmp_path):
    out = Out(True)
    session = console.Session(Screen(out, Out(True)), _NoLink(), reopen=None, output=str(tmp_path))
    started, *parts = _log_packets(6, bytes(200))
    for p in [started] + parts:
        session._take(p)
    text = out.getvalue()
    assert text.count("\x1b[1A") == len(parts)  # the first bar (at the start event) redrawn once per part
    assert "transfer 6 log [" + "#" * console.BAR_WIDTH + "] %d/%d parts 200/200 octets" % (len(parts), len(parts)) in text


class _BrokenLink:
    port_name = "/dev/null-board"
    ack_window_s = 0.5
    closed = False

    def read(self, timeout):
        raise RuntimeError("decoder bug")

    def close(self):
        self.closed = True


def test_session_whose_thread_dies_says_so_once_and_refuses_commands():
    err = Out(False)
    link = _BrokenLink()
    session = console.Session(Screen(Out(False), err), link, reopen=None).start()
    session.drain()  # returns: the thread is gone
    session.close()
    assert err.getvalue() == "ground: the link thread stopped: RuntimeError: decoder bug\n"
    assert link.closed
    with pytest.raises(MitraError, match=r"^test\.ping: not sent: the link thread has stopped"):
        session.submit(d.command("test.ping"), {})


# --- the session against a SITL, input piped ------------------------------------------------------


class Console:
    """`ground console` as a child process with piped input; its output lines kept as they come."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "ground", "console", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.out, self.err = [], []
        self._threads = [threading.Thread(target=self._pump, args=(s, k), daemon=True)
                         for s, k in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def send(self, *lines):
        for line in lines:
            self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, pattern, where=None, timeout=20):
        where = self.out if where is None else where
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(where):
                m = re.search(pattern, line)
                if m:
                    return m
            time.sleep(0.05)
        raise AssertionError("no line matching %r in:\n%s\nstderr:\n%s" % (pattern, "\n".join(self.out[-20:]), "\n".join(self.err[-20:])))

    def finish(self, timeout=30):
        self.proc.stdin.close()
        code = self.proc.wait(timeout)
        for t in self._threads:
            t.join(5)
        return code


@pytest.fixture
def sitl():
    with Sitl(runtime="cpython", log=lambda line: None) as s:
        yield s


def test_piped_commands_are_verified_live_and_archived(sitl, mitra_home):
    c = Console("--port", sitl.port, "--mission", "t1")
    c.send("test.ping", "large.resend 999")
    code = c.finish()
    assert code == 0, c.err
    ping = c.wait_for(r"^test\.ping #(\d+): completed in [0-9.]+ s$").group(1)
    for stage in ("sent", "accepted", "started"):
        assert "test.ping #%s: %s" % (ping, stage) in c.out
    c.wait_for(r"^TM .* obc #\d+ test\.pong$")
    c.wait_for(r"^large\.resend #\d+: FAILED at start: UNKNOWN_TRANSACTION \(21\)$")
    assert c.err == []
    with Archive(mission_path("t1")) as a:
        outcomes = {o["name"]: [r for r, _ in o["reports"]] for o in a.outcomes()}
    assert outcomes["test.ping"] == ["verification.acceptance_success", "verification.start_success", "verification.completion_success"]
    assert outcomes["large.resend"] == ["verification.acceptance_success", "verification.start_failure"]


def test_bad_lines_get_one_message_each_and_the_console_goes_on(sitl):
    c = Console("--port", sitl.port, "--no-archive")
    c.send("nosuch.cmd", "test.ping 3", "hk.one_shot nosuch", "'open", "hk maybe", "wait 0.1", "test.ping")
    assert c.finish() == 0
    c.wait_for(r"^test\.ping #\d+: completed")
    assert len(c.err) == 5, c.err
    assert all(line.startswith("ground: ") for line in c.err), c.err
    assert c.err[0].startswith("ground: unknown service or component 'nosuch'")
    assert c.err[4] == "ground: hk: expected 'on' or 'off', got 'maybe'"


def test_quit_leaves_without_reading_further(sitl):
    c = Console("--port", sitl.port, "--no-archive")
    c.send("help test.ping", "quit", "test.ping")
    assert c.finish() == 0
    assert any(l.startswith("test.ping: ") for l in c.out), c.out  # help's answer
    assert not any(re.match(r"test\.ping #\d+", l) for l in c.out), c.out


def test_transfer_is_written_and_reported_in_plain_lines(sitl, tmp_path):
    c = Console("--port", sitl.port, "--no-archive", "-o", str(tmp_path / "products"))
    c.send("large.downlink_log")
    assert c.finish() == 0, c.err
    path = c.wait_for(r"^transfer \d+: log complete, \d+ octets: (\S+)$").group(1)
    assert os.path.isfile(path)
    assert not any("\x1b" in l or "[#" in l or "[-" in l for l in c.out), "a bar or an escape on a pipe"


SWALLOW = """\
import sys
while sys.stdin.buffer.read(1):
    pass
"""


def test_board_silent_is_one_message_and_the_console_goes_on(tmp_path):
    program = tmp_path / "swallow.py"
    program.write_text(SWALLOW)
    with Sitl(runtime="cpython", program=program, log=lambda line: None) as silent:
        c = Console("--port", silent.port, "--no-archive", "--timeout", "0.5")
        c.send("test.ping")
        c.wait_for(r"^ground: test\.ping #\d+: no verification report within 0\.5 s", c.err)
        c.send("help test.ping")
        assert c.finish() == 0
    assert any(l.startswith("test.ping: ") for l in c.out)  # help still answered after the silence


def test_port_gone_is_reported_and_reopened_when_it_comes_back(tmp_path):
    link = tmp_path / "port"
    with Sitl(runtime="cpython", security=False, log=lambda line: None) as first:
        os.symlink(first.port, link)
        c = Console("--port", str(link), "--clear", "--no-archive")
        c.send("test.ping")
        c.wait_for(r"^test\.ping #\d+: completed")
    # the first SITL and its pty are gone
    c.wait_for(r"^ground: .*port: the port went away", c.err)
    c.send("test.ping")
    c.wait_for(r"^ground: test\.ping: not sent: .*port is gone$", c.err)
    with Sitl(runtime="cpython", security=False, log=lambda line: None) as second:
        os.unlink(link)
        os.symlink(second.port, link)
        c.wait_for(r"port: reopened$")
        c.send("test.ping")
        assert c.finish() == 0
        assert len([l for l in c.out if re.match(r"test\.ping #\d+: completed", l)]) == 2, c.out


def test_console_starts_and_stops_its_own_sitl():
    c = Console("--sitl", "obc", "--runtime", "cpython", "--no-archive")
    port = c.wait_for(r"^console on (\S+) \(SITL obc on cpython\)").group(1)
    c.send("test.ping")
    assert c.finish() == 0, c.err
    c.wait_for(r"^test\.ping #\d+: completed")
    assert not os.path.exists(port)  # the SITL's pty went with it


def test_security_rejection_is_one_line_naming_the_reason(sitl):
    from ground.keys import KeyStore

    KeyStore().create("not-the-boards")
    c = Console("--port", sitl.port, "--key", "not-the-boards", "--no-archive")
    c.send("test.ping")
    assert c.finish() == 0
    c.wait_for(r"^ground: test\.ping #\d+: %s: board rejected test\.ping: bad_mac \(the MAC does not verify" % re.escape(sitl.port), c.err)
    assert not any(re.match(r"test\.ping #\d+: (accepted|completed)", l) for l in c.out)


def test_missing_port_is_one_line_and_exit_1(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ground", "console", "--port", str(tmp_path / "nope")],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert done.returncode == 1
    assert done.stderr == "ground: %s: no such port (is the board plugged in, or `ground sitl` running?)\n" % (tmp_path / "nope")


def test_bad_mission_name_is_one_line_before_the_port_is_opened(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ground", "console", "--port", str(tmp_path / "nope"), "--mission", "../x"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("ground console: error: argument --mission: mission name '../x'")
    assert done.stderr.count("\n") == 1


# --- in a real terminal -----------------------------------------------------------------------------


def _tmux():
    path = shutil.which("tmux")
    if path is None:
        unavailable("tmux not installed", "CI must have tmux; scripts/bootstrap.sh installs it")
    return path


class Pane:
    """One tmux server of our own (its own socket), one window of 200 x 50."""

    def __init__(self, tmux, socket, command):
        self.base = [tmux, "-S", str(socket), "-f", os.devnull]
        self.run("new-session", "-d", "-x", "200", "-y", "50", command)

    def run(self, *args):
        return subprocess.run(self.base + list(args), capture_output=True, text=True, timeout=10)

    def keys(self, *keys):
        self.run("send-keys", *keys)

    def text(self):
        return self.run("capture-pane", "-p", "-J", "-S", "-").stdout

    def wait_for(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text(), re.M)
            if m:
                return m
            time.sleep(0.1)
        raise AssertionError("no %r on the pane:\n%s" % (pattern, self.text()[-3000:]))

    def close(self):
        self.run("kill-server")


@pytest.fixture
def inspector():
    with Sitl(runtime="cpython", vehicle="inspector", log=lambda line: None) as s:
        yield s


def test_console_in_a_terminal_completes_verifies_and_draws_bars(inspector, mitra_home, tmp_path):
    tmux = _tmux()
    command = "env MITRA_HOME=%s %s -m ground console --port %s -o %s; echo console-exit=$?; sleep 60" % (
        mitra_home, sys.executable, inspector.port, tmp_path / "products")
    pane = Pane(tmux, tmp_path / "tmux.sock", command)
    try:
        pane.wait_for(r"^mitra> $")
        pane.keys("hk", "Space", "off", "Enter")
        pane.keys("test.pi", "Tab")
        pane.wait_for(r"^mitra> test\.ping $")  # completed by Tab, with its space
        pane.keys("Enter")
        pane.wait_for(r"^test\.ping #\d+: completed in [0-9.]+ s$")
        pane.keys("rover_mobility.set_mode ", "Tab", "Tab")  # ambiguous: the second Tab lists
        pane.wait_for(r"CHARGE\s+DRILL\s+DRIVE\s+IDLE\s+SURVIVAL\s+mode=")
        pane.keys("C-c")  # clears the line: a fresh prompt, nothing sent
        pane.wait_for(r"^mitra> $")
        pane.keys("inspector_adcs.set_mode TARGET_POINT", "Enter")
        pane.wait_for(r"^inspector_adcs\.set_mode #\d+: completed")
        pane.keys("inspector_camera.capture 8", "Enter")
        done = pane.wait_for(r"^transfer (\d+): image complete, \d+ octets: (\S+)$")
        tid, parts = done.group(1), re.findall(r"(?m)^transfer %s image \[.*$" % done.group(1), pane.text())
        # the bar went from 0 to every part redrawn in place: a few bar lines (the transfer's events come
        # between), not one per part
        assert 1 <= len(parts) <= 3, parts
        total = re.search(r" (\d+)/(\d+) parts ", parts[-1])
        assert total and total.group(1) == total.group(2) and int(total.group(2)) > len(parts), parts
        assert os.path.isfile(done.group(2))
        pane.keys("nosuch.cmd", "Enter")
        pane.wait_for(r"^ground: unknown service or component 'nosuch'")
        pane.wait_for(r"^mitra> $")
        assert "mitra> mitra>" not in pane.text()  # the message did not draw a prompt that input() draws again
        pane.keys("C-d")
        pane.wait_for(r"^console-exit=0$")
    finally:
        pane.close()
    history = (mitra_home / "console_history").read_text().splitlines()
    assert "test.ping" in [h.strip() for h in history]
    assert not any(h.startswith("rover_mobility") for h in history)  # the line cleared by Ctrl-C never ran
