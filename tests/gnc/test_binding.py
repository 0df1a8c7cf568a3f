"""The bindings of the C core: the cffi wrapper `native` (buffer checks, status codes ->
exceptions, returned scalars), the firmware `gnc` package's backend choice, the composite
steps (C against the fallback), and the generated MicroPython module being up to date.

Argument kinds (native/api.py) covered: IN, OUT, INOUT buffers, count-dependent buffers,
FLOAT, INT, INT_INOUT, FLOAT_INOUT, FLOAT_OUT, INT_OUT, and the EUNSAFE flag.
"""

import importlib.util
import inspect
import math
import os
import subprocess
import sys
from array import array
from pathlib import Path

import numpy as np
import pytest

from ground import runtimes

ROOT = Path(__file__).resolve().parents[2]
ESP32_HEAP = 100 * 1024  # boards/esp32-devkitc.json heap_budget, the smallest board

native = pytest.importorskip("native", reason="the cffi core is not installed (`make setup`)")
api = native.api


def f32(values):
    return array("f", values)


def zeros(n):
    return array("f", bytes(4 * n))


Q_ID = f32([1, 0, 0, 0])
Q_X = f32([0, 1, 0, 0])


# --- buffer checks, before C runs ----------------------------------------------------


def test_binding_quat_mul_writes_out_in_place():
    out = zeros(4)
    assert native.quat_mul(Q_ID, Q_X, out) is None
    assert list(out) == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "call, message",
    [
        # OUT buffer too short
        (lambda: native.quat_mul(Q_ID, Q_X, zeros(3)), "quat_mul: argument 'out' has 3 floats, needs 4"),
        # IN buffer too long (fixed lengths are exact)
        (lambda: native.quat_conj(zeros(5), zeros(4)), "quat_conj: argument 'q' has 5 floats, needs 4"),
        # INOUT state against its gnc.h size constant
        (
            lambda: native.mekf_propagate(zeros(42), zeros(3), 0.1, 1e-4, 1e-6),
            "mekf_propagate: argument 's' has 42 floats, needs 43",
        ),
        # count-dependent length: at least 2 * n_points
        (
            lambda: native.pure_pursuit(zeros(3), zeros(5), 3, 0, zeros(5), zeros(2), zeros(2)),
            "pure_pursuit: argument 'path' has 5 floats, needs at least 6",
        ),
        (
            lambda: native.mahony_update(f32([1, 0, 0, 0]), zeros(3), zeros(3), zeros(3), zeros(6), 2, 1, 0, 0.1),
            "mahony_update: argument 'v_ref' has 3 floats, needs at least 6",
        ),
        # not a buffer at all
        (lambda: native.quat_mul([1, 0, 0, 0], Q_X, zeros(4)), "quat_mul: argument 'a' is list, not a float32 buffer"),
        # float64 numpy: an error, never a silent copy
        (
            lambda: native.quat_mul(Q_ID, Q_X, np.zeros(4)),
            "quat_mul: argument 'out' holds 'd' items, needs float32 ('f')",
        ),
        (lambda: native.quat_rotate(Q_ID, array("d", [1, 0, 0]), zeros(3)), "holds 'd' items"),
        # read-only output
        (lambda: native.quat_conj(Q_X, bytes(16)), "quat_conj: argument 'out' is read-only"),
        # non-contiguous view
        (
            lambda: native.quat_conj(Q_X, np.zeros(8, np.float32)[::2]),
            "quat_conj: argument 'out' is not contiguous",
        ),
        # raw bytes that are not whole floats
        (lambda: native.quat_conj(bytes(15), zeros(4)), "quat_conj: argument 'q' has 15 bytes, not a whole number"),
    ],
)
def test_binding_bad_buffer_raises_invalid_before_c(call, message):
    with pytest.raises(native.GncInvalid, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        call()
    assert info.value.code == native.EINVAL
    assert isinstance(info.value, ValueError)


def test_binding_bad_output_buffer_left_untouched():
    out = f32([7, 7, 7])
    with pytest.raises(native.GncInvalid):
        native.quat_rotate(Q_ID, f32([1, 2]), out)
    assert list(out) == [7, 7, 7]


def test_binding_accepts_numpy_float32_readonly_and_bytes_inputs():
    q = np.array([0, 0, 0, 1], np.float32)
    q.flags.writeable = False
    out = np.zeros((2, 2), np.float32)  # any C-contiguous shape with the right number of floats
    native.quat_mul(bytes(Q_ID), q, out)
    assert out.ravel().tolist() == [0.0, 0.0, 0.0, 1.0]
    r9 = np.zeros((3, 3), np.float32)
    native.quat_to_dcm(memoryview(Q_ID).toreadonly(), r9)
    assert np.array_equal(r9, np.eye(3, dtype=np.float32))


def test_binding_path_longer_than_n_points_is_accepted():
    path = zeros(2 * 64)  # sized for GNC_MAX_PATH_POINTS, carrying 2 points
    path[2] = 10.0
    cmd = zeros(2)
    index, done = native.pure_pursuit(zeros(3), path, 2, 0, f32([0.2, 0.5, 1.0, 0.3, 0.25]), f32([0, 1]), cmd)
    assert (index, done) == (0, 0)
    assert cmd[0] > 0.0


# --- status codes -> exceptions and flags -------------------------------------------


def test_binding_nan_buffer_raises_gncnan_outputs_untouched():
    out = f32([5, 5, 5, 5])
    with pytest.raises(native.GncNan, match=r"^quat_mul: NaN or infinite input$") as info:
        native.quat_mul(f32([math.nan, 0, 0, 0]), Q_X, out)
    assert info.value.code == native.ENAN
    assert list(out) == [5, 5, 5, 5]


def test_binding_nan_float_scalar_raises_gncnan():
    with pytest.raises(native.GncNan, match="cw_stm: NaN or infinite input"):
        native.cw_stm(0.001, math.inf, zeros(36))


def test_binding_nan_float_inout_raises_gncnan():
    with pytest.raises(native.GncNan, match="power_step"):
        native.power_step(math.nan, 0.1, 0.0, 0.0, 5.0, 0, f32([0.5, 0.25, 1361, 3.6e5, 5, 10]), 0.1)


def test_binding_zero_quaternion_raises_gncinvalid():
    with pytest.raises(native.GncInvalid, match="quat_normalize: argument outside its domain"):
        native.quat_normalize(zeros(4))


def test_binding_cw_transfer_at_full_period_raises_gncsingular():
    n = 0.0011
    with pytest.raises(native.GncSingular, match="cw_two_impulse: singular geometry") as info:
        native.cw_two_impulse(f32([0, -100, 0, 0, 0, 0]), f32([0, -50, 0]), zeros(3), n, 2 * math.pi / n, zeros(3),
                              zeros(3))
    assert info.value.code == native.ESINGULAR


def test_binding_too_many_path_points_raises_gncrange():
    with pytest.raises(native.GncRange, match="pure_pursuit: count beyond the config limits") as info:
        native.pure_pursuit(zeros(3), zeros(2 * 65), 65, 0, f32([0.2, 0.5, 1.0, 0.3, 0.25]), f32([0, 1]), zeros(2))
    assert info.value.code == native.ERANGE


def test_binding_keepout_violation_is_a_flag_not_an_exception():
    n = 0.0011
    x = f32([0, -20, 0, 0, 0.05, 0])  # drifting through the target
    min_range, unsafe = native.keepout_check(x, n, 3000.0, 1.0, 10.0)
    assert unsafe is True and min_range < 10.0
    min_range, unsafe = native.keepout_check(f32([0, -500, 0, 0, 0, 0]), n, 3000.0, 1.0, 10.0)
    assert unsafe is False and min_range == pytest.approx(500.0, rel=1e-5)


@pytest.mark.parametrize(
    "code, cls, reason",
    [
        (1, "GncInvalid", "argument outside its domain"),
        (2, "GncNan", "NaN or infinite input"),
        (3, "GncSingular", "singular geometry"),
        (4, "GncRange", "count beyond the config limits"),
        (5, "GncError", "keep-out violation"),
        (99, "GncError", "unexpected status 99"),
    ],
)
def test_binding_status_code_maps_to_exception_class(code, cls, reason):
    e = native.error(code, "f")
    assert type(e) is getattr(native, cls)
    assert (e.code, str(e)) == (code, "f: " + reason)


# --- returned scalars -----------------------------------------------------------------


def test_binding_float_out_returned():
    angle = native.quat_angle(Q_ID, Q_X)
    assert angle == pytest.approx(math.pi, abs=1e-6)


def test_binding_int_inout_and_int_out_returned():
    path = f32([0, 0, 1, 0, 2, 0])
    result = native.pure_pursuit(f32([1.95, 0, 0]), path, 3, 1, f32([0.2, 0.5, 1.0, 0.3, 0.25]), f32([0, 1]), zeros(2))
    assert isinstance(result, tuple) and len(result) == 2
    index, done = result
    assert isinstance(index, int) and index >= 1 and done == 1


def test_binding_float_inout_returned_with_float_out():
    p = f32([0.5, 0.25, 1361.0, 3.6e5, 5.0, 10.0])
    soc, net_w = native.power_step(0.5, 0.1, 0.0, 0.0, 5.0, 0, p, 10.0)
    expected = 0.5 * 0.25 * 1361.0 * math.cos(0.1) - 5.0 - 10.0  # generation - load_w - base_load_W
    assert net_w == pytest.approx(expected, rel=1e-4)
    assert soc == pytest.approx(0.5 + expected * 10.0 / 3.6e5, rel=1e-6)


# --- every function, generated from the table ----------------------------------------


def _good_args(fn):
    """Arguments of the right kinds and sizes (zeros, unit quaternions where a quaternion goes)."""
    consts = {c: getattr(native, c[4:]) for c in api.CONSTANTS}
    ints = {a.name: 1 for a in fn.args if a.kind in (api.INT, api.INT_INOUT)}
    args = []
    for a in fn.args:
        if a.kind in api.BUFFER_KINDS:
            buf = zeros(api.resolve_length(a.length, consts, ints))
            if len(buf) >= 4:
                buf[0] = 1.0
            args.append(buf)
        elif a.kind == api.FLOAT or a.kind == api.FLOAT_INOUT:
            args.append(0.5)
        elif a.kind in (api.INT, api.INT_INOUT):
            args.append(1)
    return args


@pytest.mark.parametrize("fn", api.FUNCTIONS, ids=lambda f: f.name)
def test_binding_every_function_callable_with_table_shapes(fn):
    args = _good_args(fn)
    try:
        result = getattr(native, fn.name)(*args)
    except native.GncError:
        return  # a domain error on placeholder values is a correct answer; the call went through
    n_ret = len(api.returned(fn)) + (1 if fn.unsafe else 0)
    if n_ret == 0:
        assert result is None
    elif n_ret == 1:
        assert not isinstance(result, tuple)
    else:
        assert isinstance(result, tuple) and len(result) == n_ret


@pytest.mark.parametrize("fn", api.FUNCTIONS, ids=lambda f: f.name)
def test_binding_every_function_checks_buffer_lengths(fn):
    args = _good_args(fn)
    positions = [i for i, a in enumerate(a for a in fn.args if a.kind not in (api.FLOAT_OUT, api.INT_OUT))
                 if isinstance(args[i], array)]
    assert positions, fn.name
    for i in positions:
        bad = list(args)
        bad[i] = zeros(len(args[i]) - 1) if len(args[i]) else zeros(1)
        with pytest.raises(native.GncInvalid, match=r"^%s: argument '" % fn.name):
            getattr(native, fn.name)(*bad)


@pytest.mark.parametrize("fn", api.FUNCTIONS, ids=lambda f: f.name)
def test_binding_wrapper_signature_follows_table_with_doc(fn):
    f = getattr(native, fn.name)
    params = list(inspect.signature(f).parameters)
    assert params == [api.py_name(a.name) for a in fn.args if a.kind not in (api.FLOAT_OUT, api.INT_OUT)]
    assert f.__doc__ == fn.doc


# --- the firmware gnc package: backend choice and one API -----------------------------


def _fallback_signature_cases():
    return [pytest.param(fn, id=fn.name) for fn in api.FUNCTIONS]


@pytest.mark.parametrize("fn", _fallback_signature_cases())
def test_binding_fallback_has_same_signature(fn):
    mod = dict((n, sub) for sub, names in _gnc_modules() for n in names)[fn.name]
    fallback = getattr(importlib.import_module("gnc." + mod), fn.name)
    assert list(inspect.signature(fallback).parameters) == list(inspect.signature(getattr(native, fn.name)).parameters)


def _gnc_modules():
    import gnc

    return gnc.MODULES


import importlib  # noqa: E402


def test_binding_gnc_names_cover_every_function():
    names = [n for _, ns in _gnc_modules() for n in ns]
    assert names == [f.name for f in api.FUNCTIONS]
    import gnc

    for c in api.CONSTANTS:
        assert getattr(gnc, c[4:]) == getattr(native, c[4:]), c


def _cpython(code, **env):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return runtimes.run_snippet(code, runtime="cpython").decode().split()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_binding_gnc_picks_cffi_under_cpython():
    code = (
        "import gnc, native\n"
        "from gnc.errors import GncError\n"
        "from array import array\n"
        "print(gnc.BACKEND, gnc.quat_mul is native.quat_mul, GncError is native.GncError)\n"
        "try:\n"
        "    gnc.quat_normalize(array('f', bytes(16)))\n"
        "except GncError as e:\n"
        "    print(type(e).__name__, e.code)\n"
    )
    assert _cpython(code, MITRA_GNC_BACKEND="") == ["cffi", "True", "True", "GncInvalid", "1"]


def test_binding_gnc_backend_env_forces_fallback():
    code = (
        "import gnc, sys\n"
        "from array import array\n"
        "print(gnc.BACKEND, 'native' in sys.modules)\n"
        "o = array('f', bytes(16))\n"
        "gnc.quat_mul(array('f', [1, 0, 0, 0]), array('f', [0, 1, 0, 0]), o)\n"
        "print(list(o) == [0, 1, 0, 0], gnc.quat_mul.__module__)\n"
    )
    assert _cpython(code, MITRA_GNC_BACKEND="fallback") == ["fallback", "False", "True", "gnc"]


def _stand_in_gnc_native(folder):
    # a module named gnc_native with every function: what `import gnc` finds on firmware built
    # with the C core (the real one is tested on that firmware in tests/firmware/test_firmware_build.py)
    import gnc

    names = [n for _, ns in gnc.MODULES for n in ns]
    (folder / "gnc_native.py").write_text("".join("def %s(*args):\n    return 'stand-in'\n" % n for n in names))


@pytest.mark.micropython
@pytest.mark.parametrize("choice, backend", [("", "native-mpy"), ("fallback", "fallback")])
def test_binding_gnc_backend_env_is_obeyed_on_micropython(micropython, tmp_path, monkeypatch, choice, backend):
    _stand_in_gnc_native(tmp_path)
    monkeypatch.setenv("MITRA_GNC_BACKEND", choice)
    code = "sys.path.append(%r)\nimport gnc\nprint(gnc.BACKEND)\n" % str(tmp_path)
    assert micropython(code).decode().split() == [backend]


# raw float32 bytes (native/README.md: "read-only inputs may also be bytes-like"), as the C
# bindings read them: bytes and a memoryview of bytes in, a bytearray out, aliasing kept
_RAW_CODE = """
import struct
import gnc
from array import array
print(gnc.BACKEND)
a = struct.pack("4f", 0.5, 0.5, 0.5, 0.5)
b = memoryview(struct.pack("4f", 0, 1, 0, 0))
o = bytearray(16)
gnc.quat_mul(a, b, o)
print(" ".join("%g" % v for v in struct.unpack("4f", o)))
q = bytearray(struct.pack("4f", 0, 3, 0, 4))
gnc.quat_normalize(q)
print(" ".join("%g" % v for v in struct.unpack("4f", q)))
gnc.quat_mul(q, q, q)
print(" ".join("%g" % v for v in struct.unpack("4f", q)))
try:
    gnc.quat_conj(bytes(15), array("f", bytes(16)))
except gnc.GncError as e:
    print("GncError", e.code)
"""
_RAW_EXPECT = ["-0.5 0.5 0.5 -0.5", "0 0.6 0 0.8", "-1 0 0 0", "GncError 1"]


def test_binding_fallback_reads_raw_bytes_like_c_on_cpython():
    expect = " ".join(_RAW_EXPECT).split()
    assert _cpython(_RAW_CODE, MITRA_GNC_BACKEND="fallback") == ["fallback"] + expect
    assert _cpython(_RAW_CODE, MITRA_GNC_BACKEND="") == ["cffi"] + expect


@pytest.mark.micropython
def test_binding_fallback_reads_raw_bytes_like_c_on_micropython(micropython):
    assert micropython(_RAW_CODE).decode().splitlines() == ["fallback"] + _RAW_EXPECT


@pytest.mark.micropython
def test_binding_gnc_picks_fallback_on_micropython_under_esp32_heap(micropython):
    # from .mpy, as an ESP32 is flashed: compiling the fallback's ~50 KB of source on the device
    # needs large transient blocks, and whether the fragmented heap has them at 100 KB changed
    # with the checkout's path (in /tmp/ci the same commit failed that passed elsewhere), where
    # from .mpy every heap from 76 KB up loads every module
    mpy_dir = runtimes.compile_firmware_mpy(("gnc",))
    code = (
        "import sys\n"
        "sys.path.insert(0, %r)\n"
        "import gc\n"
        "gc.collect()\n"
        "import gnc\n"
        "from gnc.errors import GncError\n"
        "from array import array\n"
        "print(gnc.BACKEND)\n"
        "o = array('f', bytes(16))\n"
        "gnc.quat_mul(array('f', [1, 0, 0, 0]), array('f', [0, 1, 0, 0]), o)\n"
        "print(list(o) == [0, 1, 0, 0])\n"
        "try:\n"
        "    gnc.quat_normalize(array('f', bytes(16)))\n"
        "except GncError as e:\n"
        "    print('GncError', e.code)\n"
        "for sub, names in gnc.MODULES:\n"
        "    for n in names:\n"
        "        getattr(gnc, n)\n"
        "gc.collect()\n"
        "print('all', gc.mem_free() > 20000)\n"
    ) % str(mpy_dir)
    out = micropython(code, heap_bytes=ESP32_HEAP).decode().split()
    assert out == ["fallback", "True", "GncError", "1", "all", "True"]


# --- composite steps: C against the fallback ------------------------------------------


def _inspector_inputs(rel):
    s = zeros(native.INSPECTOR_SIZE)
    native.mekf_init(memoryview(s)[: native.MEKF_SIZE], f32([1, 0, 0, 0]), zeros(3), 0.05, 0.001)
    s[47:50] = f32([0.001, 0.002, 0.0])  # h_cmd, carried over
    inp = zeros(native.INSPECTOR_IN)
    inp[0:3] = f32([0.01, -0.02, 0.005])  # gyro
    inp[3:6] = f32([1, 0, 0])  # sun_ref
    inp[6:9] = f32([0.999, 0.04, 0.0])  # sun_meas
    inp[9:12] = f32([0, 0.6, 0.8])  # mag_ref
    inp[12:15] = f32([0.02, 0.6, 0.8])  # mag_meas
    inp[15:18] = f32([2e-5, 1e-5, -3e-5])  # b_field
    inp[18:22] = f32([0.9999, 0.01, 0, 0])  # q_star
    inp[22] = 1.0  # star_valid
    inp[23:27] = f32([0.9962, 0.0872, 0, 0])  # q_ref: 10 deg about x
    inp[30:33] = f32([0.01, -0.005, 0.0])  # h_wheels
    inp[33:39] = f32(rel)
    inp[39] = 0.1
    prm = f32(
        [0.1, 0, 0, 0, 0.12, 0, 0, 0, 0.09]  # J
        + [0.02, 0.2, 0.01, 0.05, 1e4, 0.2]  # kp kd tau_max h_max k_dump m_max
        + [1e-4, 1e-6, 0.01, 0.02, 1e-4]  # sigma_v sigma_u sigma_sun sigma_mag sigma_star
        + [0.0011, 20.0, 3000.0, 10.0]  # n keepout_radius horizon horizon_dt
    )
    return s, inp, prm


def _run_inspector_fallback(s, inp, prm, out):
    steps = importlib.import_module("gnc.steps")
    return steps.inspector_step(s, inp, prm, out)


@pytest.mark.parametrize("rel, unsafe", [([0, -300, 0, 0, 0, 0], False), ([0, -15, 0, 0, 0.001, 0], True)])
def test_binding_inspector_step_c_matches_fallback(rel, unsafe):
    s_c, inp, prm = _inspector_inputs(rel)
    s_py = array("f", s_c)
    out_c, out_py = zeros(native.INSPECTOR_OUT), zeros(native.INSPECTOR_OUT)
    # from a zero state: one setup cycle, then the keep-out sweep's 10 steps (gnc.h); its last
    # one declares
    for _ in range(10):
        assert native.inspector_step(s_c, inp, prm, out_c) is False
        assert _run_inspector_fallback(s_py, inp, prm, out_py) is False
    assert native.inspector_step(s_c, inp, prm, out_c) is unsafe
    assert _run_inspector_fallback(s_py, inp, prm, out_py) is unsafe
    assert out_c[11] == (1.0 if unsafe else 0.0) and s_c[57] == 11.0
    # float32 C against the fallback's double arithmetic: relative 1e-4 plus a small floor
    np.testing.assert_allclose(np.array(out_c), np.array(out_py), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.array(s_c), np.array(s_py), rtol=1e-4, atol=1e-9)
    if not unsafe:
        assert list(out_c[12:15]) == [0.0, 0.0, 0.0]


def test_binding_inspector_step_error_leaves_state_and_out_untouched():
    s, inp, prm = _inspector_inputs([0, -300, 0, 0, 0, 0])
    inp[12] = math.nan
    before, out = array("f", s), f32([9.0] * native.INSPECTOR_OUT)
    with pytest.raises(native.GncNan, match="inspector_step"):
        native.inspector_step(s, inp, prm, out)
    assert s == before and list(out) == [9.0] * native.INSPECTOR_OUT


def _rover_inputs(drilling):
    s = zeros(native.ROVER_STEP_SIZE)
    s[5] = 0.8  # soc
    s[7] = 1.0 if drilling else 0.0  # drill mode: drilling
    inp = f32([0.1, 0.12, 0.01, 1.0, 0.02, 0.05, 0.3, 0.05, 1.0, 1.0, 300.0, 1.0 if drilling else 0.0, 0.1])
    prm = f32(
        [0.2, 0.5, 1.0, 0.3, 0.25]  # limits
        + [1e-4, 1e-3]  # sigma_gyro var_sun
        + [0.5, 0.25, 1361.0, 3.6e5, 5.0, 10.0]  # power p
        + [0.0, 8.0]  # horizon load_w
        + [5.0, 2.0, 330.0, 1.5, 0.01]  # drill limits
    )
    path = f32([0, 0, 10, 0, 10, 10, 0, 10])
    return s, inp, prm, path


@pytest.mark.parametrize("drilling", [False, True])
def test_binding_rover_step_c_matches_fallback(drilling):
    s_c, inp, prm, path = _rover_inputs(drilling)
    s_py = array("f", s_c)
    out_c, out_py = zeros(native.ROVER_OUT), zeros(native.ROVER_OUT)
    for _ in range(5):
        assert native.rover_step(s_c, inp, prm, path, 4, out_c) is None
        importlib.import_module("gnc.steps").rover_step(s_py, inp, prm, path, 4, out_py)
    np.testing.assert_allclose(np.array(out_c), np.array(out_py), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.array(s_c), np.array(s_py), rtol=1e-4, atol=1e-9)
    if drilling:
        assert out_c[0] == 0.0 and out_c[1] == 0.0 and out_c[4] > 0.0 and out_c[5] == 1.0
    else:
        assert out_c[0] > 0.0 and out_c[4] == 0.0
    assert s_c[12] == 0.0  # a sun fix every step resets the time since the last one


@pytest.mark.micropython
def test_binding_steps_fallback_runs_on_micropython(micropython):
    s, inp, prm = _inspector_inputs([0, -300, 0, 0, 0, 0])
    rs, rinp, rprm, path = _rover_inputs(False)
    out_c = zeros(native.INSPECTOR_OUT)
    native.inspector_step(array("f", s), inp, prm, out_c)
    code = (
        "from array import array\n"
        "from gnc.steps import inspector_step, rover_step\n"
        "s = array('f', %r)\n"
        "out = array('f', bytes(60))\n"
        "print(inspector_step(s, array('f', %r), array('f', %r), out))\n"
        "print(' '.join('%%.6g' %% v for v in out))\n"
        "rs = array('f', %r)\n"
        "rout = array('f', bytes(24))\n"
        "print(rover_step(rs, array('f', %r), array('f', %r), array('f', %r), 4, rout))\n"
    ) % (list(s), list(inp), list(prm), list(rs), list(rinp), list(rprm), list(path))
    lines = micropython(code).decode().splitlines()
    assert lines[0] == "False" and lines[2] == "None"
    np.testing.assert_allclose([float(v) for v in lines[1].split()], np.array(out_c), rtol=1e-4, atol=1e-6)


# --- the MicroPython module and the installed extension --------------------------------


def test_binding_micropython_module_is_generated_and_current():
    gen = ROOT / "native" / "mpy_module" / "gen_module.py"
    proc = subprocess.run([sys.executable, str(gen), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = (ROOT / "native" / "mpy_module" / "modgnc.c").read_text()
    for fn in api.FUNCTIONS:
        assert "MP_ROM_QSTR(MP_QSTR_%s), MP_ROM_PTR(&gnc_mp_%s_obj)" % (fn.name, fn.name) in text
        assert "gnc_status rc = gnc_%s(" % fn.name in text


def test_binding_micropython_module_generator_detects_stale_file(tmp_path):
    spec = importlib.util.spec_from_file_location("gen_module_t", ROOT / "native" / "mpy_module" / "gen_module.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.TARGET = tmp_path / "modgnc.c"
    gen.TARGET.write_text(gen.module_c().replace("GNC_MEKF_SIZE", "42", 1))
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0


def test_binding_installed_extension_is_not_older_than_sources():
    so = Path(native._gnc.__file__)
    if ROOT not in so.parents:
        pytest.skip("native installed from a wheel, not editable")
    sources = list((ROOT / "native" / "src").glob("*.c")) + list((ROOT / "native" / "include").glob("*.h"))
    stale = [p.name for p in sources if p.stat().st_mtime > so.stat().st_mtime]
    assert not stale, "native/%s is older than %s: rerun `.venv/bin/pip install -e . --no-deps`" % (so.name, stale)
