"""The shared GNC vector set (tests/vectors/gnc_vectors.json) against every backend.

The file holds, per function of native/api.py, float32 inputs, the expected status and the
float64 reference outputs (the fallback's algorithm in double precision), with a stated
tolerance per function (tests/vectors/README.md). Here:
  - the file is what the generator produces now;
  - the C core through `native` (cffi, float32) matches the reference and the status;
  - the pure-MicroPython fallback on the MicroPython unix port (array('f') buffers) does too;
  - on our own firmware (scripts/firmware.py, slow): the C core built into the unix port, in
    double and in single precision, and the fallback in single precision, as on a board; the C
    core built into the qemu port on an emulated Cortex-M3 (qemu-system-arm, mps2-an385);
  - the same fallback under CPython with array('f') buffers does too.
Each comparison prints, per function, the largest deviation and the largest fraction of
the tolerance used (`pytest -s tests/gnc/test_vectors.py` shows them).
"""

import importlib
import importlib.util
import json
import math
import os
import select
import shutil
import struct
import subprocess
import threading
import time
from array import array
from pathlib import Path

import pytest

from ground import runtimes

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "gnc_vectors.json"
_spec = importlib.util.spec_from_file_location("make_gnc_vectors", ROOT / "tests" / "vectors" / "make_gnc_vectors.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)
api = gen.api
_tspec = importlib.util.spec_from_file_location("mitra_vector_tolerance", ROOT / "tests" / "vectors" / "tolerance.py")
tolerance_rules = importlib.util.module_from_spec(_tspec)
_tspec.loader.exec_module(tolerance_rules)

DATA = json.loads(VECTORS.read_text())
NAMES = list(DATA["functions"])


# ---- comparison -------------------------------------------------------------------------


def compare(name, case, status, outputs):
    """(problems, max |deviation|, max deviation / tolerance) of one backend's result."""
    fn = DATA["functions"][name]
    label = "%s [%s]" % (name, case["name"])
    if status != case["status"]:
        return ["%s: status %d, expected %d" % (label, status, case["status"])], 0.0, 0.0
    problems, dev_max, ratio_max = [], 0.0, 0.0
    for out, ref in case["expect"].items():
        got = outputs[out]
        ref = gen.decode(ref)
        got_l = got if isinstance(got, list) else [got]
        ref_l = ref if isinstance(ref, list) else [ref]
        if len(got_l) != len(ref_l):
            problems.append("%s: %s has %d values, expected %d" % (label, out, len(got_l), len(ref_l)))
            continue
        if case["status"] == api.ENAN:  # untouched: bit-for-bit what went in
            if gen.encode([float(v) for v in got_l]) != gen.encode([float(v) for v in ref_l]):
                problems.append("%s: %s changed on ENAN: %r -> %r" % (label, out, ref_l, got_l))
            continue
        per = tolerance_rules.entries(fn["tolerance"], out, len(ref_l))
        for i, (g, r) in enumerate(zip(got_l, ref_l)):
            t = per[i]
            assert t is not None, "%s: no tolerance for %s[%d]" % (name, out, i)
            allowed = tolerance_rules.allowed(t, ref_l, i, per)
            dev = abs(float(g) - float(r)) if math.isfinite(float(g)) else math.inf
            ratio = dev / allowed if allowed > 0 else (0.0 if dev == 0 else math.inf)
            dev_max = max(dev_max, dev)
            ratio_max = max(ratio_max, ratio)
            if not dev <= allowed:
                problems.append(
                    "%s: %s[%d] = %r, reference %r (|dev| %.3g > %s tolerance %.3g)"
                    % (label, out, i, g, r, dev, t["kind"], allowed)
                )
    return problems, dev_max, ratio_max


def check_function(backend, name, results):
    """Compare `results` (one (status, outputs) per case) with the vectors; print the deviations."""
    cases = DATA["functions"][name]["cases"]
    assert len(results) == len(cases)
    problems, dev_max, ratio_max = [], 0.0, 0.0
    for case, (status, outputs) in zip(cases, results):
        p, d, r = compare(name, case, status, outputs)
        problems += p
        dev_max, ratio_max = max(dev_max, d), max(ratio_max, r)
    print(
        "\nvectors %-11s %-20s %2d cases  max |dev| %9.3g  max dev/tol %6.3f"
        % (backend, name, len(cases), dev_max, ratio_max)
    )
    assert not problems, "\n".join(problems)


def check_all(backend, results):
    """check_function for every function, the deviations of all of them reported together."""
    problems = []
    for name in NAMES:
        try:
            check_function(backend, name, results[name])
        except AssertionError as e:
            problems.append(str(e))
    assert not problems, "\n".join(problems)


def run_cases(name, func, make_buffer):
    fn = api.BY_NAME[name]
    return [gen.call(fn, func, gen.decode(c["args"]), make_buffer) for c in DATA["functions"][name]["cases"]]


def f32_buffer(values):
    return array("f", values)


# ---- (a) the file is current -------------------------------------------------------------


def _same(a, b, path, in_expect, problems):
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            problems.append("%s: keys %s != %s" % (path, list(a), list(b)))
            return
        for k in a:
            _same(a[k], b[k], path + "/" + str(k), in_expect or k == "expect", problems)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            problems.append("%s: %d items != %d" % (path, len(a), len(b)))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, "%s[%d]" % (path, i), in_expect, problems)
    elif in_expect and isinstance(a, float) and isinstance(b, float):
        # the float64 reference: libm may differ by an ulp between machines
        if not math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15):
            problems.append("%s: %r != %r" % (path, a, b))
    elif type(a) is not type(b) or a != b:
        problems.append("%s: %r != %r" % (path, a, b))


