"""ground.runtimes.flash_source: the dictionary's constants become numbers in the flashed .mpy,
and nothing a module looks up on the dictionary at run time goes missing."""

import re

from ground import runtimes
from ground import FIRMWARE_DIR


def test_flash_source_inlines_dictionary_constants_and_keeps_tables():
    consts = {"ERR_BAD_LENGTH": 4, "TC_TEST_PING": 0x1101}
    text = "from fsw import dictionary as D\nx = D.ERR_BAD_LENGTH\ny = D.TC_LAYOUT[D.TC_TEST_PING]\nz = D.ERR_BAD_LENGTHS\n"
    assert runtimes.flash_source("fsw/x.py", text, consts) == (
        "from fsw import dictionary as D\nx = 4\ny = D.TC_LAYOUT[4353]\nz = D.ERR_BAD_LENGTHS\n"
    )


def test_flash_source_leaves_modules_without_the_dictionary_alone():
    text = "D = object()\nx = D.ERR_BAD_LENGTH\n"
    assert runtimes.flash_source("hw/x.py", text, {"ERR_BAD_LENGTH": 4}) == text


def test_flash_source_makes_the_dictionary_constants_private():
    text = "from micropython import const\nAPID_OBC = const(0x001)  # obc\nERRORS = 3\nHK_OBC = const(1)\n"
    assert runtimes.flash_source("fsw/dictionary.py", text, {}) == (
        "from micropython import const\n_APID_OBC = const(0x001)  # obc\nERRORS = 3\n_HK_OBC = const(1)\n"
    )


def test_flash_build_leaves_only_table_lookups_on_the_dictionary():
    consts = runtimes.dictionary_consts()
    dictionary = (FIRMWARE_DIR / "fsw" / "dictionary.py").read_text()
    public_tables = set(re.findall(r"^([A-Z][A-Z0-9_]*) = [^c]", dictionary, re.M))
    assert {"TC_LAYOUT", "TM_LAYOUT", "EVENTS", "FUNCTIONS"} <= public_tables
    for path in sorted(FIRMWARE_DIR.rglob("*.py")):
        rel = path.relative_to(FIRMWARE_DIR).as_posix()
        flashed = runtimes.flash_source(rel, path.read_text(), consts)
        if "from fsw import dictionary as D" in flashed:
            left = set(re.findall(r"\bD\.([A-Z][A-Z0-9_]*)\b", flashed))
            assert left <= public_tables, (rel, sorted(left - public_tables))
