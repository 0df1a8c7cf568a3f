"""fsw.storage: power-loss-safe small files (temp + rename, CRC, fallback to .bak)."""

import builtins
import os

import pytest

from fsw import storage
from fsw.crc16 import crc16


class PowerCut(BaseException):  # not an Exception: no flight code can catch a power cut
    """The board lost power here."""


@pytest.fixture
def flash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_storage_save_then_load_returns_data(flash):
    storage.save("params.dat", b"\x01\x02\x00\x03")
    assert storage.load("params.dat") == b"\x01\x02\x00\x03"
    assert sorted(os.listdir(flash)) == ["params.dat"]


def test_storage_file_layout_is_magic_length_data_crc(flash):
    storage.save("x.dat", b"AB")
    raw = (flash / "x.dat").read_bytes()
    # magic "MS" | length 2 | data | CRC-16/CCITT-FALSE over the rest
    assert raw[:6] == b"MS\x00\x02AB"
    assert int.from_bytes(raw[6:], "big") == crc16(raw[:6])
    assert len(raw) == 8


def test_storage_load_missing_gives_none(flash):
    assert storage.load("nothing.dat") is None


def test_storage_empty_data_round_trips(flash):
    storage.save("e.dat", b"")
    assert storage.load("e.dat") == b""


def test_storage_second_save_keeps_previous_as_bak(flash):
    storage.save("p.dat", b"one")
    storage.save("p.dat", b"two")
    assert storage.load("p.dat") == b"two"
    assert sorted(os.listdir(flash)) == ["p.dat", "p.dat.bak"]
    assert storage.load("p.dat.bak") == b"one"  # .bak is itself a checked file
    (flash / "p.dat").unlink()
    assert storage.load("p.dat") == b"one"


def test_storage_rejects_data_over_65535(flash):
    with pytest.raises(ValueError):
        storage.save("big.dat", bytes(65536))
    assert storage.load("big.dat") is None


@pytest.mark.parametrize("cut", ["truncate", "flip", "magic", "length", "empty"])
def test_storage_corrupt_file_falls_back_to_bak(flash, cut):
    storage.save("p.dat", b"old value")
    storage.save("p.dat", b"new value")
    path = flash / "p.dat"
    raw = bytearray(path.read_bytes())
    if cut == "truncate":
        raw = raw[:-3]
    elif cut == "flip":
        raw[6] ^= 0x40
    elif cut == "magic":
        raw[0] = ord("X")
    elif cut == "length":
        raw[3] += 1
    else:
        raw = b""
    path.write_bytes(bytes(raw))
    assert storage.load("p.dat") == b"old value"


def test_storage_corrupt_file_and_bak_gives_none(flash):
    storage.save("p.dat", b"a")
    storage.save("p.dat", b"b")
    (flash / "p.dat").write_bytes(b"MS\x00")
    (flash / "p.dat.bak").write_bytes(b"garbage!")
    assert storage.load("p.dat") is None


def test_storage_save_over_corrupt_file_keeps_good_bak(flash):
    storage.save("p.dat", b"a")
    storage.save("p.dat", b"b")
    (flash / "p.dat").write_bytes(b"rotten")
    storage.save("p.dat", b"c")
    assert storage.load("p.dat") == b"c"
    (flash / "p.dat").unlink()
    assert storage.load("p.dat") == b"a"  # the corrupt copy never replaced the good .bak


