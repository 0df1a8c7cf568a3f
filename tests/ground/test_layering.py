"""The ground station stands alone: nothing in ground/ imports hil/ (issue 10, item 5).

`hil` (the rig, its scenarios and campaign, the documentation generator) builds on `ground`;
a ground station installed for a pass must not need the rig. Checked on the source, so a
lazy import inside a function counts too.
"""

import ast

from ground import REPO_ROOT


def _imported_modules(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_no_ground_module_imports_hil():
    offenders = [
        "%s:%d imports %s" % (path.relative_to(REPO_ROOT), line, module)
        for path in sorted((REPO_ROOT / "ground").rglob("*.py"))
        for line, module in _imported_modules(path)
        if module == "hil" or module.startswith("hil.")
    ]
    assert offenders == []


def test_the_check_sees_a_lazy_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from hil.scenarios import load_all\n    import hil\n")
    assert [m for _, m in _imported_modules(probe)] == ["hil.scenarios", "hil"]
