"""Building MicroPython firmware with the C core built in (scripts/firmware.py, `make firmware`).

Fast checks here; the builds themselves are in the slow tests below them.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# the executables MicroPython's make-based ports link into their build folder
_PORT_EXECUTABLES = {"micropython", "mpy-cross", "firmware"}


def test_user_module_folder_is_not_named_like_a_port_executable():
    # `make -C ports/unix USER_C_MODULES=native` builds each module folder's objects under
    # build-standard/<folder>/ and links build-standard/micropython: a module folder named
    # `micropython` made that path a directory and the link failed.
    folders = [p.parent.name for p in (ROOT / "native").glob("*/micropython.mk")]
    assert folders == ["mpy_module"], folders
    assert not set(folders) & _PORT_EXECUTABLES
