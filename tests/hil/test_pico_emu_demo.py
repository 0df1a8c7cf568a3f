"""`python -m hil.pico_emu demo` (`make demo TARGET=pico-emu`): `make demo`'s session on emulated
Picos, and `--short`, a rover pass.

The whole session takes about 40 minutes (the emulated RP2040 flies the apps at about real time):
here its passes are replaced by a short one each, flown at once on two emulated Picos as the
session flies them. The short pass is slow (a few minutes); the argument checks are fast.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from hil.pico_emu.__main__ import main
from hil.plugin import need_pico_emu


@pytest.mark.parametrize("argv, message", [
    (["--short", "--distance", "0"], "--distance must be 1..100 m, got 0"),
    (["--short", "--vehicle", "rover"], "--short flies the rover's pass: --vehicle is for the whole session"),
    (["--vehicle", "lander"], "argument --vehicle: invalid choice: 'lander' (choose from 'inspector', 'rover')"),
])
def test_demo_refuses_bad_arguments_in_one_line(argv, message):
    proc = subprocess.run([sys.executable, "-m", "hil.pico_emu", "demo", *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].endswith(message), proc.stderr


@pytest.mark.slow
def test_demo_drives_the_rover_on_the_emulated_pico(capsys, monkeypatch, tmp_path):
    need_pico_emu()
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    assert main(["demo", "--short", "--distance", "2"]) == 0
    out = capsys.readouterr().out
    assert "up on the emulated Pico" in out and "route done at (30" in out and "pass over:" in out, out
    assert "rejected 0" in out, out


def test_the_emulated_pico_refuses_another_runtime():
    from hil.pico_emu.mission import PicoSitl

    with pytest.raises(ValueError, match="runs MicroPython, not runtime 'cpython'"):
        PicoSitl("rp2-pico", runtime="cpython")


@pytest.mark.slow
def test_the_session_flies_both_vehicles_at_once_each_on_its_own_emulated_pico(capsys, monkeypatch, tmp_path):
    need_pico_emu()
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    from ground import demo
    from hil.pico_emu.__main__ import session

    def short_pass(vehicle):
        def fly(runtime, board, out, heap=None):
            from ground.mission import Mission

            assert (runtime, heap) == ("micropython", None)  # the board's own heap, not the unix port's
            with Mission(vehicle, runtime=runtime, board=board, archive=Path(out) / demo.ARCHIVE, heap=heap) as m:
                s = demo.Session(m, vehicle)
                s.say("on %s at %s, heap free %d B" % (type(m.sitl).__name__, m.sitl.port, s.status("obc")["heap_free"]))
                m.run_for(5)
            return Path(out) / (vehicle + "-product")
        return fly

    monkeypatch.setattr(demo, "fly_inspector", short_pass("inspector"))
    monkeypatch.setattr(demo, "fly_rover", short_pass("rover"))
    out = tmp_path / "out"
    assert session(str(out), ("inspector", "rover")) == 0
    log = capsys.readouterr().out
    lines = log.splitlines()
    assert lines[0].startswith("mitra demo: board rp2-pico on pico-emu") and lines[0].endswith("the vehicles fly at once"), log
    ports = {line.split(" at ")[1].split(",")[0] for line in lines if " on PicoSitl at " in line}
    assert len(ports) == 2, log  # two emulated Picos, one per vehicle
    from ground.archive import Archive

    with Archive(out / demo.ARCHIVE) as a:
        sessions = a.sessions()
    assert sorted(x["vehicle"] for x in sessions) == ["inspector", "rover"]
    assert all(x["frames"] > 10 and x["bad"] == 0 for x in sessions), sessions
    assert lines[-1].endswith("report %s" % (out / "report" / "report.md")) and (out / "report" / "report.md").is_file()
