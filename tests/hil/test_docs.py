"""hil.docs and the user documentation: the generated tables match their owners (dictionary,
boards, scenario registrations); no file a user reads sends them outside the repository."""

import re
import subprocess

import pytest

from ground import REPO_ROOT
from ground import dictionary as d
from hil import docs



def _user_docs():
    """What a user of the repository reads besides the CLIs' help: the Markdown files it holds
    (those git tracks, in a checkout: a file someone is still writing is judged once committed)."""
    try:
        out = subprocess.run(["git", "ls-files", "*.md"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
    paths = [REPO_ROOT / p for p in out] or list(REPO_ROOT.glob("*.md")) + list(REPO_ROOT.glob("docs/*.md"))
    # new documents are read before they are committed
    paths += [p for p in docs.DOCUMENTS if p.exists()]
    return sorted(set(p for p in paths if p.exists()))


# What a user of the repository reads: the Markdown files in it and the CLIs' help.
USER_DOCS = _user_docs()
# The contract documents live outside the repository; a reader has none of them.
OUTSIDE = re.compile(r"\.\./shared|/work/shared|\b(?:PROTOCOL|GNC|ARCHITECTURE|STYLE)\.md\b")


def test_docs_generated_tables_are_current():
    for path, text in docs.generated_files().items():
        assert path.read_text() == text, "%s is stale: run `python -m hil.docs` and commit the result" % path.relative_to(REPO_ROOT)


def test_docs_every_table_is_placed_in_a_document():
    placed = [name for path in docs.DOCUMENTS for name in docs.names_in(path.read_text())]
    assert sorted(set(placed)) == sorted(docs.TABLES)


def test_docs_check_exits_1_on_a_stale_document_and_main_rewrites_it(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "x.md"
    doc.write_text("before\n<!-- generated: errors -->\n| stale |\n<!-- end -->\nafter\n")
    monkeypatch.setattr(docs, "DOCUMENTS", [doc])
    monkeypatch.setattr(docs, "REPO_ROOT", tmp_path)
    assert docs.main(["--check"]) == 1
    assert "stale: x.md" in capsys.readouterr().err
    assert docs.main([]) == 0
    text = doc.read_text()
    assert text.startswith("before\n<!-- generated: errors -->\n| code | name | meaning |\n")
    assert text.endswith("<!-- end -->\nafter\n")
    assert docs.main(["--check"]) == 0


def test_docs_render_refuses_an_unknown_table():
    with pytest.raises(ValueError, match="unknown generated table 'nope'"):
        docs.render("<!-- generated: nope -->\n<!-- end -->\n")


def test_docs_render_leaves_text_outside_the_markers_alone():
    text = "a | b\n<!-- generated: security_reasons -->\nold\n<!-- end -->\nc\n"
    out = docs.render(text, {"security_reasons": lambda: "new\n"})
    assert out == "a | b\n<!-- generated: security_reasons -->\nnew\n<!-- end -->\nc\n"


def test_docs_error_table_lists_every_code_of_the_dictionary():
    rows = docs.errors_table().splitlines()[2:]
    assert rows == ["| %d | %s | %s |" % e for e in d.ERRORS]


def test_docs_tables_escape_pipes_in_cells():
    assert docs._table(("a",), [("x|y",)]).splitlines()[2] == "| x\\|y |"


def test_docs_function_table_has_every_function_with_its_range():
    table = docs.functions_table()
    for c in d.COMPONENTS:
        for fn in c.functions:
            assert "| %s.%s |" % (c.name, fn.name) in table
    assert "mode: u8 [0..4]" in table  # rover_mobility.set_mode: minimum from the type, maximum declared


def test_docs_scenario_table_carries_each_registered_criterion():
    from hil.scenarios import load_all

    table = docs.scenarios_table()
    for sid, s in load_all().items():
        assert "| %s | %s | %s |" % (sid, s.title, s.criterion) in table


def test_docs_board_table_has_each_board_file():
    table = docs.boards_table()
    for b in docs.boards():
        assert "`%s`" % b["name"] in table and "%d B" % b["heap_budget"] in table


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_docs_user_files_do_not_refer_outside_the_repository(path):
    for n, line in enumerate(path.read_text().splitlines(), 1):
        assert not OUTSIDE.search(line), "%s:%d refers to a document outside the repository: %s" % (path.name, n, line.strip())


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_docs_user_files_link_only_to_files_in_the_repository(path):
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+://", target) or target.startswith("#"):
            continue
        resolved = (path.parent / target.partition("#")[0]).resolve()
        assert resolved.is_relative_to(REPO_ROOT), "%s links outside the repository: %s" % (path.name, target)
        assert resolved.exists(), "%s links to a missing file: %s" % (path.name, target)


def _help_texts():
    from ground.cli import build_parser

    parser = build_parser()
    texts = [parser.format_help()]
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            texts.append(sub.format_help())
    return texts


def test_docs_ground_cli_help_does_not_refer_outside_the_repository():
    texts = _help_texts()
    assert len(texts) > 5
    for text in texts:
        assert not OUTSIDE.search(text), text


@pytest.mark.parametrize("argv", [["--help"], ["scenarios", "--help"], ["campaign", "--help"]])
def test_docs_hil_cli_help_does_not_refer_outside_the_repository(argv, capsys):
    from hil.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "usage: python -m hil" in out
    assert not OUTSIDE.search(out), out


def test_docs_readme_points_to_the_documentation():
    readme = (REPO_ROOT / "README.md").read_text()
    for name in ("docs/protocol.md", "docs/gnc.md", "docs/architecture.md", "CONTRIBUTING.md"):
        assert "(%s)" % name in readme, name
