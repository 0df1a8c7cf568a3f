"""`ground flash` against the emulated Pico (hil/pico_emu): the real RPI_PICO firmware behind a pty.

One board, flashed the way a user flashes a real Pico: a blank littlefs gets the whole app, the
flight app answers test.ping under the provisioned key; a board whose app runs refuses the raw REPL
(one line naming --wait-reset); with --wait-reset and a power cycle the next flash copies nothing;
a build with one file changed copies exactly that file, and the app still answers. Slow (about a
minute and a half); missing node, rp2040js, boot ROM or firmware: skipped, or failed under CI.
"""

import shutil
import subprocess
import sys
import threading

import pytest

from ground import FIRMWARE_DIR, REPO_ROOT, flash, runtimes
from ground.keys import KeyStore, port_link_name
from ground.sitl import load_board
from hil.pico_emu import PicoEmu
from hil.plugin import need_pico_emu

pytestmark = pytest.mark.slow


def _ground(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "ground", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO_ROOT)


def _one_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ground: "), proc.stderr
    return lines[0]


built = []


def _changed_build(tmp_path, target):
    """The board's build with one module compiled again under another source name: other octets, same code."""
    real = runtimes.compile_firmware_mpy(runtimes.flashed_packages(), target=target)
    copy = tmp_path / "build"
    shutil.copytree(real, copy)
    src = tmp_path / "init.py"
    src.write_text((FIRMWARE_DIR / "hal" / "__init__.py").read_text())
    subprocess.run(runtimes.mpy_cross_command() + ["-march=%s" % target[2], "-s", "hal/__init__changed.py",
                                                   "-o", str(copy / "hal" / "__init__.mpy"), str(src)], check=True)
    assert (copy / "hal" / "__init__.mpy").read_bytes() != (real / "hal" / "__init__.mpy").read_bytes()
    built.append(real)
    return copy


def test_ground_flash_on_the_emulated_pico(tmp_path, monkeypatch):
    firmware = need_pico_emu()
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    board = load_board("rp2-pico")
    with PicoEmu(firmware, flash_image=tmp_path / "flash.img") as pico:
        port = pico.port
        # the wrong board file: its .mpy arch is not the board's
        wrong = _ground("flash", "--board", "esp32-devkitc", "--port", port)
        assert wrong.returncode == 1
        assert "loads .mpy v6.3 armv6m, but board esp32-devkitc is xtensawin: pick --board rp2-pico" in _one_line(wrong)

        # a blank board: everything is copied, the key provisioned, the app answers a ping
        first = _ground("flash", "--board", "rp2-pico", "--port", port)
        assert first.returncode == 0, first.stderr
        summary = first.stdout.strip()
        assert summary.startswith("flashed rp2-pico on %s: " % port), summary
        assert ", 0 unchanged, 0 deleted," in summary and "; ping " in summary and "key %s, written)" % port_link_name(port) in summary
        copied = int(summary.split(": ")[1].split()[0])
        print(summary)
        key = KeyStore().load(port_link_name(port))
        assert key.next_sn > 1  # the ping went out under it

        # the flight app runs now and owns the port: the REPL cannot be reached without a reset
        busy = _ground("flash", "--board", "rp2-pico", "--port", port)
        assert busy.returncode == 1
        assert "the flight app runs there and ignores Ctrl-C" in _one_line(busy) and "--wait-reset" in _one_line(busy)

        # with --wait-reset the tool interrupts the boot after a power cycle: nothing to copy; then
        # machine.reset() (the runner sees a watchdog reset) and the app answers again
        again = subprocess.Popen([sys.executable, "-m", "ground", "flash", "--board", "rp2-pico", "--port", port,
                                  "--wait-reset", "90", "--hard-reset"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 cwd=REPO_ROOT)
        prompt = again.stderr.readline()
        assert "reset the board now" in prompt, prompt
        pico.power_cycle()
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        assert out.startswith("flashed rp2-pico on %s: 0 files copied, %d unchanged, 0 deleted, 0 octets" % (port, copied)), out
        assert "; ping " in out and "written" not in out
        assert pico.last_boot["cause"] == "watchdog"
        print(out.strip())

        # one module changed: exactly that file goes over, and the app still answers
        asked = threading.Event()
        result = {}

        def connect():
            try:
                result["repl"] = flash.SerialRepl(port).open(wait_reset=90, log=lambda line: asked.set())
            except BaseException as exc:  # re-raised below, in the test's thread
                result["error"] = exc
            asked.set()

        t = threading.Thread(target=connect)
        t.start()
        asked.wait(60)
        if "repl" not in result and "error" not in result:
            pico.power_cycle()
        t.join(120)
        if "error" in result:
            raise result["error"]
        s = flash.flash(port, board, result["repl"], build=lambda target: _changed_build(tmp_path, target))
        assert (s.copied, len(s.unchanged), s.deleted) == (["hal/__init__.mpy"], copied - 1, [])
        assert s.ping_s is not None
        print(s.line())
        # the first flash copied every .mpy of the build, main.py, board.json and keys.json
        assert copied == len(list(built[0].rglob("*.mpy"))) + 3
