"""How far a result may be from the vector set's float64 reference: the one reader of the
tolerance entries that make_gnc_vectors.py writes (its "tolerances" block states the kinds).

Used by tests/gnc/test_vectors.py (cffi core, MicroPython and CPython fallbacks) and by
native/baremetal/gen_vectors.py (the bound of each value embedded in the Cortex-M images), so a
host test and a PIL run judge a value by the same rule. Plain Python, no imports from the
project: both load it by path.
"""

import math


def entries(tolerance, out, n):
    """The tolerance entry of each of the n floats of output `out`: the entries naming it, else
    the "*" entries (those cover only outputs no entry names); the last entry covering a float
    wins. None where no entry covers a float (the callers report that as an error)."""
    named = [t for t in tolerance if t["out"] == out]
    chosen = named or [t for t in tolerance if t["out"] == "*"]
    per = [None] * n
    for t in chosen:
        for i in range(t.get("from", 0), min(t.get("to", n), n)):
            per[i] = t
    return per


def allowed(t, ref, i, per):
    """The allowed |deviation| of float i of `ref` under entry t (per: entries()'s list for ref)."""
    kind = t["kind"]
    if kind == "exact":
        return 0.0
    if kind == "elem":
        scale = abs(ref[i])
    elif kind == "norm":
        lo, hi = t.get("from", 0), min(t.get("to", len(ref)), len(ref))
        members = [j for j in range(lo, hi) if per[j] is t]
        if "block" in t:  # b x b blocks of a row-major matrix with `cols` columns
            cols, b = t["block"]
            r, c = divmod(i - lo, cols)
            members = [j for j in members if (j - lo) // cols // b == r // b and (j - lo) % cols // b == c // b]
        scale = max((abs(ref[j]) for j in members if math.isfinite(ref[j])), default=0.0)
    elif kind == "cov":
        lo = t["from"]
        r, c = divmod(i - lo, 6)
        scale = math.sqrt(abs(ref[lo + 7 * r] * ref[lo + 7 * c]))
    else:
        raise ValueError("unknown tolerance kind %r" % kind)
    return t["abs"] + t["rel"] * scale
