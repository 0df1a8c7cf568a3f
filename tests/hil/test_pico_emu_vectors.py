"""The shared GNC vector set on the emulated Pico (hil/pico_emu): the C core built into the
RPI_PICO firmware (`gnc_native`, reached through the flashed `gnc` package as the flight app
reaches it), on the RP2040's Cortex-M0+ with single-precision floats and no FPU; and the
fallback on the same firmware built without the core.

The exchange is tests/gnc/test_vectors.py's: a JSON line per call over the board's USB-CDC,
float32 as hex bit patterns (a single-precision MicroPython parses and prints decimals with
one-ulp errors), returned scalars as float64 bit patterns; the same comparison with the same
tolerances. The runner goes in through the raw REPL (no echo) and reads the cases from stdin.
Slow: the RPI_PICO firmware build and the app image are cached; then about a minute.
"""

import importlib.util
import threading
import time
from pathlib import Path

import pytest
import serial

from hil.pico_emu import PicoEmu, app_image
from hil.plugin import need_pico_emu

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mitra_test_vectors", ROOT / "tests" / "gnc" / "test_vectors.py")
vectors = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vectors)

RUN_TIMEOUT_S = 600  # a limit on a hang, not a timed assert


def _read_until(port, out, marker, deadline):
    while marker not in out and b"Traceback" not in out and time.monotonic() < deadline:
        out += port.read(4096)
    assert marker in out, out[-3000:].decode(errors="replace")
    return out


def run_on_pico(port_path):
    """(first line, results) of the vector set on the board at `port_path` (at its REPL)."""
    lines, order = [], []
    for name in vectors.NAMES:
        for case in vectors.DATA["functions"][name]["cases"]:
            lines.append(vectors._mpy_line(vectors.api.BY_NAME[name], vectors.gen.decode(case["args"])))
            order.append(name)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with serial.Serial(port_path, timeout=0.2) as port:
        port.write(b"\r\x03\x03\x01")  # interrupt whatever runs, enter the raw REPL
        out = _read_until(port, b"", b"raw REPL; CTRL-B to exit\r\n>", deadline)
        port.write(vectors._MPY_RUNNER.encode() + b"\x04")
        out = _read_until(port, b"", b"OK", deadline)[2:]

        def feed():
            for line in lines:
                port.write(line.encode() + b"\n")

        threading.Thread(target=feed, daemon=True).start()
        while out.count(b"\n") < len(lines) + 1 and b"Traceback" not in out and time.monotonic() < deadline:
            out += port.read(65536)
    text = out.decode(errors="replace").replace("\r\n", "\n").splitlines()
    assert len(text) >= len(lines) + 1 and text[0].startswith("backend"), "\n".join(text[-20:])
    return text[0], vectors._collect_results(order, text[1 : len(lines) + 1])


@pytest.mark.slow
@pytest.mark.parametrize("with_core", [True, False], ids=["c-core", "fallback"])
def test_vectors_on_the_emulated_pico_match_reference(pico_emu_app_image, tmp_path, with_core):
    # the C core built in; and the same firmware built without it, where `import gnc` falls back
    # to the pure-MicroPython modules, as on a board flashed with stock firmware
    if with_core:
        firmware, image = pico_emu_app_image
    else:
        firmware = need_pico_emu(with_core=False)
        image = app_image(firmware)
    flash = tmp_path / "flash.img"
    flash.write_bytes(image.read_bytes())  # the flashed gnc package, no main.py: the REPL
    with PicoEmu(firmware, flash_image=flash, realtime=False) as pico:
        first, results = run_on_pico(pico.port)
    backend = "native-mpy" if with_core else "fallback"
    assert first == "backend %s float 4" % backend, first
    problems = []
    for name in vectors.NAMES:
        try:
            vectors.check_function("pico-emu %s" % ("c" if with_core else "fb"), name, results[name])
        except AssertionError as e:
            problems.append(str(e))
    assert not problems, "\n".join(problems)
