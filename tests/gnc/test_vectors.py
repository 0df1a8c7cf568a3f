"""The shared GNC vector set (tests/vectors/gnc_vectors.json) against every backend.

The file holds, per function of native/api.py, float32 inputs, the expected status and the
float64 reference outputs (the fallback's algorithm in double precision), with a stated
tolerance per function (tests/vectors/README.md). Here:
  - the file is what the generator produces now;
  - the C core through `native` (cffi, float32) matches the reference and the status;
  - the pure-MicroPython fallback on the MicroPython unix port (array('f') buffers) does too;
  - the same fallback under CPython with array('f') buffers does too.
Each comparison prints, per function, the largest deviation and the largest fraction of
the tolerance used (`pytest -s tests/gnc/test_vectors.py` shows them).
"""

import importlib
import importlib.util
import json
import math
from array import array
from pathlib import Path

import pytest

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


# ---- (c) the fallback on the MicroPython unix port -------------------------------------------

_MPY_RUNNER = """
import json
import sys
from array import array
import gnc

def dec(v):
    return float(v) if isinstance(v, str) else v

def enc(v):
    return v if v - v == 0.0 else str(v)

print("backend", gnc.BACKEND)
while True:
    line = sys.stdin.readline()
    if not line:
        break
    name, kinds, args = json.loads(line)
    call = []
    bufs = []
    for kind, v in zip(kinds, args):
        if kind == "b":
            b = array("f", [dec(x) for x in v])
            bufs.append(b)
            call.append(b)
        elif kind == "f":
            call.append(float(dec(v)))
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
    if isinstance(ret, float):
        ret = enc(ret)
    elif isinstance(ret, tuple):
        ret = [enc(x) if isinstance(x, float) else x for x in ret]
    print(json.dumps([st, [[enc(x) for x in b] for b in bufs], ret]))
"""


def _mpy_line(fn, args):
    kinds, values = [], []
    for a in fn.args:
        if a.kind in api.BUFFER_KINDS:
            kinds.append("b")
        elif a.kind in (api.FLOAT, api.FLOAT_INOUT):
            kinds.append("f")
        elif a.kind in (api.INT, api.INT_INOUT):
            kinds.append("i")
        else:
            continue
        values.append(args[a.name])
    return json.dumps([fn.name, kinds, values], allow_nan=False)


@pytest.fixture(scope="module")
def micropython_results(micropython):
    """{name: [(status, outputs) per case]} from one MicroPython process running the fallback."""
    lines, order = [], []
    for name in NAMES:
        for case in DATA["functions"][name]["cases"]:
            lines.append(_mpy_line(api.BY_NAME[name], case["args"]))
            order.append(name)
    out = micropython(_MPY_RUNNER, stdin=("\n".join(lines) + "\n").encode(), timeout=300).decode().splitlines()
    assert out[0] == "backend fallback", out[0]
    assert len(out) == len(lines) + 1, out[-3:]
    results = {name: [] for name in NAMES}
    for name, text in zip(order, out[1:]):
        fn = api.BY_NAME[name]
        status, bufs, ret = json.loads(text)
        names = [a.name for a in fn.args if a.kind in api.BUFFER_KINDS]
        results[name].append(gen.collect(fn, status, gen.decode(ret), dict(zip(names, gen.decode(bufs)))))
    return results


@pytest.mark.micropython
@pytest.mark.parametrize("name", NAMES)
def test_vectors_micropython_fallback_matches_reference(name, micropython_results):
    check_function("micropython", name, micropython_results[name])


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
