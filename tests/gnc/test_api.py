"""native/api.py against native/include/gnc.h: the table the bindings are generated from can
never drift from the header (names, order, pointer / scalar types, buffer length constants)."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "native" / "include" / "gnc.h"
CONFIG = ROOT / "native" / "include" / "gnc_config.h"


def _load_api():
    # native/api.py is plain data: load it by path, without native/__init__.py and its extension
    spec = importlib.util.spec_from_file_location("gnc_api_table", ROOT / "native" / "api.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


api = _load_api()


def _strip_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def header_declarations(text):
    """[(name, [(c_type, arg_name), ...])] of every gnc_status function in declaration order."""
    decls = []
    for m in re.finditer(r"\bgnc_status\s+gnc_(\w+)\s*\(([^)]*)\)\s*;", _strip_comments(text)):
        args = []
        for param in m.group(2).split(","):
            p = " ".join(param.replace("*", " * ").split())
            pm = re.fullmatch(r"(.*?)\s*(\w+)", p)
            ctype = pm.group(1).replace(" *", " *").strip()
            ctype = re.sub(r"\s*\*$", " *", ctype)
            args.append((ctype, pm.group(2)))
        decls.append((m.group(1), args))
    return decls


def header_constants():
    text = _strip_comments(CONFIG.read_text() + "\n" + HEADER.read_text())
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^#define\s+(GNC_\w+)\s+(\d+)\s*$", text, re.M)}


def test_api_parser_reads_known_declaration():
    # the parser itself, on a declaration written here (so a broken regex cannot pass vacuously)
    text = "gnc_status gnc_x(const float *a, float b,\n int *c); /* c */\n"
    assert header_declarations(text) == [("x", [("const float *", "a"), ("float", "b"), ("int *", "c")])]


def test_api_table_lists_every_header_function_in_order():
    declared = [name for name, _ in header_declarations(HEADER.read_text())]
    assert len(declared) >= 30
    assert [f.name for f in api.FUNCTIONS] == declared


@pytest.mark.parametrize("fn", api.FUNCTIONS, ids=lambda f: f.name)
def test_api_table_arguments_match_header(fn):
    decls = dict(header_declarations(HEADER.read_text()))
    assert [(api.C_TYPE[a.kind], a.name) for a in fn.args] == decls[fn.name]


@pytest.mark.parametrize("fn", api.FUNCTIONS, ids=lambda f: f.name)
def test_api_table_buffer_lengths_resolve(fn):
    constants = header_constants()
    ints = {a.name for a in fn.args if a.kind == api.INT}
    for a in fn.args:
        if a.kind not in api.BUFFER_KINDS:
            assert a.length is None
            continue
        terms = api.length_terms(a.length)
        if terms:
            assert terms[1] in ints, "%s.%s: length %r counts a non-int argument" % (fn.name, a.name, a.length)
        elif isinstance(a.length, str):
            assert a.length in constants, "%s.%s: %s is not a gnc.h constant" % (fn.name, a.name, a.length)
        else:
            assert isinstance(a.length, int) and a.length > 0
        values = {name: 2 for name in ints}
        assert api.resolve_length(a.length, constants, values) > 0


def test_api_table_docs_are_one_line():
    for fn in api.FUNCTIONS:
        assert fn.doc and "\n" not in fn.doc and len(fn.doc) <= 120, fn.name


def _returns_eunsafe():
    """Functions whose C definition returns GNC_EUNSAFE somewhere (in its own body)."""
    found = set()
    for src in sorted((ROOT / "native" / "src").glob("*.c")):
        text = _strip_comments(src.read_text())
        for m in re.finditer(r"^gnc_status\s+gnc_(\w+)\s*\([^;{]*\)\s*\{(.*?)^\}", text, re.M | re.S):
            if re.search(r"return[^;]*GNC_EUNSAFE", m.group(2)):
                found.add(m.group(1))
    return found


def test_api_unsafe_flag_where_c_returns_eunsafe():
    # every function whose C source can return GNC_EUNSAFE returns the flag in Python (not an
    # exception); inspector_step passes keep-out's status through a variable
    unsafe = {f.name for f in api.FUNCTIONS if f.unsafe}
    assert _returns_eunsafe() <= unsafe
    assert unsafe == {"keepout_check", "abort_burn", "inspector_step"}


def test_api_status_codes_match_header():
    constants = header_constants()
    for name in ("OK", "EINVAL", "ENAN", "ESINGULAR", "ERANGE", "EUNSAFE"):
        assert getattr(api, name) == constants["GNC_" + name]


def test_api_inspector_and_rover_layout_sizes_add_up():
    # the composite-step layouts spelled out in gnc.h's comments against their size constants
    c = header_constants()
    assert c["GNC_INSPECTOR_IN"] == 3 * 6 + 4 + 1 + 4 + 3 + 3 + 6 + 1
    assert c["GNC_INSPECTOR_PRM"] == 9 + 15
    assert c["GNC_INSPECTOR_OUT"] == 3 + 3 + 4 + 1 + 1 + 3
    assert c["GNC_INSPECTOR_SIZE"] == c["GNC_MEKF_SIZE"] + c["GNC_BDOT_SIZE"] + 3 + 6 + 1 + 1 + 8
    assert c["GNC_ROVER_IN"] == 8 + 3 + 1 + 1
    assert c["GNC_ROVER_PRM"] == 5 + 1 + 1 + 6 + 1 + 1 + 5
    assert c["GNC_ROVER_STEP_SIZE"] == c["GNC_ROVER_NAV_SIZE"] + 1 + c["GNC_DRILL_SIZE"] + 1 + 1 + 2


def test_api_constants_are_every_header_size_and_limit():
    statuses = {"GNC_OK", "GNC_EINVAL", "GNC_ENAN", "GNC_ESINGULAR", "GNC_ERANGE", "GNC_EUNSAFE"}
    assert set(api.CONSTANTS) == set(header_constants()) - statuses
    assert len(set(api.CONSTANTS)) == len(api.CONSTANTS)
