"""ground/sitl.py: the SITL launcher, tested with tiny stand-in flight programs on both runtimes."""

import json
import os
import stat
import time
from pathlib import Path

import pytest
import serial

from ground import FIRMWARE_DIR
from ground.errors import MitraError, UnknownBoard
from ground.keys import KeyStore, port_link_name
from ground.sitl import Sitl, SitlError, known_boards
from ground import runtimes
from hil.plugin import need_micropython

# Runs unchanged on MicroPython's unix port and on CPython: echo stdin to stdout byte by byte.
ECHO = """\
import sys
rd = sys.stdin.buffer
wr = sys.stdout.buffer
sys.stderr.write("echo up\\n")
while True:
    b = rd.read(1)
    if not b:
        break
    wr.write(b)
    if hasattr(wr, "flush"):
        wr.flush()
"""

# Waits past the launcher's start-up check, writes 1 MiB without anyone reading, then exits 0.
FLOOD = """\
import sys, time
time.sleep(0.8)
chunk = b"x" * 4096
wr = sys.stdout.buffer
for _ in range(256):
    wr.write(chunk)
sys.stderr.write("flood done\\n")
"""

CRASH = """\
import sys
sys.stderr.write("boom: no main\\n")
sys.exit(3)
"""

SHOW_PATH = """\
import sys
sys.stderr.write("path=" + ":".join(sys.path) + "\\n")
while sys.stdin.buffer.read(1):
    pass
"""

RUNTIMES = [
    pytest.param("micropython", marks=pytest.mark.micropython),
    "cpython",
]


pytestmark = pytest.mark.usefixtures("mitra_home")  # tests/ground/conftest.py


@pytest.fixture
def script(tmp_path):
    def make(source, name="prog.py"):
        path = tmp_path / "progs" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
        return path

    return make


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    if request.param == "micropython":
        need_micropython()
    return request.param


class Lines(list):
    """A `log` sink that remembers lines."""

    def __call__(self, line):
        self.append(line)

    def wait_for(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self):
                return True
            time.sleep(0.02)
        return False


def read_exactly(port, n, timeout=10):
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += port.read(n - len(got))
    return got


def test_echo_round_trip_through_port(runtime, script):
    log = Lines()
    with Sitl(runtime=runtime, program=script(ECHO), log=log) as sitl:
        with serial.Serial(sitl.port, timeout=0.5) as port:
            payload = bytes(range(256)) * 4  # every octet value, no line discipline in the way
            port.write(payload)
            assert read_exactly(port, len(payload)) == payload
        stats = sitl.relay_stats
        assert stats["to_board"] == len(payload)
        assert stats["to_ground"] == len(payload)
        assert stats["dropped_to_ground"] == 0
    assert "sitl: echo up" in log


def test_restart_keeps_port_and_state_dir(runtime, script):
    with Sitl(runtime=runtime, program=script(ECHO), log=Lines()) as sitl:
        port_path, state_dir, pid = sitl.port, sitl.state_dir, sitl.pid
        keys_before = (state_dir / "keys.json").read_text()
        with serial.Serial(sitl.port, timeout=0.5) as port:
            port.write(b"before")
            assert read_exactly(port, 6) == b"before"
            sitl.restart()
            assert (sitl.port, sitl.state_dir) == (port_path, state_dir)
            assert sitl.pid != pid
            port.write(b"after")  # the same open port talks to the new process
            assert read_exactly(port, 5) == b"after"
        assert (state_dir / "keys.json").read_text() == keys_before


def test_hard_restart_kills_and_boots_again(script):
    with Sitl(runtime="cpython", program=script(ECHO), log=Lines()) as sitl:
        pid = sitl.pid
        sitl.restart(hard=True)
        assert sitl.pid != pid
        with serial.Serial(sitl.port, timeout=0.5) as port:
            port.write(b"ok")
            assert read_exactly(port, 2) == b"ok"


def test_output_dropped_when_nobody_reads(runtime, script):
    log = Lines()
    with Sitl(runtime=runtime, program=script(FLOOD), log=log) as sitl:
        # The flight program must finish: the relay never lets it block on its link.
        assert sitl.wait(timeout=30) == 0
        stats = sitl.relay_stats
        assert stats["dropped_to_ground"] > 0
        assert stats["to_ground"] + stats["dropped_to_ground"] == 256 * 4096
    assert "sitl: flood done" in log


def test_unknown_board_lists_known_boards():
    with pytest.raises(UnknownBoard) as info:
        Sitl(board="no-such-board")
    assert isinstance(info.value, MitraError)
    assert "unknown board 'no-such-board'" in str(info.value)
    for name in known_boards():
        assert name in str(info.value)
    assert "rp2-pico" in info.value.known


