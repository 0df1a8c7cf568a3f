"""ground/keys.py: the uplink key store outside the repository."""

import json
import os
import stat

import pytest

from ground import REPO_ROOT
from ground.errors import KeyInvalid, KeyMissing, MitraError
from ground.keys import KeyStore, default_root, port_link_name


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    return KeyStore()


def test_root_follows_mitra_home(store, tmp_path):
    assert store.root == tmp_path / "home" / "keys"
    assert default_root() == tmp_path / "home" / "keys"


def test_root_defaults_to_local_share(monkeypatch, tmp_path):
    monkeypatch.delenv("MITRA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert KeyStore().root == tmp_path / ".local" / "share" / "mitra" / "keys"


def test_root_is_outside_the_repository(store):
    assert REPO_ROOT not in store.root.parents


def test_create_writes_json_file(store):
    link = store.create("pico1", spi=3)
    data = json.loads(store.path("pico1").read_text())
    assert data == {"spi": 3, "key": link.key.hex(), "next_sn": 1}
    assert len(link.key) == 32
    assert store.path("pico1") == store.root / "pico1.json"


def test_create_makes_private_dir_and_file(store):
    old = os.umask(0o022)
    try:
        store.create("pico1")
    finally:
        os.umask(old)
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path("pico1").stat().st_mode) == 0o600


def test_file_stays_private_after_take_sn(store):
    store.create("pico1").take_sn()
    assert stat.S_IMODE(store.path("pico1").stat().st_mode) == 0o600


def test_create_keys_are_random(store):
    assert store.create("a").key != store.create("b").key


def test_create_refuses_to_overwrite(store):
    first = store.create("pico1")
    with pytest.raises(KeyInvalid, match="already has a key"):
        store.create("pico1")
    assert store.load("pico1").key == first.key


def test_create_force_overwrites(store):
    first = store.create("pico1")
    second = store.create("pico1", force=True)
    assert second.key != first.key
    assert store.load("pico1").key == second.key


def test_create_rejects_spi_zero(store):
    with pytest.raises(KeyInvalid, match="SPI"):
        store.create("pico1", spi=0)


def test_load_round_trip(store):
    made = store.create("pico1", spi=2)
    loaded = store.load("pico1")
    assert (loaded.spi, loaded.key, loaded.next_sn) == (2, made.key, 1)


def test_load_missing_raises_typed_error_with_hint(store):
    with pytest.raises(KeyMissing, match="create one with") as info:
        store.load("nope")
    assert isinstance(info.value, MitraError)
    assert isinstance(info.value, ValueError)
    assert info.value.name == "nope"


def test_load_corrupt_file_raises(store):
    store.create("pico1")
    store.path("pico1").write_text('{"spi": 1, "key": "abcd", "next_sn": 1}')
    with pytest.raises(KeyInvalid, match="key is 2 bytes, expected 32"):
        store.load("pico1")


def test_take_sn_counts_up_and_persists(store):
    link = store.create("pico1")
    assert [link.take_sn() for _ in range(3)] == [1, 2, 3]
    assert store.load("pico1").next_sn == 4
    assert KeyStore(store.root).load("pico1").take_sn() == 4


def test_take_sn_persists_before_returning(store, monkeypatch):
    link = store.create("pico1")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        real_replace(src, dst)
        seen.append(json.loads(open(dst).read())["next_sn"])

    monkeypatch.setattr(os, "replace", spy)
    sn = link.take_sn()
    assert seen == [sn + 1]


def test_take_sn_never_reuses_across_two_handles(store):
    a = store.create("pico1")
    b = store.load("pico1")
    taken = [a.take_sn(), b.take_sn(), a.take_sn(), b.take_sn()]
    assert taken == [1, 2, 3, 4]


def test_take_sn_leaves_no_temp_files(store):
    link = store.create("pico1")
    for _ in range(5):
        link.take_sn()
    assert sorted(p.name for p in store.root.iterdir() if not p.name.endswith(".lock")) == ["pico1.json"]


def test_jump_past_raises_next_sn(store):
    link = store.create("pico1")
    link.jump_past(100)
    assert link.next_sn == 101
    assert store.load("pico1").take_sn() == 101


def test_jump_past_never_lowers(store):
    link = store.create("pico1")
    link.jump_past(50)
    link.jump_past(10)
    assert store.load("pico1").next_sn == 51


def test_delete(store):
    store.create("pico1")
    assert store.delete("pico1") is True
    assert store.delete("pico1") is False
    with pytest.raises(KeyMissing):
        store.load("pico1")


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden", "-x"])
def test_bad_names_rejected(store, name):
    with pytest.raises(KeyInvalid, match="bad link name"):
        store.path(name)


def test_repr_hides_key(store):
    link = store.create("pico1")
    assert link.key.hex() not in repr(link)


@pytest.mark.parametrize(
    "port, name",
    [("/dev/pts/5", "port-dev-pts-5"), ("/dev/ttyACM0", "port-dev-ttyACM0"), ("COM3", "port-COM3")],
)
def test_port_link_name(port, name):
    assert port_link_name(port) == name


# --- resync to a floor named on the (unauthenticated) downlink: try, then confirm or revert ---------


def test_try_sn_hands_out_the_sn_without_persisting_it(store):
    link = store.create("pico1")
    link.take_sn()
    assert link.try_sn(500) == 500
    assert link.next_sn == 501
    assert store.load("pico1").next_sn == 2  # the file keeps the last confirmed value


def test_confirm_sn_persists_the_tried_sn(store):
    link = store.create("pico1")
    link.try_sn(500)
    assert link.confirm_sn(500) == 501
    assert store.load("pico1").next_sn == 501


def test_revert_sn_goes_back_to_the_file(store):
    link = store.create("pico1")
    link.take_sn()
    link.try_sn(500)
    assert link.revert_sn() == 2
    assert link.take_sn() == 2


@pytest.mark.parametrize("sn", [0, 2**32, -1, "7", True])
def test_try_sn_refuses_an_sn_outside_u32(store, sn):
    link = store.create("pico1")
    with pytest.raises(KeyInvalid) as info:
        link.try_sn(sn)
    assert str(info.value) == "SN must be an integer in 1..4294967295, got %r" % (sn,)
    assert link.next_sn == 1


def test_set_next_sn_raises_and_persists(store):
    link = store.create("pico1")
    assert link.set_next_sn(70) == 70
    assert store.load("pico1").take_sn() == 70


def test_set_next_sn_lowering_needs_force(store):
    link = store.create("pico1", next_sn=100)
    with pytest.raises(KeyInvalid) as info:
        link.set_next_sn(10)
    assert "next SN 10 is below the stored 100" in str(info.value)
    assert store.load("pico1").next_sn == 100
    assert link.set_next_sn(10, force=True) == 10
    assert store.load("pico1").next_sn == 10
