"""The emulated Pico (hil/pico_emu): the real RPI_PICO firmware in rp2040js behind a pty.

The error paths run in the fast set. The emulator tests are slow (the first run builds the
RPI_PICO firmware, about a minute and a half on 2 cores; cached after): they boot the board
and check the three gaps the runner closes (../shared/vendor/README.md): flash erase/program
land in the image file (littlefs formats and persists), OUT polls are held until the host
writes (an idle board costs no cycles), and a watchdog timeout rebuilds the chip around the
same flash with reset cause WDT. Missing node, npm package, boot ROM or firmware toolchain:
skipped, or failed under CI (hil/plugin.py, need_pico_emu).
"""

import os
import subprocess
import time

import pytest
import serial

from hil import pico_emu
from hil.plugin import need_pico_emu, unavailable
from hil.pico_emu import PicoEmu, PicoEmuError

# machine.reset_cause() values of the rp2 port
PWRON_RESET = 1
WDT_RESET = 3


# --- error paths: one line each, no traceback ---------------------------------------


def test_missing_node_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("MITRA_NODE", str(tmp_path / "no-node"))
    with pytest.raises(PicoEmuError) as e:
        PicoEmu(tmp_path / "firmware.bin").start()
    assert "node is not installed" in str(e.value) and "\n" not in str(e.value)


def test_missing_boot_rom_names_the_path(monkeypatch, tmp_path):
    missing = tmp_path / "bootrom.bin"
    monkeypatch.setenv("MITRA_PICO_BOOTROM", str(missing))
    with pytest.raises(PicoEmuError, match="no RP2040 boot ROM at %s" % missing):
        PicoEmu(tmp_path / "firmware.bin").start()


def test_missing_firmware_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setattr(pico_emu, "missing", lambda: [])
    with pytest.raises(PicoEmuError, match=r"no firmware at .*make firmware BOARD=rp2-pico"):
        PicoEmu(tmp_path / "firmware.bin").start()


def test_missing_firmware_env_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("MITRA_PICO_FIRMWARE", str(tmp_path / "fw.bin"))
    with pytest.raises(PicoEmuError, match="MITRA_PICO_FIRMWARE=.*fw.bin: no such file"):
        pico_emu.firmware_path()


def _node_or_skip():
    problems = [p for p in pico_emu.missing() if "boot ROM" not in p]
    if problems:
        unavailable(problems[0], "CI must have node and rp2040js (scripts/bootstrap.sh): %s" % problems[0])


@pytest.mark.parametrize("missing_one", ["firmware", "bootrom"])
def test_runner_names_a_missing_input_in_one_line(tmp_path, missing_one):
    _node_or_skip()
    files = {"firmware": tmp_path / "firmware.bin", "bootrom": tmp_path / "bootrom.bin"}
    files["firmware"].write_bytes(b"\xff" * 4096)
    files["bootrom"].write_bytes(b"\0" * 16384)
    files[missing_one].unlink()
    argv = [pico_emu.node_binary(), str(pico_emu.RUNNER), "--firmware", str(files["firmware"]),
            "--bootrom", str(files["bootrom"]), "--flash", str(tmp_path / "flash.img")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["pico-emu: %s %s: no such file" % (
        "boot ROM" if missing_one == "bootrom" else "firmware", files[missing_one])]


# --- the emulator ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def firmware():
    return need_pico_emu()


def _repl_banner(port, timeout=20.0):
    with serial.Serial(port, timeout=0.2) as s:
        s.write(b"\r\n")
        out = b""
        deadline = time.monotonic() + timeout
        while b">>> " not in out and time.monotonic() < deadline:
            out += s.read(4096)
        s.write(b"\x04")  # Ctrl-D at the REPL: a soft reset prints the banner
        deadline = time.monotonic() + timeout
        while b"MicroPython" not in out and time.monotonic() < deadline:
            out += s.read(4096)
    return out.decode(errors="replace")


@pytest.mark.slow
def test_boots_the_real_firmware_to_the_repl_with_the_core_built_in(firmware):
    with PicoEmu(firmware) as pico:
        banner = _repl_banner(pico.port)
        assert "MicroPython v1.28.0" in banner and "Raspberry Pi Pico with RP2040" in banner, banner
        assert pico.exec("import gnc_native, sys; print(sys.platform, gnc_native.__name__)").split() == ["rp2", "gnc_native"]


@pytest.mark.slow
def test_littlefs_persists_across_power_cycles_and_runs(firmware, tmp_path):
    image = tmp_path / "flash.img"
    with PicoEmu(firmware, flash_image=image) as pico:
        pico.exec("f = open('note.txt', 'w'); f.write('x' * 5000); f.close()")
        pico.power_cycle()
        assert pico.exec("import machine, os; print(machine.reset_cause(), os.stat('note.txt')[6])").split() == [
            str(PWRON_RESET), "5000"]
        assert pico.last_boot == {"event": "boot", "n": 2, "cause": "power"}
    assert image.stat().st_size == 2 * 1024 * 1024
    with PicoEmu(firmware, flash_image=image) as pico:  # a new runner on the kept image
        assert pico.exec("print(open('note.txt').read() == 'x' * 5000)").strip() == "True"


@pytest.mark.slow
def test_watchdog_timeout_resets_the_board_with_cause_wdt(firmware):
    with PicoEmu(firmware) as pico:
        pico.exec("open('kept', 'w').write('yes')")
        mark = pico._mark()
        pico.exec("import machine; machine.WDT(timeout=200)")
        boot = pico.wait_reset(after=mark)
        assert boot["cause"] == "watchdog"
        assert pico.exec("import machine; print(machine.reset_cause(), open('kept').read())").split() == [
            str(WDT_RESET), "yes"]


@pytest.mark.slow
def test_an_idle_board_costs_no_cycles_out_polls_are_held(firmware):
    # rp2040js answers every USB OUT poll at once with an empty packet; unheld, an idle REPL
    # takes an interrupt every few microseconds and burns cycles all the time
    with PicoEmu(firmware) as pico:
        pico.exec("print(1)")
        before = pico.status()
        time.sleep(1.0)
        after = pico.status()
        idle_ns = after["t_ns"] - before["t_ns"]
        assert idle_ns > 1e8, (before, after)  # real-time pacing: the board's clock went on
        busy = after["cycles"] - before["cycles"]
        assert busy < 0.001 * idle_ns / 8, "%d cycles in %.2f s of idle" % (busy, idle_ns / 1e9)