def test_start_fails_when_flight_exits_early(runtime, script):
    sitl = Sitl(runtime=runtime, program=script(CRASH), log=Lines())
    with pytest.raises(SitlError, match="exited with code 3") as info:
        sitl.start()
    assert "boom: no main" in str(info.value)
    assert sitl.state_dir is None or not sitl.state_dir.exists()  # cleaned up


def test_state_dir_holds_board_and_key(script, mitra_home):
    with Sitl(board="esp32-devkitc", runtime="cpython", program=script(ECHO), security=False, speed=50,
              log=Lines()) as sitl:
        board = json.loads((sitl.state_dir / "board.json").read_text())
        assert board["name"] == "esp32-devkitc"
        assert (board["security"], board["runtime"], board["speed"]) == (False, "cpython", 50.0)
        assert board["heap_budget"] == 102400
        keys = json.loads((sitl.state_dir / "keys.json").read_text())
        assert list(keys) == ["1"]
        assert stat.S_IMODE((sitl.state_dir / "keys.json").stat().st_mode) == 0o600
        assert sitl.link_name == port_link_name(sitl.port)
        link = KeyStore().load(sitl.link_name)
        assert (link.spi, link.key.hex()) == (1, keys["1"])
        assert KeyStore().root == mitra_home / "keys"
        state_dir, link_name = sitl.state_dir, sitl.link_name
        assert state_dir.name.startswith("mitra-sitl-")
    assert not state_dir.exists()
    assert not KeyStore().exists(link_name)


def test_given_state_dir_is_kept_and_key_reused(tmp_path, script):
    state = tmp_path / "flash"
    with Sitl(runtime="cpython", state_dir=state, program=script(ECHO), log=Lines()) as sitl:
        key = KeyStore().load(sitl.link_name)
        key.take_sn()
        key.take_sn()
        first_keys = (state / "keys.json").read_text()
        link_name = sitl.link_name
    assert (state / "keys.json").read_text() == first_keys
    assert KeyStore().exists(link_name)  # kept with its state dir
    with Sitl(runtime="cpython", state_dir=state, program=script(ECHO), log=Lines()) as sitl:
        assert (state / "keys.json").read_text() == first_keys  # the board keeps its key
        again = KeyStore().load(sitl.link_name)
        assert again.key.hex() == json.loads(first_keys)["1"]
        if sitl.link_name == link_name:  # same pty number: SNs carry on
            assert again.next_sn == 3


def test_flight_sees_firmware_on_its_path(runtime, script):
    log = Lines()
    with Sitl(runtime=runtime, program=script(SHOW_PATH), log=log) as sitl:
        assert log.wait_for("path=")
        line = next(line for line in log if "path=" in line)
        path = line.split("path=", 1)[1].split(":")
        assert str(FIRMWARE_DIR) in path
        if runtime == "cpython":
            assert path.index(str(runtimes.CPYTHON_SHIMS)) < path.index(str(FIRMWARE_DIR))
        else:
            assert ".frozen" in path
        assert Path(os.readlink("/proc/%d/cwd" % sitl.pid)) == sitl.state_dir.resolve()


@pytest.mark.micropython
def test_flight_heap_capped_to_board(script):
    if runtimes.micropython_binary() is None:
        pytest.skip("MicroPython unix port not installed")
    # the firmware deployed as ROMFS (ground/romboot.py): the cap is the board's budget + the image
    sitl = Sitl(board="esp32-devkitc", runtime="micropython", program=script(ECHO))
    image = runtimes.build_romfs()
    heap = 102400 + image.stat().st_size + runtimes.ROM_SLACK
    assert sitl.argv()[1:] == ["-X", "heapsize=%d" % heap, str(runtimes.ROMBOOT), str(image), str(script(ECHO))]


def test_log_file_gets_prefixed_lines(tmp_path, script):
    log_path = tmp_path / "flight.log"
    with open(log_path, "w") as log:
        with Sitl(runtime="cpython", program=script(ECHO), log=log) as sitl:
            deadline = time.monotonic() + 10
            while "echo up" not in log_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert sitl.returncode is None
    assert "sitl: echo up\n" in log_path.read_text()


def test_stop_is_idempotent_and_ends_the_process(script):
    sitl = Sitl(runtime="cpython", program=script(ECHO), log=Lines())
    sitl.start()
    pid = sitl.pid
    sitl.stop()
    sitl.stop()
    assert sitl.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_stop_without_start_is_harmless():
    Sitl(runtime="cpython").stop()


def test_bad_runtime_rejected():
    with pytest.raises(ValueError, match="unknown runtime 'jython'"):
        Sitl(runtime="jython")
