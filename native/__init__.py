"""mitra GNC core for CPython: the C core (native/src, compiled by cffi as native._gnc) behind a
thin wrapper that owns the buffer checks and turns status codes into exceptions.

Every function of native/include/gnc.h is here without its `gnc_` prefix, generated from the
table in native/api.py (which a test checks against the header), with the API of the
pure-MicroPython fallback (firmware/gnc) and of the MicroPython module `gnc_native`:

    >>> from array import array
    >>> import native
    >>> out = array("f", bytes(16))
    >>> native.quat_mul(array("f", [1, 0, 0, 0]), array("f", [0, 1, 0, 0]), out)
    >>> list(out)
    [0.0, 1.0, 0.0, 0.0]

Buffers are float32: array('f'), C-contiguous numpy float32 arrays, or any float32 buffer
(read-only inputs may also be bytes-like: raw bytes of native float32). They are checked
before C runs: a wrong length, a float64 array, a read-only output or a non-contiguous view
raises GncInvalid naming the function and argument ("quat_mul: argument 'out' has 3 floats,
needs 4"); nothing is copied. Status codes become GncInvalid, GncNan, GncSingular, GncRange
(all GncError, a ValueError carrying `.code`); GNC_EUNSAFE is returned as a flag. Scalar
outputs (`float *angle`, `int *done`) and in/out scalars (`int *index`, `float *soc`) are
returned, see native/api.py.
"""

import sys

from . import api
from ._gnc import ffi as _ffi
from ._gnc import lib as _lib

BACKEND = "cffi"

# Status codes, as in gnc.h.
OK, EINVAL, ENAN, ESINGULAR, ERANGE, EUNSAFE = api.OK, api.EINVAL, api.ENAN, api.ESINGULAR, api.ERANGE, api.EUNSAFE


class GncError(ValueError):
    """A GNC function refused its input; `.code` is the gnc.h status code.

    Same constructor as the fallback's gnc.errors.GncError: GncError(code, message).
    """

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class GncInvalid(GncError):
    """GNC_EINVAL: an argument outside its domain, or a buffer of the wrong type or length."""


class GncNan(GncError):
    """GNC_ENAN: a NaN or infinite input (outputs left untouched)."""


class GncSingular(GncError):
    """GNC_ESINGULAR: singular geometry (e.g. a CW transfer time at a multiple of the period)."""


class GncRange(GncError):
    """GNC_ERANGE: a table or count beyond the config limits (gnc_config.h)."""


_CLASSES = {EINVAL: GncInvalid, ENAN: GncNan, ESINGULAR: GncSingular, ERANGE: GncRange}


def error(code, function):
    """The exception for status `code` returned by `function` (name without gnc_)."""
    reason = api.REASONS.get(code) or "unexpected status %d" % code
    return _CLASSES.get(code, GncError)(code, "%s: %s" % (function, reason))


# gnc.h constants without the GNC_ prefix (sizes in floats, config limits).
for _name in api.CONSTANTS:
    globals()[_name[4:]] = getattr(_lib, _name)

_FLOAT_FORMATS = {"f", "@f", "=f", "<f" if sys.byteorder == "little" else ">f"}
_BYTE_FORMATS = {"B", "b", "c"}


