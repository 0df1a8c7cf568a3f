"""CONTRIBUTING.md "Add a command": its steps, followed end to end in a temporary copy of the
repository with the code blocks taken from CONTRIBUTING.md itself, give a command that the codec
encodes and decodes, the CLI parses and range-checks, the regenerated documentation lists, and the
rover app's dispatcher accepts and runs (the test CONTRIBUTING shows, run in the copy)."""

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from ground import REPO_ROOT
from ground import dictionary as d

CONTRIBUTING = REPO_ROOT / "CONTRIBUTING.md"
NAME = "rover_nav.set_marker"
FN_ID = 0x0214


def _section_blocks():
    """The ```python blocks of the "Add a command" section, in order."""
    text = CONTRIBUTING.read_text()
    section = text.split("## Add a command", 1)[1].split("\n## ", 1)[0]
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", section, re.S)]


def _insert_after(text, anchor, addition):
    assert text.count(anchor) == 1, anchor
    i = text.index(anchor) + len(anchor)
    return text[:i] + addition + text[i:]


def _indent(block, spaces):
    return textwrap.indent(block, " " * spaces)


def _run(argv, cwd, env, timeout=300):
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return proc


@pytest.fixture
def copy(tmp_path):
    """The parts of the repository the steps touch, copied; an environment that imports them first."""
    root = tmp_path / "mitra"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("ground", "firmware", "boards", "docs"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=ignore)
    shutil.copy(CONTRIBUTING, root / "CONTRIBUTING.md")
    (root / "tests" / "firmware").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "tests" / "conftest.py", root / "tests" / "conftest.py")
    shutil.copy(REPO_ROOT / "tests" / "firmware" / "test_rover_app.py", root / "tests" / "firmware" / "test_rover_app.py")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "firmware"), str(root / "firmware" / "cpython")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("MITRA_GNC_BACKEND", None)
    return root, env


def test_contributing_example_command_is_not_in_the_dictionary_yet():
    assert NAME not in d.COMMANDS
    assert FN_ID not in d.FUNCTION_BY_ID


