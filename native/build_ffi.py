"""cffi API-mode build of the GNC core (registered in setup.py's cffi_modules).

The cdef is read from the public header itself, not a copy: preprocessor
guards and includes are dropped, and every `#define NAME value` becomes
`#define NAME ...` so the C compiler supplies the values.
"""

import os
import re
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
INCLUDE = HERE / "include"
SOURCES = sorted(str(p) for p in (HERE / "src").glob("*.c"))
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Wdouble-promotion", "-Wconversion", "-fno-math-errno"]

_DEFINE = re.compile(r"^#define\s+(\w+)\s+\S.*$")


def cdef_from_header(path):
    lines = []
    for line in Path(path).read_text().splitlines():
        stripped = line.strip()
        m = _DEFINE.match(stripped)
        if m:
            lines.append("#define %s ..." % m.group(1))
        elif stripped.startswith("#"):
            continue
        else:
            lines.append(line)
    return "\n".join(lines)


_DECL = re.compile(r"^gnc_status\s+(gnc_\w+)\s*\(", re.M)


def declared_functions():
    return _DECL.findall((INCLUDE / "gnc.h").read_text())


def defined_functions():
    text = "\n".join((HERE / "src" / Path(s).name).read_text() for s in SOURCES)
    return set(re.findall(r"^gnc_status\s+(gnc_\w+)\s*\([^;]*?\)\s*\{", text, re.M | re.S))


def cdef(partial=False):
    """The cdef; with partial=True (development only) functions without a definition are left out."""
    text = cdef_from_header(INCLUDE / "gnc_config.h") + "\n" + cdef_from_header(INCLUDE / "gnc.h")
    missing = [f for f in declared_functions() if f not in defined_functions()]
    if missing and not partial:
        raise SystemExit("native/build_ffi.py: declared in gnc.h but not defined in native/src: " + ", ".join(missing))
    for name in missing:
        text = re.sub(r"^gnc_status\s+%s\s*\([^;]*;" % name, "", text, flags=re.M | re.S)
    return text


ffibuilder = FFI()
ffibuilder.cdef(cdef(partial=os.environ.get("MITRA_GNC_PARTIAL") == "1"))
ffibuilder.set_source(
    "native._gnc",
    '#include "gnc.h"',
    # setuptools (cffi_modules in setup.py) refuses absolute source paths: relative to setup.py's
    # folder there; absolute for the development build below, which compiles inside its target dir.
    sources=SOURCES if __name__ == "__main__" else [os.path.relpath(s, HERE.parent) for s in SOURCES],
    include_dirs=[str(INCLUDE)],
    extra_compile_args=CFLAGS,
    libraries=["m"],
)

if __name__ == "__main__":
    # Development build into a folder: MITRA_GNC_PARTIAL=1 python native/build_ffi.py /tmp/gncbuild
    # then `sys.path.insert(0, "/tmp/gncbuild")` and `from native import _gnc`.
    target = sys.argv[1] if len(sys.argv) > 1 else "."
    ffibuilder.compile(tmpdir=target, verbose=False)
