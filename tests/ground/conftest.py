"""Fixtures shared by the ground tests."""

import os
import tty

import pytest


@pytest.fixture
def mitra_home(tmp_path, monkeypatch):
    """A temporary MITRA_HOME (keys, archives) for one test: never the operator's. A module that must
    not touch the real one takes it for every test with `pytestmark = pytest.mark.usefixtures("mitra_home")`."""
    home = tmp_path / "home"
    monkeypatch.setenv("MITRA_HOME", str(home))
    return home


@pytest.fixture
def silent_pty():
    """A pty pair nobody answers on: (slave path, master fd). Whatever is written to the slave stays unread."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield os.ttyname(slave), master
    finally:
        os.close(slave)
        os.close(master)
