"""`python -m hil.pico_emu demo` (`make demo TARGET=pico-emu`): a short rover pass on the emulated Pico.

The pass is slow (a few minutes: the emulated RP2040 flies the rover at about real time); the
argument check is fast.
"""

import subprocess
import sys

import pytest

from hil.pico_emu.__main__ import main
from hil.plugin import need_pico_emu


def test_demo_refuses_a_distance_out_of_range_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "hil.pico_emu", "demo", "--distance", "0"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith("--distance must be 1..100 m, got 0")


@pytest.mark.slow
def test_demo_drives_the_rover_on_the_emulated_pico(capsys, monkeypatch, tmp_path):
    need_pico_emu()
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    assert main(["demo", "--distance", "2"]) == 0
    out = capsys.readouterr().out
    assert "up on the emulated Pico" in out and "route done at (30" in out and "pass over:" in out, out
    assert "rejected 0" in out, out


def test_the_emulated_pico_refuses_another_runtime():
    from hil.pico_emu.mission import PicoSitl

    with pytest.raises(ValueError, match="runs MicroPython, not runtime 'cpython'"):
        PicoSitl("rp2-pico", runtime="cpython")
