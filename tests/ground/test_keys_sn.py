"""ground/keys_sn.py: `ground sn NAME [--floor F | --set SN] [--force]`, the operator's resync."""

import argparse

import pytest

from ground import keys_sn
from ground.errors import KeyInvalid, KeyMissing
from ground.keys import KeyStore


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    return KeyStore()


def run(*argv):
    parser = argparse.ArgumentParser(prog="ground")
    sub = parser.add_subparsers(dest="subcommand")
    p, handler = keys_sn.add_parser(sub)
    p.set_defaults(handler=handler)
    opts = parser.parse_args(["sn", *argv])
    return opts.handler(opts)


def test_sn_shows_the_next_sn(store, capsys):
    store.create("pico1", next_sn=42)
    assert run("pico1") == 0
    assert capsys.readouterr().out.startswith("pico1 next_sn=42 ")


def test_sn_floor_sets_the_next_sn_past_it(store, capsys):
    store.create("pico1", next_sn=42)
    assert run("pico1", "--floor", "1000") == 0
    assert capsys.readouterr().out == "pico1 next_sn 42 -> 1001\n"
    assert store.load("pico1").next_sn == 1001


def test_sn_lowering_is_refused_without_force(store):
    store.create("pico1", next_sn=5001)
    with pytest.raises(KeyInvalid):
        run("pico1", "--floor", "99")
    assert store.load("pico1").next_sn == 5001
    assert run("pico1", "--floor", "99", "--force") == 0
    assert store.load("pico1").next_sn == 100


def test_sn_of_an_unknown_link_says_so(store):
    with pytest.raises(KeyMissing):
        run("nope")


def test_sn_floor_outside_u32_is_an_argument_error(store, capsys):
    store.create("pico1")
    with pytest.raises(SystemExit):
        run("pico1", "--floor", str(2**32))
    assert "outside 0..4294967295" in capsys.readouterr().err
