"""Generate tests/vectors/gnc_vectors.json: the shared GNC test-vector set.

    .venv/bin/python tests/vectors/make_gnc_vectors.py          # rewrite the JSON
    .venv/bin/python tests/vectors/make_gnc_vectors.py --check  # exit 1 when it is stale

Every function of native/api.py gets a handful of realistic cases and at least one error
case. Inputs are float32-representable (rounded through numpy float32) so the C core, the
fallback on array('f') and the float64 reference all start from the same numbers. The
reference outputs are the pure-MicroPython fallback (firmware/gnc/*.py) run under CPython
on Python lists of floats (doubles), with the fallback's module-level array('f') scratch
buffers replaced by lists (see float64_fallback), i.e. the same algorithm in float64.

The format, the tolerance kinds and how to use the file are in tests/vectors/README.md;
tests/gnc/test_vectors.py checks the C core and the fallback (CPython and MicroPython)
against it. Deterministic: a fixed seed, no clock, no environment.
"""

import contextlib
import importlib
import json
import math
import os
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().with_name("gnc_vectors.json")
SEED = 20250603
FORMAT = 1

for _p in (str(ROOT), str(ROOT / "firmware"), str(ROOT / "firmware" / "cpython")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from native import api  # noqa: E402  (api.py is plain Python: no compiled core needed)

OK, EINVAL, ENAN, ESINGULAR, ERANGE, EUNSAFE = api.OK, api.EINVAL, api.ENAN, api.ESINGULAR, api.ERANGE, api.EUNSAFE
SIZES = {
    "GNC_MEKF_SIZE": 43, "GNC_BDOT_SIZE": 4, "GNC_BODY_SIZE": 10, "GNC_CW_SIZE": 6, "GNC_POSE_SIZE": 3,
    "GNC_ROVER_NAV_SIZE": 5, "GNC_DRILL_SIZE": 4, "GNC_INSPECTOR_SIZE": 66, "GNC_ROVER_STEP_SIZE": 14,
    "GNC_INSPECTOR_IN": 40, "GNC_INSPECTOR_PRM": 24, "GNC_INSPECTOR_OUT": 15, "GNC_ROVER_IN": 13,
    "GNC_ROVER_PRM": 20, "GNC_ROVER_OUT": 6,
}  # fmt: skip
OUT_FILL = 9.0  # initial contents of OUT buffers (so "left untouched" is visible)
NAN = math.nan
N_LEO = 0.0011  # mean motion of a ~500 km orbit, rad/s


# ---- float32 inputs ---------------------------------------------------------------------


def f32(x):
    """x (a number or a sequence) rounded to float32, as Python floats / lists of floats."""
    if isinstance(x, (int, float, np.floating, np.integer)):
        return float(np.float32(x))
    return [float(v) for v in np.asarray(x, dtype=np.float64).astype(np.float32)]


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def rand_quat(rng, max_angle=None):
    """A random unit quaternion, q0 >= 0 (uniform, or within max_angle of identity)."""
    if max_angle is None:
        q = unit(rng.normal(size=4))
    else:
        axis = unit(rng.normal(size=3))
        ang = rng.uniform(-max_angle, max_angle)
        q = np.concatenate([[math.cos(ang / 2)], math.sin(ang / 2) * axis])
    return q if q[0] >= 0 else -q


def qmul(a, b):
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    return np.array([
        a0 * b0 - a1 * b1 - a2 * b2 - a3 * b3, a0 * b1 + a1 * b0 + a2 * b3 - a3 * b2,
        a0 * b2 - a1 * b3 + a2 * b0 + a3 * b1, a0 * b3 + a1 * b2 - a2 * b1 + a3 * b0,
    ])  # fmt: skip


def dcm(q):
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def covariance(rng, sig_att, sig_bias, corr=0.3):
    """A physically sensible 6x6 MEKF covariance (float32-rounded, symmetric, positive definite)."""
    a = rng.normal(size=(6, 6))
    c = np.eye(6) + corr * (a @ a.T) / 6.0
    d = np.sqrt(np.diag(c))
    c = c / np.outer(d, d)
    s = np.array([sig_att] * 3 + [sig_bias] * 3) * rng.uniform(0.5, 1.5, size=6)
    p = np.asarray(f32((c * np.outer(s, s)).ravel())).reshape(6, 6)
    assert np.allclose(p, p.T, rtol=0, atol=0) and np.linalg.eigvalsh(p).min() > 0
    return p


def mekf_state(rng, q=None, bias=None, sig_att=0.02, sig_bias=2e-4):
    q = rand_quat(rng) if q is None else q
    bias = rng.normal(scale=5e-4, size=3) if bias is None else bias
    return f32(np.concatenate([q, bias, covariance(rng, sig_att, sig_bias).ravel()]))


# ---- the float64 reference -------------------------------------------------------------


def _list_array(typecode, init=()):
    # array('f', ...) stand-in: a list of Python floats (doubles)
    if isinstance(init, (bytes, bytearray)):
        return [0.0] * (len(init) // 4)
    return [float(v) for v in init]


@contextlib.contextmanager
def float64_fallback():
    """{name: function} of the fallback with its array('f') scratch buffers as lists of doubles.

    Fresh copies of firmware/gnc are imported while `array.array` is replaced by a list
    factory (the scratch buffers of mekf.py, control.py and steps.py are module-level
    array('f'), which would round intermediates to float32); sys.modules is restored on exit.
    """
    saved = {k: v for k, v in sys.modules.items() if k == "gnc" or k.startswith("gnc.")}
    for k in saved:
        del sys.modules[k]
    real_array = sys.modules.get("array")
    env = os.environ.get("MITRA_GNC_BACKEND")
    fake = types.ModuleType("array")
    fake.array = _list_array
    sys.modules["array"] = fake
    os.environ["MITRA_GNC_BACKEND"] = "fallback"
    try:
        gnc = importlib.import_module("gnc")
        funcs = {}
        for sub, names in gnc.MODULES:
            mod = importlib.import_module("gnc." + sub)
            for n in names:
                funcs[n] = getattr(mod, n)
    except BaseException:
        _restore(saved, real_array, env)
        raise
    if real_array is not None:
        sys.modules["array"] = real_array
    else:
        del sys.modules["array"]
    try:
        yield funcs
    finally:
        _restore(saved, real_array, env)


def _restore(saved, real_array, env):
    for k in [k for k in sys.modules if k == "gnc" or k.startswith("gnc.")]:
        del sys.modules[k]
    sys.modules.update(saved)
    if real_array is not None:
        sys.modules["array"] = real_array
    if env is None:
        os.environ.pop("MITRA_GNC_BACKEND", None)
    else:
        os.environ["MITRA_GNC_BACKEND"] = env


def decode(v):
    """A JSON value back to Python: the strings "nan", "inf", "-inf" become floats."""
    if isinstance(v, str):
        return float(v)
    if isinstance(v, list):
        return [decode(x) for x in v]
    if isinstance(v, dict):
        return {k: decode(x) for k, x in v.items()}
    return v


def encode(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return [encode(x) for x in v]
    return v


def call(fn, func, args, make_buffer):
    """Run `func` (a backend's function for api.Function `fn`) on a case's decoded args.

    make_buffer(list) -> the backend's buffer. Returns (status, outputs): outputs maps every
    OUT / INOUT buffer (as a list of floats) and every returned scalar to its value after
    the call; status is the gnc.h code (EUNSAFE when an unsafe function returned True;
    the code of a raised exception that has `.code`).
    """
    bufs, call_args = {}, []
    for a in fn.args:
        v = args.get(a.name)
        if a.kind in api.BUFFER_KINDS:
            bufs[a.name] = make_buffer(v)
            call_args.append(bufs[a.name])
        elif a.kind in (api.FLOAT, api.FLOAT_INOUT):
            call_args.append(float(v))
        elif a.kind in (api.INT, api.INT_INOUT):
            call_args.append(int(v))
    status = OK
    try:
        ret = func(*call_args)
    except Exception as e:  # noqa: BLE001 - a backend's GncError; anything else re-raised
        if not hasattr(e, "code"):
            raise
        ret, status = None, e.code
    return collect(fn, status, ret, bufs)


def collect(fn, status, ret, bufs):
    """(status, outputs) from a call's status, return value and {name: buffer} (see call)."""
    outputs = {a.name: [float(x) for x in bufs[a.name]] for a in fn.args if a.kind in (api.OUT, api.INOUT)}
    if status == OK:
        names = api.returned(fn) + (["unsafe"] if fn.unsafe else [])
        values = [] if not names else ([ret] if len(names) == 1 else list(ret))
        assert len(values) == len(names), (fn.name, ret)
        for n, v in zip(names, values):
            if n == "unsafe":
                status = EUNSAFE if v else OK
            else:
                outputs[n] = v
    return status, outputs


# ---- tolerances -------------------------------------------------------------------------
# A tolerance entry applies to output `out` (a buffer name, a returned scalar, or "*" for
# every output no other entry names), optionally only to its floats [from, to):
#   elem:  |c - r| <= abs + rel * |r|                      (each float on its own)
#   norm:  |c - r| <= abs + rel * max |r| over the group   (vectors, matrices, quaternions);
#          with "block": [cols, b] the floats are a row-major matrix of `cols` columns and
#          each b x b block of it is a group (the rr, rv, vr, vv blocks of the CW STM)
#   cov:   |c - r| <= abs + rel * sqrt(r_ii r_jj)          (a 6x6 covariance in the group)
# "exact" outputs (ints, modes, flags) are compared exactly.


def tol(out="*", kind="norm", abs=0.0, rel=0.0, lo=None, hi=None):  # noqa: A002
    t = {"out": out, "kind": kind, "abs": abs, "rel": rel}
    if lo is not None:
        t["from"], t["to"] = lo, hi
    return t


def exact(out, lo=None, hi=None):
    return tol(out, "exact", 0.0, 0.0, lo, hi)


MEKF_TOL = [
    tol("s", "norm", 2e-6, 2e-5, 0, 4),
    tol("s", "elem", 1e-9, 1e-4, 4, 7),
    tol("s", "cov", 1e-14, 2e-5, 7, 43),
]
# a measurement update shrinks P by up to ~1e4 here (star tracker 1e-4 rad on a 0.02 rad
# prior): P+ = P - P H^T H P / S cancels about log10(P-/P+) digits of float32
MEKF_UPDATE_TOL = MEKF_TOL[:2] + [tol("s", "cov", 1e-14, 1e-2, 7, 43)]


# ---- the cases ----------------------------------------------------------------------------


class Cases:
    def __init__(self):
        self.functions = {}

    def add(self, name, label, status=None, **args):
        """A case of function `name`: args by C name (OUT buffers and pure outputs filled in)."""
        fn = api.BY_NAME[name]
        full = {}
        for a in fn.args:
            if a.kind == api.OUT and a.name not in args:
                n = api.resolve_length(a.length, SIZES, full)
                full[a.name] = [OUT_FILL] * n
            elif a.kind in (api.FLOAT_OUT, api.INT_OUT):
                continue
            else:
                v = args[api.py_name(a.name)]
                if a.kind in (api.INT, api.INT_INOUT):
                    full[a.name] = int(v)
                else:
                    full[a.name] = f32(v)
        missing = set(args) - {api.py_name(k) for k in full}
        assert not missing, (name, missing)
        self.functions.setdefault(name, []).append({"name": label, "args": full, "want": status})


# ---- composite steps: shared by the vector set and the stress set --------------------------

INSPECTOR_PRM = ([0.1, 0, 0, 0, 0.12, 0, 0, 0, 0.09] + [0.02, 0.2, 0.01, 0.05, 1e4, 0.2]
                 + [1e-4, 1e-6, 0.01, 0.02, 1e-4] + [N_LEO, 20.0, 3000.0, 10.0])  # fmt: skip
# counter (the MEKF update's sensor slot: 12 star, 13 sun, 14 magnetometer) and the keep-out
# sweep position: 301 samples, ceil(301 / 9) = 34 per cycle over 9 cycles (steps.c): 0 the first
# part, 170 a middle one, 272 the last part, 301 the decision cycle (declares, aborts)
SWEEP_SAMPLES = 301  # horizon 3000 s / dt 10 s + 1
SWEEP_PER = -(-SWEEP_SAMPLES // 9)
ROVER_PRM = ([0.2, 0.5, 1.0, 0.3, 0.25] + [1e-4, 1e-3] + [0.5, 0.25, 590.0, 3.6e5, 5.0, 10.0] + [0.0, 8.0]
             + [5.0, 2.0, 330.0, 1.5, 0.01])  # fmt: skip


def inspector_step_case(add, rng, label, rel, sun, star, counter, sweep_k, min2=None, damaged=False, setup=False):
    """An inspector_step case from a converged filter near a random attitude, with the sensors
    available as asked and the keep-out sweep at sample sweep_k (0: a sweep starts)."""
    q_true = rand_quat(rng)
    s = np.zeros(66)
    s[0:43] = mekf_state(rng, q=qmul(q_true, rand_quat(rng, max_angle=0.02)), sig_att=0.02)
    s[43:47] = list(rng.normal(scale=3e-5, size=3)) + [1.0]
    s[47:50] = rng.normal(scale=0.01, size=3)
    s[50:56] = rel
    s[57] = counter
    if not setup:  # the part rotation and its angle as the C computes it (float32 n * (per dt))
        u = float(np.float32(N_LEO) * np.float32(SWEEP_PER * 10.0))
        s[63:66] = [np.sin(u), np.cos(u), u]
    if sweep_k:  # mid-sweep: position, running minimum (the start's), sin/cos at the part
        s[58:63] = [sweep_k, float(np.dot(rel[:3], rel[:3])), 0.0, np.sin(N_LEO * sweep_k * 10.0),
                    np.cos(N_LEO * sweep_k * 10.0)]
        if min2 is not None:  # what the sweep's earlier parts found
            s[59] = min2
        if damaged:  # sin, cos at the next part not a unit pair: the sweep starts over
            s[61:63] = [0.5, 0.5]
    sun_ref = unit(rng.normal(size=3))
    mag_ref = unit(rng.normal(size=3))
    inp = np.zeros(40)
    inp[0:3] = rng.normal(scale=0.01, size=3)
    if sun:
        inp[3:6] = sun_ref
        inp[6:9] = unit(dcm(q_true).T @ sun_ref + rng.normal(scale=0.005, size=3))
    inp[9:12] = mag_ref
    inp[12:15] = unit(dcm(q_true).T @ mag_ref + rng.normal(scale=0.01, size=3))
    inp[15:18] = rng.normal(scale=3e-5, size=3)
    if star:
        inp[18:22] = qmul(q_true, rand_quat(rng, max_angle=1e-4))
        inp[22] = 1.0
    inp[23:27] = qmul(q_true, rand_quat(rng, max_angle=0.2))
    inp[27:30] = rng.normal(scale=1e-3, size=3)
    inp[30:33] = rng.normal(scale=0.01, size=3)
    inp[33:39] = rel
    inp[39] = 0.1
    add("inspector_step", label, s=s, in_=inp, prm=INSPECTOR_PRM)


def build_cases(rng):
    c = Cases()
    add = c.add
    # ---- quaternion algebra
    for i in range(6):
        add("quat_mul", "unit x unit %d" % i, a=rand_quat(rng), b=rand_quat(rng))
    add("quat_mul", "non-unit", a=[0.5, -1.2, 2.0, 0.3], b=rand_quat(rng) * 3.0)
    add("quat_mul", "nan", ENAN, a=[1, 0, NAN, 0], b=[1, 0, 0, 0])
    for i in range(4):
        add("quat_conj", "unit %d" % i, q=rand_quat(rng))
    add("quat_conj", "inf", ENAN, q=[math.inf, 0, 0, 0])
    for i, scale in enumerate((1.0, 1.0 + 3e-4, 1e-3, 17.0, 0.5)):
        add("quat_normalize", "norm %g" % scale, q=rand_quat(rng) * scale)
    add("quat_normalize", "zero", EINVAL, q=[0, 0, 0, 0])
    add("quat_normalize", "nan", ENAN, q=[0.5, NAN, 0.5, 0.5])
    for name in ("quat_rotate", "quat_rotate_inv"):
        for i in range(4):
            add(name, "unit vector %d" % i, q=rand_quat(rng), v=unit(rng.normal(size=3)))
        add(name, "sun vector, AU-scaled", q=rand_quat(rng), v=unit(rng.normal(size=3)) * 1.496e11)
        add(name, "magnetic field, T", q=rand_quat(rng), v=rng.normal(scale=3e-5, size=3))
        add(name, "nan", ENAN, q=[1, 0, 0, 0], v=[0, NAN, 0])
    for i in range(5):
        add("quat_to_dcm", "unit %d" % i, q=rand_quat(rng))
    add("quat_to_dcm", "nan", ENAN, q=[NAN, 0, 0, 0])
    # dcm_to_quat: every Shepperd branch (q0, q1, q2, q3 largest), small angles
    for i, big in enumerate((0, 1, 2, 3, 0, 1)):
        q = rng.normal(scale=0.25, size=4)
        q[big] = 1.0 + abs(q[big])
        q = unit(q)
        q = q if q[0] >= 0 else -q
        add("dcm_to_quat", "branch q%d %d" % (big, i), r9=dcm(q).ravel())
    add("dcm_to_quat", "small angle", r9=dcm(rand_quat(rng, max_angle=1e-3)).ravel())
    add("dcm_to_quat", "scaled (not orthonormal)", EINVAL, r9=2.0 * dcm(rand_quat(rng)).ravel())
    add("dcm_to_quat", "reflection", EINVAL, r9=(dcm(rand_quat(rng)) @ np.diag([1, 1, -1])).ravel())
    add("dcm_to_quat", "nan", ENAN, r9=[1, 0, 0, 0, 1, 0, 0, 0, NAN])
    for i, ang in enumerate((0.3, -1.2, 3.0, 5.5, 1e-4)):
        add("quat_from_axis_angle", "angle %g" % ang, axis=rng.normal(scale=2.0, size=3), angle=ang)
    add("quat_from_axis_angle", "zero axis", EINVAL, axis=[0, 0, 0], angle=1.0)
    add("quat_from_axis_angle", "nan angle", ENAN, axis=[0, 0, 1], angle=NAN)
    for i in range(3):
        q_ref = rand_quat(rng)
        add("quat_error", "small error %d" % i, q_ref=q_ref, q=qmul(q_ref, rand_quat(rng, max_angle=0.1)))
    for i in range(2):
        q_ref = rand_quat(rng)
        add("quat_error", "large error %d" % i, q_ref=q_ref, q=-qmul(q_ref, rand_quat(rng, max_angle=2.5)))
    add("quat_error", "nan", ENAN, q_ref=[1, 0, 0, 0], q=[1, 0, 0, NAN])
    for i, ang in enumerate((1e-3, 0.05, 1.0, 2.5, 3.1)):
        a = rand_quat(rng)
        b = qmul(a, rand_quat(rng, max_angle=ang))
        add("quat_angle", "about %g rad %d" % (ang, i), a=a, b=b if i % 2 else -b)
    add("quat_angle", "nan", ENAN, a=[1, 0, 0, 0], b=[NAN, 0, 0, 0])
    for i, (wmag, dt) in enumerate(((0.05, 0.1), (0.2, 1.0), (0.01, 10.0), (1e-5, 0.1), (1.0, 0.5))):
        add("attitude_propagate", "|w| %g dt %g" % (wmag, dt), q=rand_quat(rng), w=wmag * unit(rng.normal(size=3)),
            dt=dt)
    add("attitude_propagate", "negative dt", EINVAL, q=[1, 0, 0, 0], w=[0, 0, 0.1], dt=-0.1)
    add("attitude_propagate", "nan rate", ENAN, q=[1, 0, 0, 0], w=[0, NAN, 0.1], dt=0.1)
    # ---- MEKF
    for i, (sa, sb) in enumerate(((0.1, 1e-3), (0.01, 1e-4), (0.5, 5e-3))):
        add("mekf_init", "sigmas %g %g" % (sa, sb), q0=rand_quat(rng) * (1.0 + 0.01 * i),
            bias0=rng.normal(scale=1e-3, size=3), sigma_att=sa, sigma_bias=sb)
    add("mekf_init", "zero sigma", EINVAL, q0=[1, 0, 0, 0], bias0=[0, 0, 0], sigma_att=0.0, sigma_bias=1e-3)
    add("mekf_init", "nan bias", ENAN, q0=[1, 0, 0, 0], bias0=[0, NAN, 0], sigma_att=0.1, sigma_bias=1e-3)
    for i, (dt, sv, su) in enumerate(((0.1, 1e-4, 1e-6), (0.1, 5e-4, 1e-5), (1.0, 1e-4, 1e-6), (0.05, 2e-3, 1e-5))):
        add("mekf_propagate", "dt %g %d" % (dt, i), s=mekf_state(rng), w_meas=rng.normal(scale=0.05, size=3), dt=dt,
            sigma_v=sv, sigma_u=su)
    add("mekf_propagate", "negative dt", EINVAL, s=mekf_state(rng), w_meas=[0, 0, 0], dt=-0.1, sigma_v=1e-4,
        sigma_u=1e-6)
    add("mekf_propagate", "nan gyro", ENAN, s=mekf_state(rng), w_meas=[0, 0, NAN], dt=0.1, sigma_v=1e-4,
        sigma_u=1e-6)
    for i, (sa, sig) in enumerate(((0.02, 0.01), (0.1, 0.05), (0.005, 0.002), (0.05, 0.001))):
        s = mekf_state(rng, sig_att=sa)
        q_true = qmul(s[0:4], rand_quat(rng, max_angle=2 * sa))
        v_ref = unit(rng.normal(size=3))
        v_meas = dcm(q_true).T @ v_ref + rng.normal(scale=sig, size=3)
        add("mekf_update_vector", "sigma_att %g sigma %g" % (sa, sig), s=s, v_ref=v_ref, v_meas=unit(v_meas),
            sigma=sig)
    add("mekf_update_vector", "zero reference", EINVAL, s=mekf_state(rng), v_ref=[0, 0, 0], v_meas=[1, 0, 0],
        sigma=0.01)
    add("mekf_update_vector", "zero sigma", EINVAL, s=mekf_state(rng), v_ref=[1, 0, 0], v_meas=[1, 0, 0], sigma=0.0)
    add("mekf_update_vector", "nan measurement", ENAN, s=mekf_state(rng), v_ref=[1, 0, 0], v_meas=[NAN, 0, 0],
        sigma=0.01)
    for i, (sa, sig) in enumerate(((0.02, 1e-4), (0.1, 1e-3), (0.005, 5e-5), (0.05, 0.02))):
        s = mekf_state(rng, sig_att=sa)
        add("mekf_update_quat", "sigma_att %g sigma %g" % (sa, sig), s=s,
            q_meas=qmul(s[0:4], rand_quat(rng, max_angle=2 * sa)) * (1.0 if i % 2 else -1.0), sigma=sig)
    add("mekf_update_quat", "zero quaternion", EINVAL, s=mekf_state(rng), q_meas=[0, 0, 0, 0], sigma=1e-4)
    add("mekf_update_quat", "nan", ENAN, s=mekf_state(rng), q_meas=[1, 0, NAN, 0], sigma=1e-4)
    for i, sa in enumerate((0.02, 0.1, 0.005, 0.05)):
        s = mekf_state(rng, sig_att=sa)
        add("mekf_nees", "sigma_att %g" % sa, s=s, q_true=qmul(s[0:4], rand_quat(rng, max_angle=2 * sa)),
            bias_true=np.asarray(s[4:7]) + rng.normal(scale=2e-4, size=3))
    s = mekf_state(rng)
    s[7:43] = [0.0] * 36
    add("mekf_nees", "zero covariance", ESINGULAR, s=s, q_true=s[0:4], bias_true=s[4:7])
    add("mekf_nees", "nan truth", ENAN, s=mekf_state(rng), q_true=[1, 0, 0, 0], bias_true=[NAN, 0, 0])
    for i, count in enumerate((0, 1, 2, 2, 1)):
        q = rand_quat(rng)
        q_true = qmul(q, rand_quat(rng, max_angle=0.2))
        v_ref = [unit(rng.normal(size=3)) for _ in range(count)]
        v_meas = [dcm(q_true).T @ v for v in v_ref]
        add("mahony_update", "count %d %d" % (count, i), q=q, bias=rng.normal(scale=1e-3, size=3),
            w_meas=rng.normal(scale=0.05, size=3), v_ref=np.ravel(v_ref), v_meas=np.ravel(v_meas), count=count,
            kp=[0.5, 1.0, 2.0, 0.1, 1.0][i], ki=[0.01, 0.05, 0.0, 0.1, 0.02][i], dt=[0.1, 0.1, 0.05, 1.0, 0.1][i])
    add("mahony_update", "count 3", ERANGE, q=[1, 0, 0, 0], bias=[0, 0, 0], w_meas=[0, 0, 0], v_ref=[1, 0, 0] * 3,
        v_meas=[1, 0, 0] * 3, count=3, kp=1.0, ki=0.01, dt=0.1)
    add("mahony_update", "negative gain", EINVAL, q=[1, 0, 0, 0], bias=[0, 0, 0], w_meas=[0, 0, 0], v_ref=[1, 0, 0],
        v_meas=[1, 0, 0], count=1, kp=-1.0, ki=0.01, dt=0.1)
    add("mahony_update", "nan gyro", ENAN, q=[1, 0, 0, 0], bias=[0, 0, 0], w_meas=[NAN, 0, 0], v_ref=[1, 0, 0],
        v_meas=[1, 0, 0], count=1, kp=1.0, ki=0.01, dt=0.1)
    # ---- control
    j_full = [0.12, 0.002, -0.001, 0.002, 0.10, 0.003, -0.001, 0.003, 0.08]
    for i, (ang, wmag, hw, lim) in enumerate((
        (0.1, 0.01, 0.01, (0.01, 0.05)),  # regular
        (1.5, 0.05, 0.02, (0.002, 0.05)),  # large error: torque saturated
        (0.3, 0.02, 0.06, (0.01, 0.05)),  # wheels beyond h_max
        (2.8, 0.0, 0.0, (0.01, 0.05)),  # large rotation, at rest
        (0.02, 0.1, 0.03, (0.05, 0.1)),  # fast spin, gyroscopic term
    )):
        q_ref = rand_quat(rng)
        q = qmul(q_ref, rand_quat(rng, max_angle=ang))
        h = hw * unit(rng.normal(size=3))
        if i == 2:
            h = np.array([0.06, -0.07, 0.01])
        add("pd_control", "case %d" % i, q=q if i % 2 else -q, w=wmag * unit(rng.normal(size=3)), q_ref=q_ref,
            w_ref=rng.normal(scale=1e-3, size=3), J=j_full, h_wheels=h, kp=0.02, kd=0.2, limits=lim)
    add("pd_control", "negative kd", EINVAL, q=[1, 0, 0, 0], w=[0, 0, 0], q_ref=[1, 0, 0, 0], w_ref=[0, 0, 0],
        J=j_full, h_wheels=[0, 0, 0], kp=0.02, kd=-0.2, limits=[0.01, 0.05])
    add("pd_control", "nan inertia", ENAN, q=[1, 0, 0, 0], w=[0, 0, 0], q_ref=[1, 0, 0, 0], w_ref=[0, 0, 0],
        J=[NAN] + j_full[1:], h_wheels=[0, 0, 0], kp=0.02, kd=0.2, limits=[0.01, 0.05])
    for i, (k, m_max) in enumerate(((1e-3, 0.2), (5e-2, 0.2), (1e-2, 1.0), (0.0, 0.2))):
        add("dump_dipole", "k %g m_max %g" % (k, m_max), b=rng.normal(scale=3e-5, size=3),
            h_wheels=rng.normal(scale=0.01, size=3), k=k, m_max=m_max)
    add("dump_dipole", "zero field", EINVAL, b=[0, 0, 0], h_wheels=[0.01, 0, 0], k=1e-3, m_max=0.2)
    add("dump_dipole", "nan field", ENAN, b=[3e-5, NAN, 0], h_wheels=[0.01, 0, 0], k=1e-3, m_max=0.2)
    add("bdot_init", "from a valid state", s=[2e-5, -1e-5, 3e-5, 1.0])
    for i, (valid, k, m_max) in enumerate(((0, 1e4, 0.2), (1, 1e4, 0.2), (1, 1e5, 0.2), (1, 3e3, 1.0))):
        b = rng.normal(scale=3e-5, size=3)
        prev = b + rng.normal(scale=3e-7, size=3)
        add("bdot", "valid %d k %g" % (valid, k), s=np.concatenate([prev, [float(valid)]]), b=b, dt=0.1, k=k,
            m_max=m_max)
    add("bdot", "zero dt", EINVAL, s=[0, 0, 0, 1.0], b=[3e-5, 0, 0], dt=0.0, k=1e4, m_max=0.2)
    add("bdot", "nan field", ENAN, s=[0, 0, 0, 1.0], b=[3e-5, 0, NAN], dt=0.1, k=1e4, m_max=0.2)
    for i in range(4):
        add("point_to", "random %d" % i, q_now=rand_quat(rng), boresight=unit(rng.normal(size=3)),
            r_rel=rng.normal(scale=200.0, size=3))
    add("point_to", "target straight behind", q_now=[1, 0, 0, 0], boresight=[1, 0, 0], r_rel=[-150.0, 0, 0])
    add("point_to", "zero target", EINVAL, q_now=[1, 0, 0, 0], boresight=[1, 0, 0], r_rel=[0, 0, 0])
    add("point_to", "nan boresight", ENAN, q_now=[1, 0, 0, 0], boresight=[NAN, 0, 0], r_rel=[1, 0, 0])
    # ---- CW relative guidance (n of a ~500 km orbit; metres, m/s)
    for t in (10.0, 600.0, 3000.0, 20000.0):
        add("cw_stm", "t %g s" % t, n=N_LEO, t=t)
    add("cw_stm", "n zero", EINVAL, n=0.0, t=10.0)
    add("cw_stm", "nan t", ENAN, n=N_LEO, t=NAN)

    def rel_state(scale=200.0):
        return np.concatenate([rng.normal(scale=scale, size=3), rng.normal(scale=scale * N_LEO, size=3)])

    for t in (60.0, 600.0, 5400.0, 20000.0):
        add("cw_propagate", "t %g s" % t, x=rel_state(), n=N_LEO, t=t)
    add("cw_propagate", "negative n", EINVAL, x=rel_state(), n=-N_LEO, t=10.0)
    add("cw_propagate", "nan state", ENAN, x=[0, NAN, 0, 0, 0, 0], n=N_LEO, t=10.0)
    for t in (300.0, 1000.0, 2000.0, 4000.0):
        add("cw_two_impulse", "t %g s" % t, x0=rel_state(), r_f=rng.normal(scale=50.0, size=3),
            v_f=rng.normal(scale=0.01, size=3), n=N_LEO, t=t)
    period = 2.0 * math.pi / f32(N_LEO)
    add("cw_two_impulse", "one period", ESINGULAR, x0=rel_state(), r_f=[10, 20, 0], v_f=[0, 0, 0], n=N_LEO, t=period)
    add("cw_two_impulse", "half period, cross-track", ESINGULAR, x0=[0, -100, 30, 0, 0, 0], r_f=[0, 0, 10],
        v_f=[0, 0, 0], n=N_LEO, t=0.5 * period)
    add("cw_two_impulse", "zero time", EINVAL, x0=rel_state(), r_f=[0, 0, 0], v_f=[0, 0, 0], n=N_LEO, t=0.0)
    add("cw_two_impulse", "nan target", ENAN, x0=rel_state(), r_f=[0, NAN, 0], v_f=[0, 0, 0], n=N_LEO, t=1000.0)
    for i, (a, cc, ph, yc) in enumerate(((50.0, 30.0, 0.0, 0.0), (100.0, 80.0, 1.2, -300.0), (20.0, 0.0, 0.5, 50.0),
                                         (200.0, 150.0, -2.0, 10.0))):
        add("safety_ellipse", "a %g c %g" % (a, cc), n=N_LEO, a=a, c=cc, phase=ph, y_c=yc)
    add("safety_ellipse", "negative amplitude", EINVAL, n=N_LEO, a=-1.0, c=10.0, phase=0.0, y_c=0.0)
    add("safety_ellipse", "nan phase", ENAN, n=N_LEO, a=10.0, c=10.0, phase=NAN, y_c=0.0)
    add("keepout_check", "ellipse, safe", x=[0, 100, 40, 0.055, 0, 0.0], n=N_LEO, horizon=6000.0, dt=10.0,
        radius=20.0)
    add("keepout_check", "ellipse through the keep-out sphere: unsafe", x=[0, 100, 40, 0.055, 0, 0.0], n=N_LEO,
        horizon=6000.0, dt=10.0, radius=60.0)
    add("keepout_check", "drifting, safe", x=[0, -300, 0, 0, 0.08, 0], n=N_LEO, horizon=5000.0, dt=10.0, radius=20.0)
    add("keepout_check", "random, short horizon", x=rel_state(), n=N_LEO, horizon=600.0, dt=7.0, radius=30.0)
    add("keepout_check", "random, long horizon", x=rel_state(500.0), n=N_LEO, horizon=20000.0, dt=20.0,
        radius=30.0)
    add("keepout_check", "too many samples", ERANGE, x=rel_state(), n=N_LEO, horizon=50000.0, dt=1.0, radius=20.0)
    add("keepout_check", "zero dt", EINVAL, x=rel_state(), n=N_LEO, horizon=600.0, dt=0.0, radius=20.0)
    add("keepout_check", "nan state", ENAN, x=[NAN, 0, 0, 0, 0, 0], n=N_LEO, horizon=600.0, dt=10.0, radius=20.0)
    for i, (x, radius) in enumerate((
        ([0, -15, 0, 0, 0.001, 0], 20.0),
        ([5, -40, 3, 0.01, 0.02, -0.005], 20.0),
        ([-20, 60, 10, -0.02, 0.05, 0.01], 30.0),
        ([30, 300, -20, 0.0, -0.1, 0.02], 50.0),
        ([3, -22, 2, 0.001, 0, 0.0], 20.0),  # near the V-bar, outside the sphere: the e/i orbit clears
        ([18, -9, 0, 0, 0, 0], 20.0),  # near the V-bar, outside: no candidate clears (four minima)
        ([12, -17, -4, 0.003, 0.01, 0.002], 20.0),  # the same, off the orbit plane
    )):
        add("abort_burn", "case %d" % i, x=x, n=N_LEO, radius=radius)
    add("abort_burn", "zero radius", EINVAL, x=[0, -15, 0, 0, 0, 0], n=N_LEO, radius=0.0)
    add("abort_burn", "nan state", ENAN, x=[0, -15, 0, 0, NAN, 0], n=N_LEO, radius=20.0)
    # ---- rover
    path = [0, 0, 10, 0, 10, 10, 0, 10, 0, 20]
    lim = [0.2, 0.5, 1.0, 0.3, 0.25]
    for label, pose, idx, lm, cond in (
        ("straight, on the path", [2.0, 0.1, 0.02], 0, lim, [0.05, 0.8]),
        ("approaching the corner", [9.3, 0.4, 0.3], 0, lim, [0.05, 0.8]),
        ("second leg, offset", [10.6, 4.0, 1.4], 1, lim, [0.1, 0.9]),
        ("goal behind: turn in place", [5.0, 0.0, 3.0], 0, lim, [0.0, 0.9]),
        ("battery near reserve", [2.0, -0.3, 0.0], 0, lim, [0.0, 0.3]),
        ("slope beyond the limit", [2.0, 0.0, 0.0], 0, lim, [-0.35, 0.9]),
        ("at the last point", [0.05, 19.9, 1.57], 3, lim, [0.0, 0.9]),
        ("long lookahead", [3.0, 1.0, -0.2], 0, [0.5, 1.0, 4.0, 0.3, 0.2], [0.1, 0.7]),
    ):
        add("pure_pursuit", label, pose=pose, path=path, n_points=5, index=idx, limits=lm, cond=cond)
    dense = [v for k in range(64) for v in (0.025 * k, 0.002 * k * k / 64.0)]  # 40 points per lookahead
    for label, idx in (("dense path: the walk stops after GNC_PURSUIT_WALK points", 0),
                       ("dense path: the walk reaches the circle's exit", 36)):
        add("pure_pursuit", label, pose=[0.0, 0.01, 0.02], path=dense, n_points=64, index=idx, limits=lim,
            cond=[0.05, 0.8])
    add("pure_pursuit", "65 points", ERANGE, pose=[0, 0, 0], path=[0.0] * 130, n_points=65, index=0, limits=lim,
        cond=[0, 0.9])
    add("pure_pursuit", "one point", EINVAL, pose=[0, 0, 0], path=[0, 0], n_points=1, index=0, limits=lim,
        cond=[0, 0.9])
    add("pure_pursuit", "nan pose", ENAN, pose=[0, NAN, 0], path=path, n_points=5, index=0, limits=lim,
        cond=[0, 0.9])
    for label, nav, vl, vr, gz, dt in (
        ("straight", [1.0, 2.0, 0.3, 1e-4, 1e-4], 0.1, 0.1, 1e-4, 0.1),
        ("turning", [5.0, -3.0, -2.0, -2e-4, 5e-3], 0.08, 0.12, 0.2, 0.1),
        ("long step, wraps", [0.0, 0.0, 3.0, 0.0, 0.01], 0.2, 0.2, 0.4, 1.0),
        ("stopped, gyro drift", [12.0, 7.0, 1.0, 5e-4, 1e-3], 0.0, 0.0, 5e-4, 0.1),
    ):
        add("rover_odometry", label, nav=nav, v_left=vl, v_right=vr, gyro_z=gz, dt=dt, sigma_gyro=1e-3)
    add("rover_odometry", "negative dt", EINVAL, nav=[0, 0, 0, 0, 0], v_left=0.1, v_right=0.1, gyro_z=0.0, dt=-0.1,
        sigma_gyro=1e-3)
    add("rover_odometry", "nan gyro", ENAN, nav=[0, 0, 0, 0, 0], v_left=0.1, v_right=0.1, gyro_z=NAN, dt=0.1,
        sigma_gyro=1e-3)
    for label, nav, psi, var, el in (
        ("recent fix", [3.0, 4.0, 0.5, 1e-4, 0.01], 0.55, 1e-3, 10.0),
        ("bias learnt", [3.0, 4.0, 0.5, 1e-4, 0.01], 0.45, 1e-3, 120.0),
        ("across +-pi", [0.0, 0.0, 3.1, 0.0, 0.02], -3.1, 2e-3, 300.0),
        ("confident fix", [1.0, 1.0, -1.0, 2e-4, 0.05], -0.8, 1e-5, 60.5),
    ):
        add("rover_heading_fix", label, nav=nav, psi_meas=psi, var_meas=var, elapsed=el)
    add("rover_heading_fix", "zero variance", EINVAL, nav=[0, 0, 0, 0, 0.01], psi_meas=0.1, var_meas=0.0, elapsed=1.0)
    add("rover_heading_fix", "nan heading", ENAN, nav=[0, 0, 0, 0, 0.01], psi_meas=NAN, var_meas=1e-3, elapsed=1.0)
    p = [0.5, 0.25, 590.0, 3.6e5, 5.0, 10.0]  # Mars flux
    for label, soc, el, az, hz, load, heater, dt in (
        ("sun high", 0.6, 0.8, 0.3, 0.05, 8.0, 0, 0.1),
        ("sun low, heater", 0.4, 0.1, 1.0, 0.05, 8.0, 1, 1.0),
        ("sun behind the panel", 0.5, 0.5, 2.0, 0.0, 4.0, 0, 10.0),
        ("below the horizon", 0.2, -0.1, 0.0, 0.0, 8.0, 1, 60.0),
        ("full battery", 1.0, 1.2, 0.0, 0.0, 0.0, 0, 100.0),
        ("empty battery", 0.001, -0.5, 0.0, 0.0, 30.0, 1, 100.0),
    ):
        add("power_step", label, soc=soc, sun_elev=el, sun_az_offset=az, horizon=hz, load_w=load, heater_on=heater,
            p=p, dt=dt)
    add("power_step", "soc above 1", EINVAL, soc=1.5, sun_elev=0.5, sun_az_offset=0.0, horizon=0.0, load_w=1.0,
        heater_on=0, p=p, dt=0.1)
    add("power_step", "nan load", ENAN, soc=0.5, sun_elev=0.5, sun_az_offset=0.0, horizon=0.0, load_w=NAN,
        heater_on=0, p=p, dt=0.1)
    dlim = [5.0, 2.0, 330.0, 1.5, 0.01]
    for label, s, meas in (
        ("idle", [0.0, 0, 4, 0], [0.0, 0.0, 250.0]),
        ("drilling", [0.5, 1, 30, 0], [2.0, 1.0, 300.0]),
        ("reaching the target depth", [1.4995, 1, 300, 0], [2.0, 1.0, 300.0]),
        ("torque stall", [0.7, 1, 12, 0], [6.0, 1.0, 300.0]),
        ("over-temperature", [0.7, 1, 12, 0], [2.0, 1.0, 340.0]),
        ("retracting", [0.3, 2, 5, 1], [0.0, 0.0, 300.0]),
        ("retracted after a fault", [0.0, 2, 40, 3], [0.0, 0.0, 300.0]),
        ("retracted after the hole", [0.0, 2, 150, 0], [0.0, 0.0, 300.0]),
    ):
        add("drill_step", label, s=s, meas=meas, limits=dlim, dt=0.1)
    add("drill_step", "mode 4", EINVAL, s=[0.0, 4, 0, 0], meas=[0, 0, 300], limits=dlim, dt=0.1)
    add("drill_step", "nan temperature", ENAN, s=[0.0, 1, 0, 0], meas=[0, 0, NAN], limits=dlim, dt=0.1)
    # ---- plant
    for i, (dt, sub, tw, te) in enumerate(((0.1, 1, 1e-3, 1e-6), (0.1, 10, 5e-3, 0.0), (1.0, 20, 1e-3, 2e-5),
                                           (10.0, 100, 0.0, 1e-6))):
        x = np.concatenate([rand_quat(rng), rng.normal(scale=0.05, size=3), rng.normal(scale=0.01, size=3)])
        add("body_step", "dt %g substeps %d" % (dt, sub), x=x, J=j_full if i % 2 else [0.1, 0, 0, 0, 0.12, 0, 0, 0,
            0.09], tau_wheel_cmd=tw * unit(rng.normal(size=3)), tau_ext=te * unit(rng.normal(size=3)), dt=dt,
            substeps=sub)
    body0 = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    add("body_step", "singular inertia", EINVAL, x=body0, J=[0.1, 0, 0, 0, 0, 0, 0, 0, 0.09], tau_wheel_cmd=[0, 0, 0],
        tau_ext=[0, 0, 0], dt=0.1, substeps=1)
    add("body_step", "1001 substeps", ERANGE, x=body0, J=j_full, tau_wheel_cmd=[0, 0, 0], tau_ext=[0, 0, 0], dt=0.1,
        substeps=1001)
    add("body_step", "nan torque", ENAN, x=body0, J=j_full, tau_wheel_cmd=[0, NAN, 0], tau_ext=[0, 0, 0], dt=0.1,
        substeps=1)
    for i, (dt, sub, acc) in enumerate(((1.0, 1, 0.0), (10.0, 10, 1e-4), (600.0, 60, 1e-5), (60.0, 6, 0.0))):
        add("cw_step", "dt %g substeps %d" % (dt, sub), x=rel_state(), n=N_LEO, accel=acc * unit(rng.normal(size=3)),
            dt=dt, substeps=sub)
    add("cw_step", "negative n", EINVAL, x=rel_state(), n=-N_LEO, accel=[0, 0, 0], dt=1.0, substeps=1)
    add("cw_step", "1001 substeps", ERANGE, x=rel_state(), n=N_LEO, accel=[0, 0, 0], dt=1.0, substeps=1001)
    add("cw_step", "nan acceleration", ENAN, x=rel_state(), n=N_LEO, accel=[NAN, 0, 0], dt=1.0, substeps=1)
    for label, pose, v, om, dt in (
        ("straight", [1.0, 2.0, 0.3], 0.2, 0.0, 0.1),
        ("arc", [-4.0, 7.0, -1.0], 0.15, 0.3, 1.0),
        ("tiny turn", [0.0, 0.0, 2.0], 0.1, 1e-4, 0.1),
        ("spin in place", [3.0, 3.0, 0.5], 0.0, 0.5, 2.0),
    ):
        add("rover_kinematics", label, pose=pose, v=v, omega=om, dt=dt)
    add("rover_kinematics", "negative dt", EINVAL, pose=[0, 0, 0], v=0.1, omega=0.0, dt=-1.0)
    add("rover_kinematics", "nan speed", ENAN, pose=[0, 0, 0], v=NAN, omega=0.0, dt=0.1)
    # ---- composite steps (inspector_step_case: module level, shared with the stress set)
    for args in (
        ("far, all sensors", [0, -300, 0, 0, 0, 0], True, True, 13.0, 5 * SWEEP_PER),
        ("close, drifting in: abort", [0, -15, 0, 0, 0.001, 0], True, True, 12.0, SWEEP_SAMPLES),
        ("eclipse, no star tracker", [20, 150, -10, 0.01, 0.0, 0.02], False, False, 12.0, 0),
    ):
        inspector_step_case(add, rng, *args)
    # The dearest paths on the schedule (issue 4), with their own generator so the cases above keep
    # their random draws: a full 34-sample part with a magnetometer update (the dearest vector
    # update: no star tracker, no sun), a last part (272: 29 samples, declares nothing), and the
    # decision cycle aborting near the V-bar outside the sphere, where gnc_abort_burn checks the
    # e/i candidate and all three radial ones, after earlier parts found 10 m (min2 100 < 20^2).
    rng_dear = np.random.default_rng(SEED + 4)
    near = [12, -17, -4, 0.003, 0.01, 0.002]
    for args in (
        ("full part, magnetometer update", [20, 150, -10, 0.01, -0.013, 0.02], False, False, 14.0, 7 * SWEEP_PER),
        ("first part, magnetometer update", [-23.7, 141.3, -11.9, 0.0117, -0.0139, 0.0213], False, False, 14.0, 0),
        ("last part, sun update", [0, -300, 0, 0, 0, 0], True, False, 13.0, 8 * SWEEP_PER),
        ("near the V-bar, outside the sphere: decision cycle aborts", near, True, True, 13.0, SWEEP_SAMPLES, 100.0),
        ("damaged sweep state mid-sweep: starts over, magnetometer update", near, False, False, 14.0, 5 * SWEEP_PER,
         100.0, True),
        ("setup cycle (no part rotation yet), magnetometer update", near, False, False, 14.0, 0, None, False, True),
    ):
        inspector_step_case(add, rng_dear, *args)
    s_bad = np.zeros(66)
    s_bad[0] = 1.0
    add("inspector_step", "nan gyro", ENAN, s=s_bad, in_=[NAN] + [0.0] * 38 + [0.1], prm=INSPECTOR_PRM)
    for label, s, inp in (
        ("driving", [2.0, 0.1, 0.02, 1e-4, 1e-3, 0.8, 0, 0, 0, 0, 0, 0, 5.0, 0],
         [0.1, 0.12, 0.01, 0.0, 0.0, 0.4, 0.3, 0.05, 0, 0, 0, 0.0, 0.1]),
        ("driving, sun fix", [9.3, 0.4, 0.3, 1e-4, 1e-3, 0.6, 0, 0, 0, 0, 0, 0, 90.0, 0],
         [0.1, 0.1, 0.05, 1.0, 0.35, 0.4, 0.3, 0.05, 0, 0, 0, 0.0, 0.1]),
        ("drilling", [5.0, 0.0, 0.0, 0.0, 1e-3, 0.8, 0.5, 1, 30, 0, 0, 0, 1.0, 0],
         [0.0, 0.0, 0.0, 0.0, 0.0, -0.1, 0.0, 0.0, 2.0, 1.0, 300.0, 1.0, 0.1]),
    ):
        add("rover_step", label, s=s, in_=inp, prm=ROVER_PRM, path=path, n_points=5)
    # A dense path (64 points 2.5 cm apart on a gentle arc, all inside the 1 m lookahead) at its first
    # cycle with a sun fix: the goal search walks every point (the dearest pure pursuit).
    dense = [v for k in range(64) for v in (0.025 * k, 0.002 * k * k / 64.0)]
    add("rover_step", "dense path, first cycle, sun fix", s=[0.0, 0.0, 0.01, 1e-4, 1e-3, 0.6, 0, 0, 0, 0, 0, 0, 90.0, 0],
        in_=[0.1, 0.1, 0.05, 1.0, 0.02, 0.4, 0.3, 0.05, 0, 0, 0, 0.0, 0.1], prm=ROVER_PRM, path=dense, n_points=64)
    add("rover_step", "drilling on a dense path, sun fix", s=[0.0, 0.0, 0.01, 1e-4, 1e-3, 0.8, 0.5, 1, 30, 0, 0, 0, 90.0, 0],
        in_=[0.0, 0.0, 0.0, 1.0, 0.02, 0.4, 0.3, 0.05, 2.0, 1.0, 300.0, 1.0, 0.1], prm=ROVER_PRM, path=dense, n_points=64)
    add("rover_step", "65 points", ERANGE, s=[0.0] * 14, in_=[0.0] * 12 + [0.1], prm=ROVER_PRM, path=[0.0] * 130,
        n_points=65)
    add("rover_step", "nan wheel speed", ENAN, s=[0.0] * 14, in_=[NAN] + [0.0] * 11 + [0.1], prm=ROVER_PRM, path=path,
        n_points=5)
    # ---- simulation loops
    for label, n_steps, dt, k, m_max, sub in (
        ("10 steps", 10, 0.1, 1e4, 0.2, 1),
        ("20 steps, saturated", 20, 1.0, 1e5, 0.2, 5),
        ("5 steps from a valid state", 5, 0.5, 3e3, 1.0, 2),
    ):
        x = np.concatenate([rand_quat(rng), 0.05 * unit(rng.normal(size=3)), [0.0, 0.0, 0.0]])
        b0 = rng.normal(scale=3e-5, size=3)
        table = np.ravel([dcm(rand_quat(rng, max_angle=1e-3 * i)) @ b0 for i in range(n_steps)])
        bs = [0.0, 0.0, 0.0, 0.0] if n_steps > 5 else list(dcm(x[0:4]).T @ b0 * 1.001) + [1.0]
        add("detumble_run", label, x=x, J=j_full, bdot_s=bs, b_inertial=table, n_steps=n_steps, dt=dt, k=k,
            m_max=m_max, substeps=sub)
    add("detumble_run", "zero dt", EINVAL, x=body0, J=j_full, bdot_s=[0, 0, 0, 0], b_inertial=[3e-5, 0, 0],
        n_steps=1, dt=0.0, k=1e4, m_max=0.2, substeps=1)
    add("detumble_run", "1001 substeps", ERANGE, x=body0, J=j_full, bdot_s=[0, 0, 0, 0], b_inertial=[3e-5, 0, 0],
        n_steps=1, dt=0.1, k=1e4, m_max=0.2, substeps=1001)
    add("detumble_run", "nan field", ENAN, x=body0, J=j_full, bdot_s=[0, 0, 0, 0], b_inertial=[3e-5, NAN, 0],
        n_steps=1, dt=0.1, k=1e4, m_max=0.2, substeps=1)
    return c.functions


# Tolerances per function (README.md, "Tolerances", says why).
Q = [tol("*", "norm", 1e-6, 1e-6)]  # quaternion algebra on unit-scale numbers
TOLERANCES = {
    "quat_mul": Q, "quat_conj": [tol("*", "elem", 0.0, 0.0)], "quat_normalize": Q,
    "quat_rotate": Q, "quat_rotate_inv": Q, "quat_to_dcm": Q, "dcm_to_quat": Q,
    "quat_from_axis_angle": Q, "quat_error": Q,
    "quat_angle": [tol("angle", "elem", 1e-6, 1e-6)],
    "attitude_propagate": [tol("*", "norm", 2e-6, 0.0)],
    "mekf_init": MEKF_TOL, "mekf_propagate": MEKF_TOL,
    "mekf_update_vector": MEKF_UPDATE_TOL, "mekf_update_quat": MEKF_UPDATE_TOL,
    "mekf_nees": [tol("nees", "elem", 1e-6, 1e-4)],
    "mahony_update": [tol("q", "norm", 2e-6, 0.0), tol("bias", "elem", 1e-8, 1e-5)],
    "pd_control": [tol("tau_cmd", "norm", 1e-9, 1e-5)],
    "dump_dipole": [tol("m", "norm", 1e-9, 1e-5)],
    "bdot_init": [tol("s", "elem", 0.0, 0.0)],
    "bdot": [tol("s", "elem", 0.0, 0.0), tol("m", "norm", 1e-9, 1e-4)],
    "point_to": Q,
    "cw_stm": [dict(tol("phi36", "norm", 1e-9, 1e-5), block=[6, 3])],
    "cw_propagate": [tol("out", "norm", 1e-6, 1e-5)],
    "cw_two_impulse": [tol("*", "norm", 1e-7, 1e-5)],
    "safety_ellipse": [tol("x", "norm", 1e-7, 1e-6)],
    "keepout_check": [tol("min_range", "elem", 1e-4, 1e-5)],
    "abort_burn": [tol("dv", "norm", 1e-7, 1e-4)],
    "pure_pursuit": [tol("cmd", "elem", 1e-5, 1e-5), exact("index"), exact("done")],
    "rover_odometry": [tol("nav", "elem", 1e-6, 1e-6)],
    "rover_heading_fix": [tol("nav", "elem", 1e-7, 1e-5)],
    "power_step": [tol("soc", "elem", 1e-7, 1e-6), tol("net_w", "elem", 1e-5, 1e-5)],
    "drill_step": [tol("s", "elem", 1e-7, 1e-6), exact("s", 1, 3), tol("cmd", "elem", 0.0, 0.0)],
    "body_step": [tol("x", "norm", 1e-6, 1e-5, 0, 4), tol("x", "elem", 1e-7, 1e-4, 4, 10)],
    "cw_step": [tol("x", "norm", 1e-6, 1e-5, 0, 3), tol("x", "norm", 1e-8, 1e-5, 3, 6)],
    "rover_kinematics": [tol("pose", "elem", 1e-6, 1e-6)],
    "inspector_step": [
        tol("s", "norm", 2e-6, 2e-5, 0, 4), tol("s", "elem", 1e-9, 1e-4, 4, 7), tol("s", "cov", 1e-14, 1e-2, 7, 43),
        tol("s", "elem", 1e-9, 1e-5, 43, 66), tol("out", "elem", 1e-7, 1e-4, 0, 6),
        tol("out", "norm", 2e-6, 2e-5, 6, 10), tol("out", "elem", 1e-4, 1e-5, 10, 11), exact("out", 11, 12),
        tol("out", "norm", 1e-7, 1e-4, 12, 15),
    ],
    "rover_step": [tol("s", "elem", 1e-6, 1e-5), exact("s", 7, 9), exact("s", 10, 11), tol("out", "elem", 1e-5, 1e-5)],
    "detumble_run": [tol("x", "norm", 1e-6, 1e-4, 0, 4), tol("x", "norm", 1e-7, 1e-4, 4, 10),
                     tol("bdot_s", "norm", 1e-10, 1e-5, 0, 3), exact("bdot_s", 3, 4),
                     tol("rate_out", "elem", 1e-7, 1e-4)],
}  # fmt: skip


# ---- build and write ----------------------------------------------------------------------


def with_references(cases, names):
    """{name: {"tolerance", "cases"}}: each case's status and float64 reference outputs from the
    fallback run in double precision (checked against the case's expected status)."""
    functions = {}
    with float64_fallback() as ref:
        for name in names:
            fn = api.BY_NAME[name]
            out_cases = []
            for case in cases.get(name, []):
                status, outputs = call(fn, ref[name], decode(case["args"]), lambda v: list(v))
                want = case.pop("want")
                assert status == (OK if want is None else want) or (want is None and status == EUNSAFE), (
                    name, case["name"], status, want)
                case["status"] = status
                if status in (OK, EUNSAFE):
                    case["expect"] = outputs
                elif status == ENAN:  # gnc.h: outputs untouched
                    case["expect"] = {k: case["args"][k] for k in outputs}
                    assert encode(list(outputs.values())) == encode(list(case["expect"].values())), (name, case["name"])
                else:
                    case["expect"] = {}
                out_cases.append(case)
            functions[name] = {"tolerance": TOLERANCES[name], "cases": out_cases}
    return functions


def build():
    """The whole vector set as a Python object (what gnc_vectors.json holds)."""
    rng = np.random.default_rng(SEED)
    cases = build_cases(rng)
    names = [f.name for f in api.FUNCTIONS]
    assert set(cases) == set(names), set(names) ^ set(cases)
    assert set(TOLERANCES) == set(names), set(names) ^ set(TOLERANCES)
    functions = with_references(cases, names)
    return {
        "about": "GNC core test vectors: inputs (float32-representable) and float64 reference outputs for every "
        "function of native/api.py. See tests/vectors/README.md.",
        "format": FORMAT,
        "generator": "tests/vectors/make_gnc_vectors.py",
        "seed": SEED,
        "status_codes": {"OK": OK, "EINVAL": EINVAL, "ENAN": ENAN, "ESINGULAR": ESINGULAR, "ERANGE": ERANGE,
                         "EUNSAFE": EUNSAFE},
        "out_fill": OUT_FILL,
        "functions": functions,
    }  # fmt: skip


# ---- the stress set: random cases of the two steps on their dearest paths ------------------


def rover_step_case(add, rng, label):
    """A random rover_step case: pose, path (2..64 points, 2 cm to 5 m apart), index, sun fix,
    drilling, battery, slope and drill loads drawn independently."""
    n_points = int(rng.integers(2, 65))
    step = rng.uniform(0.02, 5.0)
    heading = np.cumsum(rng.normal(scale=0.3, size=n_points))
    pts = np.cumsum(np.stack([step * np.cos(heading), step * np.sin(heading)], axis=1), axis=0)
    index = int(rng.integers(0, n_points - 1))
    near = pts[index] + rng.normal(scale=0.3 * step + 0.05, size=2)
    drilling = rng.random() < 0.25
    s = [near[0], near[1], rng.uniform(-np.pi, np.pi), rng.normal(scale=1e-4), rng.uniform(1e-5, 1e-2),
         rng.uniform(0.2, 1.0), rng.uniform(0.0, 1.5), 1.0 if drilling else float(rng.integers(0, 3)),
         float(rng.integers(0, 50)), 0.0, float(index), 0.0, rng.uniform(0.0, 120.0), 0.0]
    inp = [rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), rng.uniform(-0.3, 0.3),
           1.0 if rng.random() < 0.5 else 0.0, rng.uniform(-np.pi, np.pi), rng.uniform(-0.2, 0.3),
           rng.uniform(-np.pi, np.pi), rng.uniform(-0.4, 0.4), rng.uniform(0.0, 6.0), rng.uniform(0.0, 2.5),
           rng.uniform(250.0, 340.0), 1.0 if drilling else 0.0, 0.1]
    add("rover_step", label, s=s, in_=inp, prm=ROVER_PRM, path=list(pts.ravel()), n_points=n_points)


def build_stress(n, seed=SEED + 100):
    """n random cases of inspector_step and of rover_step (same file format and tolerances as
    the vector set): the budget check beyond hand-picked cases, since soft-float cost depends on
    the data. Inspector: relative states anywhere within 400 m, near the V-bar, or closing within
    60 m; sensors, step counter (which update), sweep position (setup, first / middle / last part,
    decision with a running minimum that may abort) and damaged sweep states drawn at random."""
    rng = np.random.default_rng(seed)
    c = Cases()
    slots = [0] + [SWEEP_PER * j for j in range(1, 9)] + [SWEEP_SAMPLES]
    for i in range(n):
        kind = int(rng.integers(3))
        if kind == 0:
            rel = list(rng.uniform(-400, 400, 3)) + list(rng.uniform(-0.3, 0.3, 3))
        elif kind == 1:  # near the V-bar: the abort's dearest candidates
            rel = [rng.uniform(-30, 30), rng.uniform(-200, 200), rng.uniform(-30, 30)] + \
                list(rng.uniform(-0.05, 0.05, 3))
        else:
            rel = list(rng.uniform(-60, 60, 3)) + list(rng.uniform(-0.1, 0.1, 3))
        k = slots[int(rng.integers(len(slots)))]
        min2 = rng.uniform(5.0, 60.0) ** 2 if k == SWEEP_SAMPLES else None
        damaged = bool(k and k != SWEEP_SAMPLES and rng.random() < 0.1)
        setup = bool(k == 0 and rng.random() < 0.1)
        inspector_step_case(c.add, rng, "random %d (%s, sweep %d%s)" % (
            i, ("anywhere", "near V-bar", "closing")[kind], k, ", damaged" if damaged else ", setup" if setup else ""),
            rel, rng.random() < 0.5, rng.random() < 0.3, 12.0 + int(rng.integers(3)), k, min2, damaged, setup)
        rover_step_case(c.add, rng, "random %d" % i)
    names = ["inspector_step", "rover_step"]
    return {
        "about": "Stress set: random cases of the GNC core's two steps (tests/vectors/make_gnc_vectors.py "
        "--stress). See tests/vectors/README.md.",
        "format": FORMAT,
        "generator": "tests/vectors/make_gnc_vectors.py --stress %d" % n,
        "seed": seed,
        "status_codes": {"OK": OK, "EINVAL": EINVAL, "ENAN": ENAN, "ESINGULAR": ESINGULAR, "ERANGE": ERANGE,
                         "EUNSAFE": EUNSAFE},
        "out_fill": OUT_FILL,
        "functions": with_references(c.functions, names),
    }  # fmt: skip



def dumps(data):
    """JSON text: one case per line, floats as exact decimal doubles (repr), NaN as "nan"."""
    lines = ["{"]
    head = [k for k in data if k != "functions"]
    for k in head:
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(data[k], allow_nan=False)))
    lines.append(' "functions": {')
    fnames = list(data["functions"])
    for i, name in enumerate(fnames):
        f = data["functions"][name]
        lines.append("  %s: {" % json.dumps(name))
        lines.append('   "tolerance": %s,' % json.dumps(f["tolerance"], allow_nan=False))
        lines.append('   "cases": [')
        for j, case in enumerate(f["cases"]):
            text = json.dumps(encode_case(case), allow_nan=False, separators=(", ", ": "))
            lines.append("    " + text + ("," if j < len(f["cases"]) - 1 else ""))
        lines.append("   ]")
        lines.append("  }" + ("," if i < len(fnames) - 1 else ""))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def encode_case(case):
    return {
        "name": case["name"],
        "args": {k: encode(v) for k, v in case["args"].items()},
        "status": case["status"],
        "expect": {k: encode(v) for k, v in case["expect"].items()},
    }


def main(argv):
    if "--stress" in argv:  # --stress N OUT: the random stress set (not committed; PIL builds it)
        i = argv.index("--stress")
        n, out = int(argv[i + 1]), Path(argv[i + 2])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(dumps(build_stress(n)))
        print("wrote %s (%d cases per step)" % (out, n))
        return 0
    text = dumps(build())
    if "--check" in argv:
        if OUT.read_text() != text:
            print("%s is stale: run tests/vectors/make_gnc_vectors.py" % OUT, file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print("wrote %s (%d bytes)" % (OUT.relative_to(ROOT), len(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