def test_contributing_add_a_rover_command_end_to_end(copy):
    root, env = copy
    declare, handler, test = _section_blocks()
    py = sys.executable

    # the copy is what runs, not the repository
    out = _run([py, "-c", "import ground, fsw.dictionary as D; print(ground.__file__); print(D.__file__)"], root, env)
    assert out.returncode == 0, out.stderr
    assert all(line.startswith(str(root)) for line in out.stdout.split()), out.stdout

    # 1. declare the function in the owning component (NAV) of ground/dictionary/rover.py
    rover = root / "ground" / "dictionary" / "rover.py"
    text = rover.read_text()
    nav = text.index('"rover_nav",')
    anchor = text.index("functions=[\n", nav) + len("functions=[\n")
    rover.write_text(text[:anchor] + _indent(declare, 8) + text[anchor:])

    # 2. regenerate the firmware tables
    out = _run([py, "-m", "ground.export"], root, env)
    assert out.returncode == 0, out.stderr
    assert str(root / "firmware" / "fsw" / "dictionary.py") in out.stdout
    assert "FN_ROVER_NAV_SET_MARKER = const(0x%04X)" % FN_ID in (root / "firmware" / "fsw" / "dictionary.py").read_text()
    assert re.search(r"\b(0x0*%x|%d)\b" % (FN_ID, FN_ID), (root / "firmware" / "fsw" / "tables_rover.py").read_text(), re.I)

    # 3. register and write the handler in firmware/rover/app.py
    app = root / "firmware" / "rover" / "app.py"
    register, _, method = handler.partition("\n\n")
    text = app.read_text()
    text = _insert_after(text, "        fn.add(D.FN_ROVER_POWER_THERMAL_CHARGE, self.cmd_charge)\n", _indent(register.strip() + "\n", 8))
    assert text.count("\n    def cmd_stop(self, args):\n") == 1
    text = text.replace("\n    def cmd_stop(self, args):\n", "\n" + _indent(method.strip() + "\n", 4) + "\n    def cmd_stop(self, args):\n")
    app.write_text(text)

    # 4. regenerate the documentation tables
    out = _run([py, "-m", "hil.docs"], root, env)
    assert out.returncode == 0, out.stderr
    assert "| 0x%04X | %s | 0x021 | marker: u8 [0..15] |" % (FN_ID, NAME) in (root / "docs" / "protocol.md").read_text()
    assert _run([py, "-m", "hil.docs", "--check"], root, env).returncode == 0

    # 5. the test CONTRIBUTING shows, in the copy's tests/firmware/test_rover_app.py
    tests = root / "tests" / "firmware" / "test_rover_app.py"
    tests.write_text(tests.read_text() + "\n\n" + test)
    out = _run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root), str(tests), "-k", "set_marker"], root, env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout, out.stdout

    # the ground: codec, routing, CLI parsing and range check; the dispatcher's own range check
    check = textwrap.dedent(
        """
        import io, contextlib
        from ground import codec, cli
        from ground import dictionary as d
        cmd = d.command("%(name)s")
        assert cmd.apid == 0x021 and cmd.service == 8 and cmd.function.id == %(fid)d, cmd
        raw = codec.encode_command(cmd, {"marker": 3}, seq_count=1)
        p = codec.decode(raw)
        assert p["apid"] == 0x021 and p["data"]["function_id"] == %(fid)d and p["data"]["args"] == {"marker": 3}, p
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli.main(["encode", "%(name)s", "3", "--seq", "1"]) == 0
        assert out.getvalue().strip() == raw.hex(), (out.getvalue(), raw.hex())
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert cli.main(["encode", "%(name)s", "16"]) == 1
        assert err.getvalue().strip() == "ground: marker: 16 outside its range 0..15", err.getvalue()

        import os, tempfile
        os.chdir(tempfile.mkdtemp())
        from fsw import dictionary as D
        from fsw.app import Obc
        from rover import app
        sent = []
        class Link:
            def write(self, buf, n):
                sent.append(bytes(buf[:n]))
        board = {"speed": "max", "security": False, "watchdog_ms": 8000, "scenario": {},
                 "devices": ["wheels", "encoders", "imu", "sun_sensor", "hazard", "drill", "spectrometer", "battery"]}
        obc = Obc(board, Link())
        rover = app.start(obc, board)
        def run(name, values):
            from ground.framing import FrameSplitter
            split = FrameSplitter()
            start = len(sent)
            raw = codec.encode_command(d.command(name), values, seq_count=1)
            obc.dispatcher.handle(raw, 0, len(raw))
            packets = [codec.decode(b) for chunk in sent[start:] for b in split.feed(chunk)]
            return [(q["name"], q["data"].get("error")) for q in packets if q["service"] == 1]
        assert run("rover_mobility.set_mode", {"mode": 1})[-1][0] == "verification.completion_success"
        assert run("%(name)s", {"marker": 7})[-1] == ("verification.completion_success", None)
        assert rover.marker == 7
        raw = bytearray(codec.encode_command(d.command("%(name)s"), {"marker": 3}, seq_count=2))
        raw[-3] = 16  # past the range, under a recomputed PEC: the board refuses it at start
        raw[-2:] = codec.crc16(bytes(raw[:-2])).to_bytes(2, "big")
        start = len(sent)
        obc.dispatcher.handle(raw, 0, len(raw))
        from ground.framing import FrameSplitter
        split = FrameSplitter()
        reports = [codec.decode(b) for chunk in sent[start:] for b in split.feed(chunk)]
        assert [(q["name"], q["data"].get("error")) for q in reports if q["service"] == 1][-1] == (
            "verification.start_failure", D.ERR_ARG_OUT_OF_RANGE), reports
        assert rover.marker == 7
        print("ok")
        """
        % {"name": NAME, "fid": FN_ID}
    )
    out = _run([py, "-c", check], root, env)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr
