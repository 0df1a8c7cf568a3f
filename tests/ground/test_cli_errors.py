"""ground/cli.py: every bad input or lost board is one line on stderr and a non-zero exit, never a traceback.

What the operator sees is checked on the real command (`python -m ground` as a subprocess) where the
defect was about a terminal: usage errors, Ctrl-C, a port that goes away mid-command. Ports are pty pairs
opened here: the test plays the board on the master side, and closing the master is the board going
away (the slave then reads EIO, as a USB serial port does once unplugged). MITRA_HOME is a temporary
directory, shared with the subprocesses.
"""

import json
import os
import select
import signal
import subprocess
import sys
import termios
import tty
from pathlib import Path

import pytest
import serial

from ground import codec
from ground.cli import main
from ground.framing import FrameSplitter, frame
from ground.keys import KeyStore, port_link_name
from ground.sitl import Sitl, SitlError

ROOT = Path(__file__).resolve().parents[2]
GUARD_S = 60  # only against a hung test; nothing here is timed


pytestmark = pytest.mark.usefixtures("mitra_home")  # tests/ground/conftest.py


@pytest.fixture
def board():
    """A pty pair: (port path, master fd). The master is the board's end; a test may close it (fd -1 then)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    ends = {"master": master}
    try:
        yield os.ttyname(slave), ends
    finally:
        os.close(slave)
        if ends["master"] >= 0:
            os.close(ends["master"])


def ground(*argv):
    """`python -m ground ARGV` from this tree, running in the background."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "ground", *argv], cwd=str(ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def finish(proc):
    """(exit code, stdout, stderr lines) of a background `ground`."""
    out, err = proc.communicate(timeout=GUARD_S)
    return proc.returncode, out.decode(), err.decode().splitlines()


def run_cli(*argv):
    return finish(ground(*argv))


def run(capsys, *argv):
    """main(argv) in this process -> (exit code, stdout, stderr lines); a usage error's SystemExit code too."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def read_one_frame(master):
    """The first whole frame the ground writes to the board's end (it starts with a lone delimiter)."""
    splitter = FrameSplitter()
    while True:
        ready, _, _ = select.select([master], [], [], GUARD_S)
        assert ready, "the ground sent nothing"
        frames = splitter.feed(os.read(master, 4096))
        if frames:
            return frames[0]


def nothing_written(master):
    ready, _, _ = select.select([master], [], [], 0)
    return not ready


# --- usage errors: one line, exit 2 -------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, line",
    [
        ([], "ground: error: the following arguments are required: COMMAND (see 'ground --help')"),
        (["nope"], "ground: error: argument COMMAND: invalid choice: 'nope' (choose from 'sitl', 'send', ..."),
        (["send"], "ground send: error: the following arguments are required: --port, "
                   "SERVICE.COMMAND|COMPONENT.FUNCTION (see 'ground send --help')"),
        (["encode", "test.ping", "--apid", "zz"], "ground encode: error: argument --apid: 'zz' is not an integer "
                                                  "(see 'ground encode --help')"),
    ],
    ids=["no_command", "unknown_command", "send_without_port", "apid_not_a_number"],
)  # fmt: skip
def test_usage_error_is_one_line_with_a_hint_to_help(argv, line):
    code, out, err = run_cli(*argv)
    assert (code, out, len(err)) == (2, "", 1), err
    if line.endswith("..."):  # the list of subcommands grows
        assert err[0].startswith(line[:-3]) and err[0].endswith(") (see 'ground --help')"), err
    else:
        assert err == [line]


@pytest.mark.parametrize(
    "argv, line",
    [
        (["tlm", "--port", "P", "--count", "-1"], "ground tlm: error: argument --count: must be >= 0, got -1"),
        (["tlm", "--port", "P", "--duration", "nan"], "ground tlm: error: argument --duration: must be a finite number of seconds > 0, got nan"),
        (["tlm", "--port", "P", "--ack-window", "-0.5"], "ground tlm: error: argument --ack-window: must be a finite number of seconds >= 0, got -0.5"),
        (["tlm", "--port", "P", "--baud", "0"], "ground tlm: error: argument --baud: must be > 0, got 0"),
        (["encode", "test.ping", "--ack", "16"], "ground encode: error: argument --ack: must be in 0..15, got 16"),
        (["encode", "test.ping", "--seq", "0x4000"], "ground encode: error: argument --seq: must be in 0..16383, got 0x4000"),
        (["fetch", "--port", "P", "--retries", "-1"], "ground fetch: error: argument --retries: must be >= 0, got -1"),
        (["fetch", "--port", "P", "--wait", "0"], "ground fetch: error: argument --wait: must be a finite number of seconds > 0, got 0"),
        (["fetch", "--port", "P", "--transaction", "65536"], "ground fetch: error: argument --transaction: must be in 0..65535, got 65536"),
    ],
    ids=["count", "duration", "ack_window", "baud", "ack_flags", "seq", "retries", "wait", "transaction"],
)  # fmt: skip
def test_out_of_range_option_is_refused_in_one_line(capsys, argv, line):
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == [line + " (see '%s --help')" % line.split(":")[0]]


