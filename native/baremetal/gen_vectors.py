"""Generate the C tables of the bare-metal runner from the shared vector set.

    python native/baremetal/gen_vectors.py OUTDIR [--vectors tests/vectors/gnc_vectors.json]
                                                   [--max-bytes N]

writes into OUTDIR (a build directory; nothing here is committed, so it never goes stale):

    pil_sizes.h          PIL_MAX_IN / PIL_MAX_OUT: the runner's stack buffers (floats)
    pil_calls.c          pil_call(): one timed call per function of the vector set, from api.py
    pil_vectors_<k>.c    the cases, split so each part's data stays under --max-bytes
                         (one image per part: the micro:bit has 256 KB of flash)
    parts.json           which cases each part holds, for pil.py to name them

Layout of a case (native/baremetal/pil.h): inputs as float32 in flash, references as float64
with the allowed deviation of each value, computed here from the vector file's tolerance
entries by tests/vectors/tolerance.py (the reader tests/gnc/test_vectors.py uses).
"""

import argparse
import importlib.util
import json
import math
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "gnc_vectors.json"


def load_api():
    """native/api.py as a module, without importing the `native` package (no compiled core needed)."""
    spec = importlib.util.spec_from_file_location("mitra_gnc_api", ROOT / "native" / "api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


api = load_api()
SCALAR_IN = (api.FLOAT, api.INT, api.INT_INOUT, api.FLOAT_INOUT)
OUTPUTS = (api.OUT, api.INOUT, api.FLOAT_INOUT, api.FLOAT_OUT, api.INT_INOUT, api.INT_OUT)


def header_constants():
    """#define NAME <int> of gnc.h and gnc_config.h."""
    out = {}
    for name in ("gnc.h", "gnc_config.h"):
        text = (ROOT / "native" / "include" / name).read_text()
        for m in re.finditer(r"^#define\s+(GNC_\w+)\s+(\d+)\b", text, re.M):
            out[m.group(1)] = int(m.group(2))
    return out


def decode(v):
    """JSON value -> Python: "nan", "inf", "-inf" become floats."""
    if isinstance(v, str):
        return float(v)
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v


# ---- tolerances: tests/vectors/tolerance.py, the reader the host tests use too ----------------

_tol_spec = importlib.util.spec_from_file_location("mitra_vector_tolerance", ROOT / "tests" / "vectors" / "tolerance.py")
tolerance_rules = importlib.util.module_from_spec(_tol_spec)
_tol_spec.loader.exec_module(tolerance_rules)
entries, allowed = tolerance_rules.entries, tolerance_rules.allowed


# ---- C literals -------------------------------------------------------------------------------


def f32_bits_equal(v):
    return math.isnan(v) or struct.unpack("<f", struct.pack("<f", v))[0] == v


def c_float(v):
    if math.isnan(v):
        return '__builtin_nanf("")'
    if math.isinf(v):
        return "__builtin_inff()" if v > 0 else "-__builtin_inff()"
    return v.hex() + "f"


def c_double(v):
    if math.isnan(v):
        return '__builtin_nan("")'
    if math.isinf(v):
        return "__builtin_inf()" if v > 0 else "-__builtin_inf()"
    return v.hex()


def f32_up(v):
    """The smallest float32 >= v (v >= 0), so a rounded tolerance is never tighter than stated."""
    if math.isinf(v) or v > 3.4e38:
        return math.inf
    (bits,) = struct.unpack("<I", struct.pack("<f", v))
    f = struct.unpack("<f", struct.pack("<I", bits))[0]
    if f < v:
        f = struct.unpack("<f", struct.pack("<I", bits + 1))[0]
    return f


def c_array(ctype, name, values, fmt, per_line=4):
    if not values:
        values, fmt = [0], str  # C has no empty arrays; n_* says how many count
    body = ",\n    ".join(", ".join(fmt(v) for v in values[i : i + per_line]) for i in range(0, len(values), per_line))
    return "static const %s %s[] = {\n    %s,\n};\n" % (ctype, name, body)


# ---- cases ----------------------------------------------------------------------------------------


def is_counted(arg):
    return api.length_terms(arg.length) is not None if isinstance(arg.length, str) else False


class Layout:
    """Where a function's arguments sit in a case's `in` array and in the outputs o[]."""

    def __init__(self, fn):
        self.fn = fn
        self.counted = [a for a in fn.args if a.kind in api.BUFFER_KINDS and is_counted(a)]
        self.scalars = [a for a in fn.args if a.kind in SCALAR_IN]
        self.buffers = [a for a in fn.args if a.kind in api.BUFFER_KINDS]
        self.outputs = [a for a in fn.args if a.kind in OUTPUTS]


def build_case(fn, layout, case, consts, out_fill, tolerance):
    """(in floats, refs, bounds, idx, n_out) of one case."""
    args = {k: decode(v) for k, v in case["args"].items()}
    lengths = {}
    for a in layout.buffers:
        if a.name in args:
            lengths[a.name] = len(args[a.name])
            if not is_counted(a) and lengths[a.name] != api.resolve_length(a.length, consts):
                raise ValueError("%s [%s]: %r has %d floats, the API says %s"
                                 % (fn.name, case["name"], a.name, lengths[a.name], a.length))
        elif a.kind == api.OUT:
            lengths[a.name] = api.resolve_length(a.length, consts, args)
            args[a.name] = [out_fill] * lengths[a.name]
        else:
            raise ValueError("%s [%s]: argument %r missing" % (fn.name, case["name"], a.name))
    values = [float(lengths[a.name]) for a in layout.counted]
    values += [float(args[a.name]) for a in layout.scalars]
    for a in layout.buffers:
        values += [float(v) for v in args[a.name]]
    for v in values:
        if not f32_bits_equal(v):
            raise ValueError("%s [%s]: input %r is not a float32 value" % (fn.name, case["name"], v))
    offsets, pos = {}, 0
    for a in layout.outputs:
        offsets[a.name] = pos
        pos += lengths[a.name] if a.kind in api.BUFFER_KINDS else 1
    refs, bounds, idx = [], [], []
    for out, ref in case.get("expect", {}).items():
        if out not in offsets:
            raise ValueError("%s [%s]: expected output %r is not an output of the function" % (fn.name, case["name"], out))
        ref = decode(ref)
        ref = [float(v) for v in (ref if isinstance(ref, list) else [ref])]
        per = entries(tolerance, out, len(ref))
        for i, r in enumerate(ref):
            if case["status"] == api.ENAN:  # gnc.h: outputs untouched, bit for bit
                bound = 0.0
            else:
                if per[i] is None:
                    raise ValueError("%s: no tolerance for %s[%d]" % (fn.name, out, i))
                bound = allowed(per[i], ref, i, per) if math.isfinite(r) else 0.0
            refs.append(r)
            bounds.append(f32_up(bound))
            idx.append(offsets[out] + i)
    return values, refs, bounds, idx, pos


def case_bytes(values, refs):
    return 4 * len(values) + (8 + 4 + 2) * len(refs) + 24


# ---- C sources --------------------------------------------------------------------------------


def calls_source(functions, out_fill):
    """pil_calls.c: a timed call per function (index = position in `functions`)."""
    lines = [
        "/* Generated by native/baremetal/gen_vectors.py from native/api.py: do not edit. */",
        "#include <string.h>",
        "",
        '#include "gnc.h"',
        '#include "pil.h"',
        '#include "systick.h"',
        "",
        "#define OUT_FILL %s" % c_float(out_fill),
        "",
    ]
    for fn in functions:
        lay = Layout(fn)
        body = []
        n_counted = len(lay.counted)
        for i, a in enumerate(lay.counted):
            body.append("    int len_%s = (int)w[%d];" % (a.name, i))
        for i, a in enumerate(lay.scalars):
            ctype = "int" if a.kind in (api.INT, api.INT_INOUT) else "float"
            conv = "(int)" if ctype == "int" else ""
            body.append("    %s a_%s = %sw[%d];" % (ctype, a.name, conv, n_counted + i))
        for a in fn.args:
            if a.kind == api.FLOAT_OUT:
                body.append("    float a_%s = OUT_FILL;" % a.name)
            elif a.kind == api.INT_OUT:
                body.append("    int a_%s = (int)OUT_FILL;" % a.name)
        body.append("    float *p = w + %d;" % (n_counted + len(lay.scalars)))
        for a in lay.buffers:
            body.append("    float *a_%s = p;" % a.name)
            body.append("    p += %s;" % ("len_" + a.name if is_counted(a) else a.length))
        body.append("    uint64_t t0, t1;")
        body.append("    int rc, k = 0;")
        call_args = []
        for a in fn.args:
            if a.kind in (api.INT_INOUT, api.FLOAT_INOUT, api.FLOAT_OUT, api.INT_OUT):
                call_args.append("&a_" + a.name)
            else:
                call_args.append("a_" + a.name)
        body.append("    t0 = pil_ticks();")
        body.append("    rc = gnc_%s(%s);" % (fn.name, ", ".join(call_args)))
        body.append("    t1 = pil_ticks();")
        body.append("    *ticks = t1 - t0;")
        for a in lay.outputs:
            if a.kind in api.BUFFER_KINDS:
                n = "len_" + a.name if is_counted(a) else str(a.length)
                body.append("    memcpy(o + k, a_%s, sizeof(float) * (unsigned)(%s));" % (a.name, n))
                body.append("    k += %s;" % n)
            else:
                body.append("    o[k++] = (float)a_%s;" % a.name)
        body.append("    (void)p;")
        body.append("    (void)k;")
        body.append("    return rc;")
        lines.append("static int call_%s(float *w, float *o, uint64_t *ticks)" % fn.name)
        lines.append("{")
        lines += body
        lines.append("}")
        lines.append("")
    lines.append("int pil_call(const pil_case *c, float *w, float *o, uint64_t *ticks)")
    lines.append("{")
    lines.append("    switch (c->fn) {")
    for i, fn in enumerate(functions):
        lines.append("    case %d:" % i)
        lines.append("        return call_%s(w, o, ticks);" % fn.name)
    lines.append("    default:")
    lines.append("        return -1;")
    lines.append("    }")
    lines.append("}")
    lines.append("")
    lines.append("const char *const pil_function_names[] = {")
    for fn in functions:
        lines.append('    "%s",' % fn.name)
    lines.append("};")
    return "\n".join(lines) + "\n"


def vectors_source(part, cases):
    lines = [
        "/* Generated by native/baremetal/gen_vectors.py from the vector file (part %d): do not edit. */" % part,
        '#include "pil.h"',
        "",
    ]
    table = []
    for n, c in enumerate(cases):
        lines.append(c_array("float", "in_%d" % n, c["in"], c_float))
        lines.append(c_array("double", "ref_%d" % n, c["ref"], c_double, 2))
        lines.append(c_array("float", "bound_%d" % n, c["bound"], c_float))
        lines.append(c_array("uint16_t", "idx_%d" % n, c["idx"], str, 12))
        table.append(
            "    {in_%d, ref_%d, bound_%d, idx_%d, %d, %d, %d, %d, %d}, /* %s [%s] */"
            % (n, n, n, n, c["fn"], c["number"], len(c["in"]), len(c["ref"]), c["status"], c["function"],
               c["name"].replace("*/", "* /"))
        )  # fmt: skip
    lines.append("const pil_case pil_cases[] = {")
    lines += table
    lines.append("};")
    lines.append("const int pil_n_cases = %d;" % len(cases))
    return "\n".join(lines) + "\n"


def generate(outdir, vectors=VECTORS, max_bytes=0):
    """Write the sources; returns the parts description (also written as parts.json)."""
    data = json.loads(Path(vectors).read_text())
    if data.get("format") != 1:
        raise ValueError("%s: format %r, this generator reads format 1" % (vectors, data.get("format")))
    consts = header_constants()
    out_fill = float(data.get("out_fill", 9.0))
    names = list(data["functions"])
    unknown = [n for n in names if n not in api.BY_NAME]
    if unknown:
        raise ValueError("%s: functions not in native/api.py: %s" % (vectors, ", ".join(unknown)))
    functions = [api.BY_NAME[n] for n in names]
    cases, max_in, max_out = [], 1, 1
    for fi, fn in enumerate(functions):
        entry = data["functions"][fn.name]
        lay = Layout(fn)
        for number, case in enumerate(entry["cases"]):
            values, refs, bounds, idx, n_out = build_case(fn, lay, case, consts, out_fill, entry["tolerance"])
            max_in, max_out = max(max_in, len(values)), max(max_out, n_out)
            cases.append(dict(fn=fi, function=fn.name, number=number, name=case["name"], status=case["status"],
                              **{"in": values, "ref": refs, "bound": bounds, "idx": idx}))  # fmt: skip
    parts, size = [[]], 0
    for c in cases:
        b = case_bytes(c["in"], c["ref"])
        if max_bytes and parts[-1] and size + b > max_bytes:
            parts.append([])
            size = 0
        parts[-1].append(c)
        size += b
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "pil_sizes.h").write_text(
        "/* Generated by native/baremetal/gen_vectors.py: do not edit. */\n"
        "#define PIL_MAX_IN %d\n#define PIL_MAX_OUT %d\n" % (max_in, max_out)
    )
    (outdir / "pil_calls.c").write_text(calls_source(functions, out_fill))
    for old in outdir.glob("pil_vectors_*.c"):
        old.unlink()
    desc = []
    for k, part in enumerate(parts):
        (outdir / ("pil_vectors_%d.c" % k)).write_text(vectors_source(k, part))
        desc.append({
            "source": "pil_vectors_%d.c" % k,
            "bytes": sum(case_bytes(c["in"], c["ref"]) for c in part),
            "cases": [[c["function"], c["number"], c["name"]] for c in part],
        })  # fmt: skip
    (outdir / "parts.json").write_text(json.dumps(desc, indent=1) + "\n")
    return desc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("outdir")
    p.add_argument("--vectors", default=str(VECTORS))
    p.add_argument("--max-bytes", type=int, default=0, help="vector data per part (0: one part)")
    args = p.parse_args(argv)
    desc = generate(args.outdir, args.vectors, args.max_bytes)
    print("gen_vectors: %d cases in %d part(s) in %s" % (sum(len(d["cases"]) for d in desc), len(desc), args.outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
