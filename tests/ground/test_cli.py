"""ground/cli.py: the `ground` command line through `main([...])`, plus the installed entry point.

Expected failures are one line `ground: <message>` on stderr and exit 1
(STYLE.md, CLI). Links go to SITL (hil.plugin `flight`) or to a pty pair opened
here that never answers. MITRA_HOME is always a temporary directory.
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ground import codec
from ground import dictionary as d
from ground.cli import main
from ground.keys import KeyStore, port_link_name
from hil.plugin import crc16, need_micropython

# test.ping, APID 1, sequence count 5, ack flags 0xF, source ID 1
PING_HEX = (
    "1801"  # version 0 | type 1 (TC) | sec header 1 | APID 0x001
    "c005"  # sequence flags 0b11 (unsegmented) | sequence count 5
    "0006"  # data length: 5 (TC sec header) + 0 (payload) + 2 (PEC) - 1
    "2f"  # PUS version 2 | ack flags 0xF
    "11"  # service 17 (test)
    "01"  # subtype 1 (ping)
    "0001"  # source ID 1 (ground)
    "4e82"  # PEC: CRC-16/CCITT-FALSE of the 11 octets above
)

TC_FIELDS = ["version", "type", "sec_header_flag", "apid", "seq_flags", "seq_count", "data_len", "pus_version",
             "ack_flags", "service", "subtype", "source_id", "name", "data"]  # fmt: skip
TM_FIELDS = ["version", "type", "sec_header_flag", "apid", "seq_flags", "seq_count", "data_len", "pus_version",
             "time_ref_status", "service", "subtype", "message_counter", "destination_id", "time", "name", "data"]  # fmt: skip


pytestmark = pytest.mark.usefixtures("mitra_home")  # tests/ground/conftest.py


def run(capsys, *argv):
    """main(argv) -> (exit code, stdout, stderr lines)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def one_error_line(err):
    assert len(err) == 1, err
    assert err[0].startswith("ground: "), err
    return err[0]


def ground_bin():
    beside = Path(sys.executable).with_name("ground")
    path = str(beside) if beside.exists() else shutil.which("ground")
    if path is None:
        pytest.skip("the `ground` entry point is not installed (pip install -e .)")
    return path


# --- encode / decode -------------------------------------------------------------------


def test_encode_ping_gives_the_exact_octets(capsys):
    assert crc16(bytes.fromhex(PING_HEX[:-4])) == 0x4E82  # the PEC above, computed independently
    code, out, err = run(capsys, "encode", "test.ping", "--apid", "1", "--seq", "5")
    assert (code, out, err) == (0, PING_HEX + "\n", [])


def test_encode_param_set_by_name(capsys):
    code, out, _ = run(capsys, "encode", "param.set", "obc.hk_period_ms=2000", "--seq", "1")
    assert code == 0
    packet = codec.decode(bytes.fromhex(out.strip()))
    assert packet["data"] == {"params": [{"param_id": 1, "value": 2000}]}


def test_decode_tc_prints_one_line(capsys):
    code, out, err = run(capsys, "decode", PING_HEX)
    assert (code, err) == (0, [])
    assert out == "TC obc #5 test.ping\n"


def test_decode_accepts_spaces_and_colons(capsys):
    spaced = " ".join(PING_HEX[i : i + 2] for i in range(0, len(PING_HEX), 2))
    code, out, _ = run(capsys, "decode", spaced.replace(" ", ":", 3))
    assert (code, out) == (0, "TC obc #5 test.ping\n")


def test_decode_tc_json_uses_the_protocol_field_names(capsys):
    code, out, _ = run(capsys, "decode", "--json", PING_HEX)
    assert code == 0
    packet = json.loads(out)
    assert list(packet) == TC_FIELDS
    assert packet == {
        "version": 0, "type": "tc", "sec_header_flag": 1, "apid": 1, "seq_flags": 3, "seq_count": 5,
        "data_len": 6, "pus_version": 2, "ack_flags": 15, "service": 17, "subtype": 1, "source_id": 1,
        "name": "test.ping", "data": {},
    }  # fmt: skip


def test_decode_tm_line_and_json(capsys):
    raw = codec.encode_tm(1, 7, {"request_id": 0x1801C005}, seq_count=9, message_counter=9, coarse=86400, fine=0x8000)
    code, out, _ = run(capsys, "decode", raw.hex())
    assert code == 0
    assert out == "TM 2000-01-02T00:00:00.500Z obc #9 verification.completion_success request_id=apid=0x001,seq=5\n"
    code, out, _ = run(capsys, "decode", "--json", raw.hex())
    packet = json.loads(out)
    assert list(packet) == TM_FIELDS
    assert packet["time"] == {"coarse": 86400, "fine": 0x8000}
    assert packet["data"] == {"request_id": 0x1801C005}