def test_vectors_file_is_current():
    fresh = json.loads(gen.dumps(gen.build()))
    problems = []
    _same(DATA, fresh, "", False, problems)
    assert not problems, "tests/vectors/gnc_vectors.json is stale: run tests/vectors/make_gnc_vectors.py\n" + (
        "\n".join(problems[:20])
    )


def test_vectors_cover_every_function_with_errors():
    assert NAMES == [f.name for f in api.FUNCTIONS]
    for name in NAMES:
        cases = DATA["functions"][name]["cases"]
        ok = [c for c in cases if c["status"] in (api.OK, api.EUNSAFE)]
        assert len(ok) >= 1, name
        if name != "bdot_init":  # no float input, no domain: it cannot fail
            assert any(c["status"] == api.ENAN for c in cases), name
        fn = api.BY_NAME[name]
        for c in ok:
            assert set(c["expect"]) == {a.name for a in fn.args if a.kind in (api.OUT, api.INOUT)} | set(
                api.returned(fn)
            ), (name, c["name"])
            for a in fn.args:
                if a.kind in api.BUFFER_KINDS:
                    for v in gen.decode(c["args"][a.name]):
                        assert gen.f32(v) == v or v != v, (name, c["name"], a.name, v)  # float32 inputs


def test_vectors_comparison_catches_a_deviation():
    # the checker itself: a result just outside the tolerance fails, the reference passes
    case = DATA["functions"]["cw_propagate"]["cases"][0]
    ref = gen.decode(case["expect"]["out"])
    assert compare("cw_propagate", case, 0, {"out": list(ref)})[0] == []
    t = DATA["functions"]["cw_propagate"]["tolerance"][0]
    bumped = list(ref)
    bumped[1] += 1.01 * (t["abs"] + t["rel"] * max(abs(v) for v in ref))
    assert compare("cw_propagate", case, 0, {"out": bumped})[0]
    assert compare("cw_propagate", case, 1, {"out": list(ref)})[0]


# ---- (b) the C core --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_vectors_c_core_matches_reference(name):
    native = pytest.importorskip("native")
    check_function("cffi", name, run_cases(name, getattr(native, name), f32_buffer))


# ---- (c) MicroPython: the fallback on the unix port, the C core built into firmware ------------
#
# One MicroPython process runs every case, reading a JSON line per call from stdin. Floats
# cross the pipe as hex bit patterns, never as decimal: a single-precision MicroPython (the
# boards, `unix-f32`) parses and prints decimals with one-ulp errors, which showed up as false
# failures. Buffers and float arguments are little-endian float32; returned scalars are
# float64 ('<d'), exact whatever the interpreter's float (a float32 widens exactly).

