# GNC core for the firmware: every function of native/include/gnc.h (without gnc_) as
# gnc.<name>, from the fastest backend this interpreter has. One API on all three
# (native/api.py describes it): float32 buffers (array('f')) filled in place, scalar outputs
# returned, GNC_EUNSAFE returned as a flag, every other status raised as
# gnc.errors.GncError(code, message), a ValueError carrying .code.
#
#   MicroPython  gnc_native (the user C module in native/mpy_module/) when the firmware
#                was built with it, else the pure-MicroPython modules gnc.quat, gnc.mekf, ...
#   CPython      the cffi package `native` when it is installed and built, else the fallback.
# MITRA_GNC_BACKEND=fallback forces the fallback (tests, benchmarks; on MicroPython where the
# port has os.getenv: the unix port) and MITRA_GNC_BACKEND=cffi / native-mpy insists on the
# compiled core (ImportError when it is missing).
#
# The fallback reads raw float32 bytes (bytes, bytearray, a memoryview of bytes) as the C
# bindings do: such an argument is copied into an array('f') for the call, and a writable one
# gets the copy's bytes back after it (_raw below, gnc/raw.py).
#
# BACKEND says which one: "native-mpy", "cffi" or "fallback".
#
# One exception class for every backend: gnc_native raises gnc.errors.GncError itself (it
# looks the class up in sys.modules, which is why gnc.errors is imported first here); under
# cffi, gnc.errors.GncError is rebound to native.GncError (same constructor, code and
# message; subclasses GncInvalid/GncNan/GncSingular/GncRange), so `except GncError` written
# against gnc.errors catches the C core's errors too.
import sys

from gnc import errors
from gnc.errors import EINVAL, ENAN, ERANGE, ESINGULAR, EUNSAFE

# Sizes in floats and config limits (gnc.h / gnc_config.h), for allocating buffers.
MAX_PATH_POINTS = 64
PURSUIT_WALK = 4
MAX_SUBSTEPS = 1000
KEEPOUT_MAX_SAMPLES = 4096
MEKF_SIZE = 43
BDOT_SIZE = 4
BODY_SIZE = 10
CW_SIZE = 6
POSE_SIZE = 3
ROVER_NAV_SIZE = 5
DRILL_SIZE = 4
INSPECTOR_SIZE = 66
ROVER_STEP_SIZE = 14
INSPECTOR_IN = 40
INSPECTOR_PRM = 24
INSPECTOR_OUT = 15
ROVER_IN = 13
ROVER_PRM = 20
ROVER_OUT = 6

# Every function, in gnc.h order, by the fallback module that implements it.
MODULES = (
    ("quat", ("quat_mul", "quat_conj", "quat_normalize", "quat_rotate", "quat_rotate_inv", "quat_to_dcm",
              "dcm_to_quat", "quat_from_axis_angle", "quat_error", "quat_angle", "attitude_propagate")),
    ("mekf", ("mekf_init", "mekf_propagate", "mekf_update_vector", "mekf_update_quat", "mekf_nees",
              "mahony_update")),
    ("control", ("pd_control", "dump_dipole", "bdot_init", "bdot", "point_to")),
    ("cw", ("cw_stm", "cw_propagate", "cw_two_impulse", "safety_ellipse", "keepout_check", "abort_burn")),
    ("rover", ("pure_pursuit", "rover_odometry", "rover_heading_fix", "power_step", "drill_step")),
    ("plant", ("body_step", "cw_step", "rover_kinematics")),
    ("steps", ("inspector_step", "rover_step")),
    ("sim", ("detumble_run",)),
)  # fmt: skip


def _native():
    # (module, BACKEND) of the compiled core, or (None, "fallback")
    import os

    try:
        choice = os.getenv("MITRA_GNC_BACKEND") or ""
    except AttributeError:  # a board's os has no environment
        choice = ""
    if choice == "fallback":
        return None, "fallback"
    if sys.implementation.name == "micropython":
        try:
            import gnc_native  # type: ignore[import-not-found]
        except ImportError:
            if choice == "native-mpy":
                raise
            return None, "fallback"
        return gnc_native, "native-mpy"
    try:
        import native  # type: ignore[import-not-found]
    except ImportError:
        if choice == "cffi":
            raise
        return None, "fallback"
    errors.GncError = native.GncError
    return native, "cffi"


_mod, BACKEND = _native()
GncError = errors.GncError

if _mod is not None:
    _g = globals()
    for _sub, _names in MODULES:
        for _name in _names:
            _g[_name] = getattr(_mod, _name)
    del _g, _sub, _names, _name
del _mod


def _is_raw(x):
    # bytes standing for float32 values (a memoryview of array('f') already gives floats: the
    # apps' slices of their step buffers call f directly)
    t = type(x)
    return t is bytes or t is bytearray or (t is memoryview and len(x) > 0 and type(x[0]) is int)


def _raw(f):
    # f, also taking raw float32 bytes (native/README.md: read-only inputs may be bytes-like),
    # which would index as ints: gnc.raw (imported on first use) calls f with float copies
    def call(*args):
        for a in args:
            if _is_raw(a):
                from gnc.raw import call_raw

                return call_raw(f, args)
        return f(*args)

    return call


def __getattr__(name):
    # Fallback: a function's module is imported on first use (PEP 562; MicroPython's
    # MICROPY_MODULE_GETATTR), so an app pays heap only for the modules it calls: the
    # whole fallback is about 50 KB of bytecode, half the ESP32's heap.
    for sub, names in MODULES:
        if name in names:
            __import__("gnc." + sub)
            f = _raw(getattr(sys.modules["gnc." + sub], name))
            globals()[name] = f  # bound per name: a wrapper only for what the app calls
            return f
    raise AttributeError(name)