def test_decode_bad_pec_fails_with_one_line(capsys):
    bad = PING_HEX[:-4] + "4e83"
    code, out, err = run(capsys, "decode", bad)
    assert (code, out) == (1, "")
    assert one_error_line(err) == "ground: PEC 0x4e83 does not check (computed 0x4e82)"


@pytest.mark.parametrize(
    "text, message",
    [
        ("zz", "ground: not hexadecimal: 'zz'"),
        ("1801", "ground: packet of 2 octets is shorter than a header and PEC"),
        (PING_HEX + "00", "ground: data length field says 13 octets, packet has 14"),
    ],
    ids=["not_hex", "short", "length_field"],
)
def test_decode_malformed_input_fails_with_one_line(capsys, text, message):
    code, out, err = run(capsys, "decode", text)
    assert (code, out) == (1, "")
    assert one_error_line(err) == message


# --- argument errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, known",
    [("test.pong", "known: test.ping"), ("foo.ping", "known: " + ", ".join(sorted({k.partition(".")[0] for k in d.COMMANDS})))],
    ids=["unknown_command", "unknown_service"],
)
def test_unknown_command_fails_naming_the_known_ones(capsys, name, known):
    code, out, err = run(capsys, "encode", name)
    assert (code, out) == (1, "")
    assert known in one_error_line(err)


@pytest.mark.parametrize(
    "arg, message",
    [
        ("obc.hk_period_ms=abc", "ground: obc.hk_period_ms: 'abc' is not an integer"),
        ("obc.hk_period_ms=1", "ground: obc.hk_period_ms=1 outside its range 100..3600000"),
        ("obc.nope=1", "ground: unknown parameter 'obc.nope' (known: obc.hk_period_ms,"),
        ("obc.boot_count=3", "ground: obc.boot_count is read-only"),
        ("obc.clock_drift_ppm=nan", "ground: obc.clock_drift_ppm: 'nan' is not a number"),
        ("obc.hk_period_ms", "ground: params: expected NAME=VALUE, got 'obc.hk_period_ms'"),
    ],
    ids=["not_a_number", "out_of_range", "unknown_param", "read_only", "nan", "no_value"],
)
def test_bad_param_argument_fails_with_one_line(capsys, arg, message):
    code, out, err = run(capsys, "encode", "param.set", arg)
    assert (code, out) == (1, "")
    assert one_error_line(err).startswith(message)


def test_bad_argument_is_refused_before_the_port_is_opened(capsys):
    code, _, err = run(capsys, "send", "--port", "/nonexistent", "param.set", "obc.hk_period_ms=1")
    assert code == 1
    assert "outside its range" in one_error_line(err)


# --- send: failures ------------------------------------------------------------------------


def test_send_to_missing_port_says_no_such_port(capsys):
    code, out, err = run(capsys, "send", "--port", "/nonexistent", "test.ping")
    assert (code, out) == (1, "")
    assert one_error_line(err).startswith("ground: /nonexistent: no such port")


def test_send_without_a_key_tells_how_to_create_one(capsys, silent_pty, mitra_home):
    port, _ = silent_pty
    code, out, err = run(capsys, "send", "--port", port, "test.ping")
    assert (code, out) == (1, "")
    line = one_error_line(err)
    assert "no uplink key for link %r" % port_link_name(port) in line
    assert "ground keys create %s" % port_link_name(port) in line
    assert str(mitra_home) in line  # where it looked
    assert not (mitra_home / "keys").exists() or not list((mitra_home / "keys").glob("*.json"))


def test_send_to_a_silent_board_times_out(capsys, silent_pty):
    port, master = silent_pty
    KeyStore().create(port_link_name(port))
    code, out, err = run(capsys, "send", "--port", port, "--timeout", "0.3", "test.ping")
    assert (code, out) == (1, "")
    line = one_error_line(err)
    assert line == "ground: %s: no verification report for test.ping within 0.3 s" % port
    # the TC did go out, framed: a delimiter first, then the frame
    ready, _, _ = select.select([master], [], [], 2.0)
    assert ready
    assert os.read(master, 4096).startswith(b"\x00")