def _buf(obj, need, writable, function, arg, at_least=False):
    """cffi float* over obj's memory after checking type, layout and length (no copy)."""
    try:
        m = memoryview(obj)
    except TypeError:
        raise GncInvalid(
            EINVAL, "%s: argument '%s' is %s, not a float32 buffer" % (function, arg, type(obj).__name__)
        ) from None
    fmt = m.format
    if fmt in _FLOAT_FORMATS:
        have = m.nbytes // 4
    elif fmt in _BYTE_FORMATS:
        if m.nbytes % 4:
            raise GncInvalid(
                EINVAL, "%s: argument '%s' has %d bytes, not a whole number of floats" % (function, arg, m.nbytes)
            )
        have = m.nbytes // 4
    else:
        raise GncInvalid(EINVAL, "%s: argument '%s' holds '%s' items, needs float32 ('f')" % (function, arg, fmt))
    if not m.c_contiguous:
        raise GncInvalid(EINVAL, "%s: argument '%s' is not contiguous" % (function, arg))
    if writable and m.readonly:
        raise GncInvalid(EINVAL, "%s: argument '%s' is read-only" % (function, arg))
    if have != need and (not at_least or have < need):
        raise GncInvalid(
            EINVAL,
            "%s: argument '%s' has %d floats, needs %s%d" % (function, arg, have, "at least " if at_least else "", need),
        )
    p = _ffi.from_buffer("float[]", m, require_writable=writable)
    if fmt in _BYTE_FORMATS and int(_ffi.cast("uintptr_t", p)) % 4:
        raise GncInvalid(EINVAL, "%s: argument '%s' is not aligned to 4 bytes" % (function, arg))
    return p


def _source(fn):
    """Python source of the wrapper of api.Function `fn` (exec'd below; printed by tests on failure)."""
    params = [api.py_name(a.name) for a in fn.args]
    body, call, ret = [], [], []
    for a, p in zip(fn.args, params):
        if a.kind in api.BUFFER_KINDS:
            terms = api.length_terms(a.length)
            if terms:
                need, at_least = "%d * %s" % (terms[0], api.py_name(terms[1])), True
            else:
                need = str(a.length if isinstance(a.length, int) else getattr(_lib, a.length))
                at_least = False
            body.append(
                "    _%s = _buf(%s, %s, %s, %r, %r%s)"
                % (p, p, need, a.kind != api.IN, fn.name, a.name, ", True" if at_least else "")
            )
            call.append("_" + p)
        elif a.kind in (api.FLOAT, api.INT):
            call.append(p)
        else:
            ctype = "int *" if a.kind in (api.INT_INOUT, api.INT_OUT) else "float *"
            init = ", %s" % p if a.kind in (api.INT_INOUT, api.FLOAT_INOUT) else ""
            body.append("    _%s = _ffi.new(%r%s)" % (p, ctype, init))
            call.append("_" + p)
            ret.append("_%s[0]" % p)
    inputs = [api.py_name(a.name) for a in fn.args if a.kind not in (api.FLOAT_OUT, api.INT_OUT)]
    lines = ["def %s(%s):" % (fn.name, ", ".join(inputs)), "    %r" % fn.doc] + body
    lines.append("    _rc = _lib.gnc_%s(%s)" % (fn.name, ", ".join(call)))
    if fn.unsafe:
        lines.append("    if _rc and _rc != %d:" % EUNSAFE)
        ret.append("_rc == %d" % EUNSAFE)
    else:
        lines.append("    if _rc:")
    lines.append("        raise error(_rc, %r)" % fn.name)
    if len(ret) == 1:
        lines.append("    return " + ret[0])
    elif ret:
        lines.append("    return (%s)" % ", ".join(ret))
    return "\n".join(lines) + "\n"


def _define(fn):
    if not hasattr(_lib, "gnc_" + fn.name):
        return None  # a MITRA_GNC_PARTIAL development build that leaves it out
    namespace = {"_buf": _buf, "_ffi": _ffi, "_lib": _lib, "error": error}
    exec(compile(_source(fn), "<native.%s>" % fn.name, "exec"), namespace)
    f = namespace[fn.name]
    f.__module__ = __name__
    return f


__all__ = ["BACKEND", "GncError", "GncInvalid", "GncNan", "GncSingular", "GncRange", "error"]
__all__ += ["OK", "EINVAL", "ENAN", "ESINGULAR", "ERANGE", "EUNSAFE"] + [c[4:] for c in api.CONSTANTS]
for _fn in api.FUNCTIONS:
    _f = _define(_fn)
    if _f is not None:
        globals()[_fn.name] = _f
        __all__.append(_fn.name)
del _fn, _f, _name