_MPY_RUNNER = """
import json
import struct
import sys
from array import array
from binascii import hexlify, unhexlify
import gnc

def enc(v):
    return hexlify(struct.pack("<d", v)).decode() if isinstance(v, float) else v

BACKEND = gnc.BACKEND
print("backend", BACKEND, "float", 8 if 1.0 + 2.0 ** -40 != 1.0 else 4)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    name, kinds, args = json.loads(line)
    call = []
    bufs = []
    for kind, v in zip(kinds, args):
        if kind == "b":
            b = array("f", bytearray(unhexlify(v)))
            bufs.append(b)
            call.append(b)
        elif kind == "f":
            call.append(struct.unpack("<f", unhexlify(v))[0])
        else:
            call.append(int(v))
    try:
        ret = getattr(gnc, name)(*call)
        st = 0
    except ValueError as e:
        if not hasattr(e, "code"):
            raise
        ret = None
        st = e.code
    if isinstance(ret, tuple):
        ret = [enc(x) for x in ret]
    else:
        ret = enc(ret)
    print(json.dumps([st, [hexlify(bytes(b)).decode() for b in bufs], ret]))
"""


def f32_hex(values):
    """float32 bit patterns, little-endian, as hex: what the runner reads."""
    values = values if isinstance(values, list) else [values]
    return struct.pack("<%df" % len(values), *values).hex()