def test_send_with_the_wrong_key_says_the_board_rejected_the_mac(capsys, flight):
    if flight.sitl is None:
        pytest.skip("needs a SITL to replace its key")
    KeyStore().create("wrong", spi=1)
    code, _, err = run(capsys, "send", "--port", flight.port, "--key", "wrong", "--timeout", "2", "test.ping")
    assert code == 1
    assert one_error_line(err).startswith("ground: %s: board rejected test.ping: bad_mac (" % flight.port)


def test_send_in_clear_mode_to_a_secured_board_says_clear_refused(capsys, flight):
    code, _, err = run(capsys, "send", "--port", flight.port, "--clear", "--timeout", "2", "test.ping")
    assert code == 1
    assert one_error_line(err).startswith("ground: %s: board rejected test.ping: clear_refused (" % flight.port)


def test_encode_a_reporting_only_service_says_it_has_no_commands(capsys):
    code, out, err = run(capsys, "encode", "verification.x")
    assert (code, out) == (1, "")
    assert one_error_line(err) == "ground: service 'verification' has no commands (it only reports)"


# --- send and friends against the flight app -----------------------------------------------


def test_send_ping_prints_the_reports_and_pong(capsys, flight):
    code, out, err = run(capsys, "send", "--port", flight.port, "--key", flight.key_name, "test.ping")
    assert (code, err) == (0, [])
    lines = out.splitlines()
    assert [line.split()[4] for line in lines] == [
        "verification.acceptance_success",
        "verification.start_success",
        "test.pong",
        "verification.completion_success",
    ]


def test_send_json_prints_one_object_per_packet(capsys, flight):
    code, out, _ = run(capsys, "send", "--port", flight.port, "--key", flight.key_name, "--json", "param.get", "obc.boot_count")
    assert code == 0
    packets = [json.loads(line) for line in out.splitlines()]
    (values,) = [p for p in packets if p["name"] == "param.values"]
    assert values["data"]["params"][0]["param_id"] == 5
    assert packets[-1]["name"] == "verification.completion_success"


def test_send_refused_command_prints_the_failure_and_exits_1(capsys, flight):
    code, out, err = run(capsys, "send", "--port", flight.port, "--key", flight.key_name, "hk.one_shot", "9")
    assert code == 1
    assert "verification.start_failure" in out and "error=UNKNOWN_STRUCTURE(10)" in out
    assert one_error_line(err) == "ground: hk.one_shot failed at start: UNKNOWN_STRUCTURE (10)"


def test_dict_json_parses(capsys):
    code, out, _ = run(capsys, "dict", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["pus_version"] == 2
    assert {e["name"] for e in data["errors"]} >= {"UNKNOWN_APID", "BAD_LENGTH", "ARG_OUT_OF_RANGE"}
    assert [p["name"] for p in data["parameters"]][:1] == ["obc.hk_period_ms"]


# --- the installed entry point -------------------------------------------------------------


def test_entry_point_runs_main(tmp_path):
    env = dict(os.environ, MITRA_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [ground_bin(), "encode", "test.ping", "--apid", "1", "--seq", "5"], capture_output=True, env=env, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, (PING_HEX + "\n").encode(), b"")
    proc = subprocess.run([ground_bin(), "decode", PING_HEX[:-1] + "3"], capture_output=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == ["ground: PEC 0x4e83 does not check (computed 0x4e82)"]


def _readline(stream, timeout):
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no output within %.0f s" % timeout
    return stream.readline().decode()


@pytest.mark.parametrize("runtime", [pytest.param("micropython", marks=pytest.mark.micropython), "cpython"])
def test_ground_sitl_prints_port_serves_it_and_stops_cleanly_on_sigint(capsys, tmp_path, mitra_home, runtime):
    if runtime == "micropython":
        need_micropython()
    env = dict(os.environ, MITRA_HOME=str(mitra_home))
    proc = subprocess.Popen(
        [ground_bin(), "sitl", "--runtime", runtime], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        first = _readline(proc.stdout, 30)
        match = re.fullmatch(r"port: (\S+)\n", first)
        assert match, first
        port = match.group(1)
        banner = _readline(proc.stderr, 10)
        state = re.search(r"\(state (\S+)\)", banner)
        assert state, banner
        state_dir = Path(state.group(1))
        assert (state_dir / "board.json").exists()

        code, out, _ = run(capsys, "send", "--port", port, "test.ping")  # its key is in our MITRA_HOME
        assert code == 0 and "verification.completion_success" in out

        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, rest.decode(errors="replace")
    assert not state_dir.exists()
    assert KeyStore().names() == []  # the ephemeral key went with it