# --- send --timeout: refused before anything is sent -----------------------------------------------


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_send_with_a_bad_timeout_sends_nothing(capsys, board, value):
    port, ends = board
    KeyStore().create(port_link_name(port))
    code, out, err = run(capsys, "send", "--port", port, "--timeout", value, "test.ping")
    assert (code, out) == (2, "")
    assert err == ["ground send: error: argument --timeout: must be a finite number of seconds > 0, got %s "
                   "(see 'ground send --help')" % value]  # fmt: skip
    assert nothing_written(ends["master"])


# --- the port: not a serial device, or gone mid-command ------------------------------------------------


@pytest.mark.parametrize("kind", ["a directory", "a regular file", "a character device that is not a terminal"])
def test_send_to_something_that_is_no_serial_port_says_what_it_is(capsys, tmp_path, kind):
    path = {"a directory": tmp_path, "a regular file": tmp_path / "notes.txt", "a character device that is not a terminal": Path("/dev/null")}[kind]
    if kind == "a regular file":
        path.write_text("not a board\n")
    code, out, err = run(capsys, "send", "--port", str(path), "--clear", "test.ping")
    assert (code, out, err) == (1, "", ["ground: %s: not a serial port (%s)" % (path, kind)])


def test_send_when_the_port_goes_away_after_the_tc_says_it_may_have_executed(board):
    port, ends = board
    KeyStore().create(port_link_name(port))
    proc = ground("send", "--port", port, "--timeout", str(GUARD_S), "test.ping")
    try:
        read_one_frame(ends["master"])  # the TC is out
        os.close(ends["master"])  # the board goes away before it reports
        ends["master"] = -1
        code, out, err = finish(proc)
    finally:
        proc.kill()
    assert (code, out) == (1, "")
    assert err == ["ground: %s: the port went away after test.ping was sent (board unplugged or SITL stopped?): "
                   "it may or may not have executed" % port]  # fmt: skip


def test_send_when_the_port_goes_away_before_the_tc_says_it_did_not_execute(capsys, board, monkeypatch):
    port, ends = board

    def gone(self):
        raise termios.error(5, "Input/output error")  # what tcflush says once the board is unplugged

    monkeypatch.setattr(serial.Serial, "reset_input_buffer", gone)
    code, out, err = run(capsys, "send", "--port", port, "--clear", "test.ping")
    assert (code, out) == (1, "")
    assert err == ["ground: %s: the port went away before test.ping was sent (board unplugged or SITL stopped?): "
                   "it did not execute" % port]  # fmt: skip
    assert nothing_written(ends["master"])


def test_tlm_when_the_port_goes_away_says_so_in_one_line(board):
    port, ends = board
    proc = ground("tlm", "--port", port, "--clear")
    try:
        tm = b"\x00" + frame(codec.encode_tm(17, 2, {}, seq_count=3, message_counter=3))  # test.pong
        for _ in range(GUARD_S * 2):  # the port flushes its input when the ground opens it: repeat until one is printed
            os.write(ends["master"], tm)
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                break
        assert ready and "test.pong" in proc.stdout.readline().decode()  # tlm is reading the port
        os.close(ends["master"])
        ends["master"] = -1
        code, out, err = finish(proc)
    finally:
        proc.kill()
    assert (code, out) == (1, "")
    assert err == ["ground: %s: the port went away (board unplugged or SITL stopped?)" % port]


def test_fetch_when_the_port_goes_away_says_so_in_one_line(capsys, board, monkeypatch):
    port, _ = board

    def gone(self, size=1):
        raise serial.SerialException("device reports readiness to read but returned no data (device disconnected or multiple access on port?)")

    monkeypatch.setattr(serial.Serial, "read", gone)
    code, out, err = run(capsys, "fetch", "--port", port, "--clear")
    assert (code, out) == (1, "")
    assert err == ["ground: %s: the port went away (board unplugged or SITL stopped?)" % port]


# --- Ctrl-C: one line, exit 130 ---------------------------------------------------------------------


def test_ctrl_c_after_the_tc_was_sent_says_it_may_have_executed(board):
    port, ends = board
    KeyStore().create(port_link_name(port))
    proc = ground("send", "--port", port, "--timeout", str(GUARD_S), "test.ping")
    try:
        read_one_frame(ends["master"])
        proc.send_signal(signal.SIGINT)
        code, out, err = finish(proc)
    finally:
        proc.kill()
    assert (code, out) == (130, "")
    assert err == ["ground: interrupted after test.ping was sent: it may or may not have executed"]


