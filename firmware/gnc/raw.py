# Raw float32 bytes for the fallback (gnc/__init__.py imports this on the first call that
# passes bytes, a bytearray or a memoryview): the C bindings read such a buffer as native
# float32 values, the fallback's modules would index it as ints. Not on the per-step path.
import sys
from array import array

from gnc import _is_raw
from gnc.errors import EINVAL, GncError


def _floats(f, x):
    if len(x) % 4:
        raise GncError(EINVAL, "%s: argument has %d bytes, not a whole number of floats" % (f.__name__, len(x)))
    if sys.implementation.name == "micropython":
        return array("f", x if type(x) is bytearray else bytearray(x))
    c = array("f")
    c.frombytes(x)
    return c


def call_raw(f, args):
    # f(*args) with each raw argument as an array('f') copy, one per distinct object so that
    # aliased arguments stay aliased; writable ones get the copy's bytes back after the call
    pairs = []
    call = []
    for a in args:
        if _is_raw(a):
            for orig, c in pairs:
                if orig is a:
                    break
            else:
                c = _floats(f, a)
                pairs.append((a, c))
            call.append(c)
        else:
            call.append(a)
    ret = f(*call)
    for orig, c in pairs:
        b = bytes(c)
        if bytes(orig) != b:  # an output or in/out buffer: only a writable one can be
            orig[:] = b
    return ret