class FaultyFs:
    """Counts the flash operations of save() and cuts power at operation `at`.

    Operations: each file write (a cut there tears it: half the octets land), each
    rename and each remove.
    """

    def __init__(self, monkeypatch, at):
        self.at = at
        self.ops = 0
        real_open = builtins.open
        real_rename = os.rename
        real_remove = os.remove
        fs = self

        def step():
            fs.ops += 1
            return fs.ops == fs.at

        class TornFile:
            def __init__(self, f):
                self.f = f

            def write(self, data):
                if step():
                    self.f.write(bytes(data)[: len(data) // 2])
                    self.f.close()
                    raise PowerCut
                return self.f.write(data)

            def __getattr__(self, name):
                return getattr(self.f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

        def fake_open(path, mode="r", *args, **kwargs):
            f = real_open(path, mode, *args, **kwargs)
            return TornFile(f) if "w" in mode else f

        def fake_rename(a, b):
            if step():
                raise PowerCut
            real_rename(a, b)

        def fake_remove(p):
            if step():
                raise PowerCut
            real_remove(p)

        monkeypatch.setattr(storage, "open", fake_open, raising=False)
        monkeypatch.setattr(os, "rename", fake_rename)
        monkeypatch.setattr(os, "remove", fake_remove)


@pytest.mark.parametrize("history,steps", [(0, 4), (1, 6), (2, 6)])
def test_storage_power_cut_at_every_step_keeps_last_good_value(flash, monkeypatch, history, steps):
    # `history` earlier saves (0: first save ever, 1: no .bak yet, 2: .bak present);
    # `steps` flash operations in the save under test (see FaultyFs)
    for at in range(1, steps + 2):
        for name in os.listdir(flash):
            os.remove(name)
        for i in range(history):
            storage.save("p.dat", b"value %d" % i)
        old = b"value %d" % (history - 1) if history else None
        new = b"value %d" % history
        with monkeypatch.context() as m:
            FaultyFs(m, at)
            try:
                storage.save("p.dat", new)
                finished = True
            except PowerCut:
                finished = False
        assert finished == (at > steps), at
        # reboot: whatever is on flash now must give the new value or the last good one
        got = storage.load("p.dat")
        if finished:
            assert got == new, at
        else:
            assert got == old, (at, got)
        # and the next save after the reboot works and is loadable
        storage.save("p.dat", b"after")
        assert storage.load("p.dat") == b"after"


def test_storage_power_cut_steps_are_all_exercised(flash, monkeypatch):
    storage.save("p.dat", b"v0")
    storage.save("p.dat", b"v1")
    with monkeypatch.context() as m:
        fs = FaultyFs(m, at=-1)
        storage.save("p.dat", b"v2")
    # 3 writes, remove .bak, rename p -> .bak, rename .tmp -> p
    assert fs.ops == 6


def test_storage_torn_tmp_is_ignored(flash):
    storage.save("p.dat", b"good")
    (flash / "p.dat.tmp").write_bytes(b"MS\x00\x09ha")
    assert storage.load("p.dat") == b"good"
    storage.save("p.dat", b"next")
    assert storage.load("p.dat") == b"next"
    assert not (flash / "p.dat.tmp").exists()


def test_storage_crash_between_renames_reads_bak(flash):
    # state after a cut between "p -> p.bak" and "p.tmp -> p"
    storage.save("p.dat", b"old")
    os.rename("p.dat", "p.dat.bak")
    (flash / "p.dat.tmp").write_bytes((flash / "p.dat.bak").read_bytes())
    assert storage.load("p.dat") == b"old"


@pytest.mark.micropython
def test_storage_save_load_on_micropython(micropython, tmp_path):
    code = """
from fsw import storage
import os
print(storage.load("p.dat"))
storage.save("p.dat", b"one")
storage.save("p.dat", bytearray(b"two\\x00"))
print(storage.load("p.dat"))
os.remove("p.dat")
print(storage.load("p.dat"))
print(sorted(os.listdir(".")))
"""
    out = micropython(code, cwd=str(tmp_path)).decode().splitlines()
    assert out == ["None", "b'two\\x00'", "b'one'", "['p.dat.bak']"]
    # and the files it wrote read back under CPython
    os.rename(tmp_path / "p.dat.bak", tmp_path / "q.dat")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert storage.load("q.dat") == b"one"
    finally:
        os.chdir(cwd)