def test_ctrl_c_in_tlm_says_interrupted(capsys, board, monkeypatch):
    port, _ = board

    def ctrl_c(self, duration=None):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr("ground.link.GroundLink.packets", ctrl_c)
    code, out, err = run(capsys, "tlm", "--port", port, "--clear")
    assert (code, out, err) == (130, "", ["ground: interrupted"])


# --- sitl: bad state directory and speed -------------------------------------------------------------


def test_sitl_state_that_is_a_file_is_one_line(tmp_path):
    state = tmp_path / "flash"
    state.write_text("")
    code, out, err = run_cli("sitl", "--runtime", "cpython", "--state", str(state))
    assert (code, out, err) == (1, "", ["ground: state directory %s: not a directory" % state])


def test_sitl_state_below_a_file_is_one_line(tmp_path):
    (tmp_path / "flash").write_text("")
    state = tmp_path / "flash" / "board"
    code, out, err = run_cli("sitl", "--runtime", "cpython", "--state", str(state))
    assert (code, out, err) == (1, "", ["ground: state directory %s: cannot create it: Not a directory" % state])


def test_sitl_state_with_a_corrupt_key_file_is_one_line(tmp_path):
    (tmp_path / "keys.json").write_text("garbage\n")
    code, out, err = run_cli("sitl", "--runtime", "cpython", "--state", str(tmp_path))
    assert (code, out) == (1, "")
    assert len(err) == 1 and err[0].startswith("ground: state directory %s: %s is not a key file (" % (tmp_path, tmp_path / "keys.json")), err


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e-9", "5000"])
def test_sitl_speed_outside_its_range_is_one_line(capsys, value):
    code, out, err = run(capsys, "sitl", "--runtime", "cpython", "--speed", value)
    assert (code, out) == (2, "")
    assert err == ["ground sitl: error: argument --speed: must be in 0.001..1000 or 'max', got %s (see 'ground sitl --help')" % value]


def test_sitl_speed_zero_seen_from_the_terminal():
    code, out, err = run_cli("sitl", "--runtime", "cpython", "--speed", "0")
    assert (code, out, err) == (2, "", ["ground sitl: error: argument --speed: must be in 0.001..1000 or 'max', got 0 (see 'ground sitl --help')"])


@pytest.mark.parametrize("speed", [0, -1, float("nan"), float("inf"), 1e-9])
def test_sitl_class_refuses_a_speed_its_clock_cannot_run(speed):
    with pytest.raises(ValueError, match=r"^speed must be in 0.001..1000 or 'max', got "):
        Sitl(runtime="cpython", speed=speed)


def test_sitl_class_state_that_is_a_file_is_a_sitl_error(tmp_path):
    state = tmp_path / "flash"
    state.write_text("")
    with pytest.raises(SitlError, match="^state directory %s: not a directory$" % state):
        Sitl(runtime="cpython", state_dir=state).start()


# --- decode: idle packets ----------------------------------------------------------------------------

IDLE_HEX = (
    "07ff"  # version 0 | type 0 (TM) | sec header 0 | APID 0x7FF (idle)
    "c005"  # sequence flags 0b11 | sequence count 5
    "0003"  # data length: 4 octets of idle data - 1
    "55555555"  # idle data (no PUS header, no PEC)
)


def test_decode_idle_packet_prints_one_line(capsys):
    code, out, err = run(capsys, "decode", IDLE_HEX)
    assert (code, out, err) == (0, "TM idle #5 4 octets of idle data\n", [])


def test_decode_idle_packet_json_has_the_primary_header(capsys):
    code, out, _ = run(capsys, "decode", "--json", IDLE_HEX)
    assert code == 0
    assert json.loads(out) == {
        "version": 0, "type": "tm", "sec_header_flag": 0, "apid": 0x7FF, "seq_flags": 3, "seq_count": 5,
        "data_len": 3, "name": "idle", "data": "55555555",
    }  # fmt: skip


def test_decode_idle_tc_of_one_octet(capsys):
    code, out, _ = run(capsys, "decode", "17ffc000" "0000" "5a")  # type 1 (TC), sequence count 0, one octet
    assert (code, out) == (0, "TC idle #0 1 octet of idle data\n")


def test_decode_idle_packet_with_a_wrong_length_is_one_line(capsys):
    code, out, err = run(capsys, "decode", IDLE_HEX[:-2])
    assert (code, out, err) == (1, "", ["ground: data length field says 10 octets, idle packet has 9"])


def test_decode_no_secondary_header_outside_the_idle_apid_is_still_not_pus(capsys):
    raw = bytes.fromhex("07fe" "c005" "0003" "5555")  # APID 0x7FE, sec header 0, two octets of data
    raw += codec.crc16(raw).to_bytes(2, "big")  # and a PEC that checks
    code, out, err = run(capsys, "decode", raw.hex())
    assert (code, out) == (1, "")
    assert err == ["ground: no secondary header (flag 0): not a PUS packet"]
