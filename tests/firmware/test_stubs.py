"""The firmware against MicroPython itself: mypy over the rp2 port stubs, and every
module importing under the ESP32 heap budget on the unix port (STYLE.md: no typing
on the device; check it against the stubs instead).

The mypy run sees only MicroPython's world: the stdlib stubs of
micropython-stdlib-stubs as typeshed, each port's stubs (rp2, esp32: machine, time, gc,
micropython, ...) on the module path, no CPython site-packages and never
firmware/cpython (whose `micropython.py` would hide the stub under test).
"""

import ast
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from ground import runtimes

from ground import FIRMWARE_DIR

STDLIB_STUBS = "micropython-stdlib-stubs"
# scripts/bootstrap.sh installs each port's stubs into a folder of its own: the
# wheels install flat into site-packages and would overwrite each other there.
STUBS_ROOT = Path(sys.prefix) / "stubs"
PORTS = ("rp2", "esp32")
ESP32_HEAP = 100 * 1024  # boards/esp32-devkitc.json heap_budget, the smallest board


def _dist(name, port):
    target = STUBS_ROOT / port
    for dist in metadata.distributions(name=name, path=[str(target)]):
        return dist
    pytest.skip("%s not installed in %s (`make setup` installs it)" % (name, target))


def _typings(tmp_path, port, stdlib):
    """A directory holding only the port's stub modules (and the stubs' shared `_mpy_shed`).

    The stub wheels install flat into site-packages, which mypy refuses on its
    module path; links to just their top-level entries give it the stubs alone.
    """
    root = tmp_path / "typings"
    root.mkdir()
    names = set()
    for dist in (port, stdlib):
        for f in dist.files or ():
            top = f.parts[0]
            if top.endswith(".dist-info") or top in ("stdlib", "stubs"):
                continue
            if len(f.parts) == 1 and not top.endswith(".pyi"):
                continue  # README.md, LICENSE.md, pyproject.toml at the site-packages root
            names.add(top)
    modules = []
    for top in sorted(names):
        (root / top).symlink_to(port.locate_file(top))  # both wheels share one site-packages
        modules.append(top[:-4] if top.endswith(".pyi") else top)
    return root, modules


def _mypy_config(tmp_path, typings, stub_modules, typeshed):
    sections = ",".join("%s,%s.*" % (m, m) for m in stub_modules)
    text = "\n".join(
        [
            "[mypy]",
            "python_version = 3.11",
            "custom_typeshed_dir = %s" % typeshed,
            "mypy_path = %s:%s" % (FIRMWARE_DIR, typings),
            "no_site_packages = True",
            "explicit_package_bases = True",
            "check_untyped_defs = True",
            # the firmware carries no annotations by design (STYLE.md), so do not ask for them
            "disable_error_code = var-annotated",
            "cache_dir = %s" % (tmp_path / "mypy_cache"),
            # hal/__init__.py picks hal.mpy or hal.cpy on sys.implementation.name, which
            # mypy cannot evaluate: it sees both branches. Check the MicroPython one only.
            "[mypy-hal.cpy]",
            "follow_imports = skip",
            "[mypy-hal]",
            "disable_error_code = no-redef",
            # errors inside the stubs themselves are the stub authors' business
            "[mypy-%s]" % sections,
            "ignore_errors = True",
            "",
        ]
    )
    path = tmp_path / "mypy.ini"
    path.write_text(text)
    return path


@pytest.mark.parametrize("port", PORTS)
def test_firmware_type_checks_against_port_stubs(tmp_path, port):
    pytest.importorskip("mypy")
    port_dist, stdlib = _dist("micropython-%s-stubs" % port, port), _dist(STDLIB_STUBS, port)
    typings, stub_modules = _typings(tmp_path, port_dist, stdlib)
    config = _mypy_config(tmp_path, typings, stub_modules, stdlib.locate_file(""))
    targets = ["fsw", "hal/mpy.py", "main.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(config), "--no-error-summary", *targets],
        cwd=FIRMWARE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, "mypy exited %d:\n%s%s" % (proc.returncode, proc.stdout, proc.stderr)


# --- imports on the unix port under the ESP32 heap ----------------------------------


def _firmware_modules():
    mods = []
    for path in sorted((FIRMWARE_DIR / "fsw").rglob("*.py")):
        rel = path.relative_to(FIRMWARE_DIR).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        mods.append((".".join(parts), path))
    mods += [("hal", FIRMWARE_DIR / "hal" / "__init__.py"), ("hal.mpy", FIRMWARE_DIR / "hal" / "mpy.py")]
    return mods


def _public_names(path):
    """Names a module defines at top level for others (functions, classes, public assignments)."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom) and path.name == "__init__.py":
            names.update(a.asname or a.name for a in node.names)
    return sorted(n for n in names if not n.startswith("_"))


@pytest.mark.micropython
def test_firmware_modules_import_under_esp32_heap(micropython, tmp_path):
    # Imports only (constructs nothing): import-time allocations fit the smallest board's heap
    # with the firmware deployed as on a board (.mpy in a ROMFS image, run in place:
    # ground/romboot.py), and every module exposes what it defines.
    modules = _firmware_modules()
    lines = ["import sys, gc", "import fsw.app", "gc.collect()", "print('free', gc.mem_free())"]
    inlined = runtimes.dictionary_consts()  # the flash build makes these numbers (runtimes.flash_source)
    for name, path in modules:
        lines.append("import %s" % name)
        lines.append("m = sys.modules[%r]" % name)
        for public in _public_names(path):
            if name == "fsw.dictionary" and public in inlined:
                continue
            lines.append("assert hasattr(m, %r), %r" % (public, name + "." + public))
        lines.append("print('ok', %r)" % name)
    program = tmp_path / "imports.py"
    program.write_text("\n".join(lines) + "\n")
    argv = runtimes.romfs_argv(runtimes.require_micropython(), ESP32_HEAP, program)
    proc = subprocess.run(argv, capture_output=True, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert [line.split()[1] for line in out.splitlines() if line.startswith("ok ")] == [n for n, _ in modules]