def f32_unhex(text):
    raw = bytes.fromhex(text)
    return list(struct.unpack("<%df" % (len(raw) // 4), raw))


def _f64_unhex(v):
    return struct.unpack("<d", bytes.fromhex(v))[0] if isinstance(v, str) else v


def _mpy_line(fn, args):
    kinds, values = [], []
    for a in fn.args:
        if a.kind in api.BUFFER_KINDS:
            kinds.append("b")
            values.append(f32_hex(args[a.name]))
        elif a.kind in (api.FLOAT, api.FLOAT_INOUT):
            kinds.append("f")
            values.append(f32_hex(float(args[a.name])))
        elif a.kind in (api.INT, api.INT_INOUT):
            kinds.append("i")
            values.append(args[a.name])
    return json.dumps([fn.name, kinds, values], allow_nan=False)


def case_lines():
    """(the runner's input line for each case of every function, the function's name for each)."""
    lines, order = [], []
    for name in NAMES:
        for case in DATA["functions"][name]["cases"]:
            lines.append(_mpy_line(api.BY_NAME[name], gen.decode(case["args"])))
            order.append(name)
    return lines, order


def run_on_micropython(binary, env=None):
    """(first line, {name: [(status, outputs) per case]}) of one `binary` process running every case."""
    lines, order = case_lines()
    source = runtimes.firmware_path_setup("micropython") + _MPY_RUNNER
    proc = subprocess.run([binary, "-c", source], input=("\n".join(lines) + "\n").encode(), capture_output=True,
                          timeout=600, env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    out = proc.stdout.decode().splitlines()
    assert len(out) == len(lines) + 1, out[-3:]
    return out[0], _collect_results(order, out[1:])


def _collect_results(order, out):
    results = {name: [] for name in NAMES}
    for name, text in zip(order, out):
        fn = api.BY_NAME[name]
        status, bufs, ret = json.loads(text)
        ret = [_f64_unhex(x) for x in ret] if isinstance(ret, list) else _f64_unhex(ret)
        names = [a.name for a in fn.args if a.kind in api.BUFFER_KINDS]
        results[name].append(gen.collect(fn, status, ret, dict(zip(names, [f32_unhex(b) for b in bufs]))))
    return results


def test_vectors_exchange_is_bit_exact():
    # every float32 input of the set, NaN and infinities included, survives the hex round trip
    for name in NAMES:
        for case in DATA["functions"][name]["cases"]:
            for a in api.BY_NAME[name].args:
                if a.kind in api.BUFFER_KINDS:
                    v = gen.decode(case["args"][a.name])
                    assert gen.encode(f32_unhex(f32_hex(v))) == gen.encode(v), (name, case["name"], a.name)


@pytest.fixture(scope="module")
def micropython_results(micropython):
    """{name: [(status, outputs) per case]} from the PyPI unix port running the fallback."""
    first, results = run_on_micropython(runtimes.require_micropython())
    assert first.split()[:2] == ["backend", "fallback"], first
    return results


@pytest.mark.micropython
@pytest.mark.parametrize("name", NAMES)
def test_vectors_micropython_fallback_matches_reference(name, micropython_results):
    check_function("micropython", name, micropython_results[name])


# On the qemu port there is no filesystem for firmware/: the runner is pasted at the REPL (paste
# mode) with a stand-in for gnc.errors, so the built-in module raises GncError with its code, and
# the cases follow on the UART.
_QEMU_GNC = """
class GncError(ValueError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

class _Errors:
    pass

_errors = _Errors()
_errors.GncError = GncError
sys.modules["gnc.errors"] = _errors
import gnc_native as gnc
BACKEND = "native-mpy"
print("VECTORS-BEGIN")
"""


QEMU_RUNNER = _MPY_RUNNER.replace("import gnc\n", _QEMU_GNC).replace("BACKEND = gnc.BACKEND\n", "")
assert "gnc_native" in QEMU_RUNNER and "gnc.BACKEND" not in QEMU_RUNNER


def run_on_qemu(elf, timeout=300):
    """(first line, results) of the vector set on MicroPython under qemu-system-arm (mps2-an385)."""
    lines, order = case_lines()
    argv = ["qemu-system-arm", "-machine", "mps2-an385", "-nographic", "-monitor", "null", "-semihosting",
            "-serial", "stdio", "-kernel", str(elf)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    deadline = time.monotonic() + timeout  # a limit on a hang, not a timed assert

    def read_until(marker):
        nonlocal out
        while marker not in out and b"Traceback" not in out and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                out += os.read(proc.stdout.fileno(), 65536)
        assert marker in out, out[-3000:].decode(errors="replace")

    try:
        read_until(b">>> ")
        proc.stdin.write(b"\x05" + QEMU_RUNNER.replace("\n", "\r").encode() + b"\x04")
        proc.stdin.flush()
        read_until(b"VECTORS-BEGIN\r\n")
        out = out.split(b"VECTORS-BEGIN\r\n", 1)[1]
        # the cases from a thread: qemu takes stdin only as fast as the guest reads its UART, and
        # it blocks on stdout unless this side keeps reading it
        def feed():
            try:
                for line in lines:
                    proc.stdin.write(line.encode() + b"\n")
                    proc.stdin.flush()
            except OSError:  # qemu gone: the assertion below says why
                pass

        threading.Thread(target=feed, daemon=True).start()
        while out.count(b"\n") < len(lines) + 1 and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                out += os.read(proc.stdout.fileno(), 65536)
    finally:
        proc.kill()
        proc.wait()
    text = out.decode(errors="replace").replace("\r\n", "\n").splitlines()
    assert len(text) >= len(lines) + 1 and text[0].startswith("backend"), "\n".join(text[-20:])
    return text[0], _collect_results(order, text[1: len(lines) + 1])


@pytest.mark.slow
def test_vectors_on_qemu_c_core_match_reference(built_firmware):
    # MicroPython v1.28.0's qemu port (Cortex-M3, single precision, lib/libm) with the core built in
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed (scripts/bootstrap.sh installs it)")
    first, results = run_on_qemu(built_firmware("qemu-an385"))
    assert first == "backend native-mpy float 4", first
    check_all("qemu-an385 c", results)


@pytest.fixture(scope="module", params=[("unix", "native-mpy"), ("unix-f32", "native-mpy"), ("unix-f32", "fallback")],
                ids=["unix-c", "unix-f32-c", "unix-f32-fallback"])
def firmware_results(request, built_firmware):
    """(label, results) on our firmware (scripts/firmware.py): the C core built into the `unix`
    (double) and `unix-f32` (single precision, like the boards) ports, and the fallback on
    `unix-f32` (MITRA_GNC_BACKEND=fallback): the arithmetic a board without the core runs."""
    board, backend = request.param
    env = {"MITRA_GNC_BACKEND": "fallback" if backend == "fallback" else ""}
    first, results = run_on_micropython(built_firmware(board), env=env)
    assert first == "backend %s float %d" % (backend, 8 if board == "unix" else 4), first
    return "%s %s" % (board, backend), results


@pytest.mark.slow
@pytest.mark.micropython
def test_vectors_on_our_micropython_firmware_match_reference(firmware_results):
    label, results = firmware_results
    check_all(label, results)


# ---- (d) the fallback under CPython on array('f') ---------------------------------------------


def _fallback_function(name):
    gnc = importlib.import_module("gnc")
    for sub, names in gnc.MODULES:
        if name in names:
            return getattr(importlib.import_module("gnc." + sub), name)
    raise AssertionError("%s is in no fallback module" % name)


@pytest.mark.parametrize("name", NAMES)
def test_vectors_cpython_fallback_matches_reference(name):
    check_function("fallback", name, run_cases(name, _fallback_function(name), f32_buffer))
