"""fsw.security (board) and ground.security (seal/unseal): PROTOCOL.md 1, Security layer."""

import hashlib
import hmac
import json
import os

import pytest

from fsw import security, storage
from fsw.security import (
    BAD_MAC,
    CLEAR_REFUSED,
    OK,
    REPLAY,
    SHORT,
    STORE_FAILED,
    UNKNOWN_SPI,
    Security,
    load_keys,
)
from ground import security as gsec
from ground.errors import SecurityError

KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))
KEYS = {1: KEY1, 2: KEY2}
# a PUS-C TC(17,1) to APID 0x001: primary header | secondary header | PEC
PACKET = bytes.fromhex("1801c0000006" "2f1101" "0000" "abcd")


@pytest.fixture
def flash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def saves(monkeypatch):
    """Counts storage writes made by fsw.security."""
    calls = []
    real = storage.save

    def counting(name, data):
        calls.append((name, bytes(data)))
        real(name, data)

    monkeypatch.setattr(storage, "save", counting)
    return calls


def check(sec, body):
    frame = bytearray(1024)
    frame[: len(body)] = body
    return sec.check(frame, len(body))


def counters(sec):
    return (sec.accepted, sec.rej_short, sec.rej_clear, sec.rej_unknown_spi, sec.rej_replay, sec.rej_bad_mac, sec.rej_store)


def test_security_seal_layout_is_spi_sn_packet_mac():
    body = gsec.seal(PACKET, 1, 0x01020304, KEY1)
    assert body[:2] == b"\x00\x01"  # SPI
    assert body[2:6] == b"\x01\x02\x03\x04"  # SN
    assert body[6:-16] == PACKET
    assert body[-16:] == hmac.new(KEY1, body[:-16], hashlib.sha256).digest()[:16]
    assert gsec.seal_clear(PACKET) == b"\x00\x00" + PACKET


def test_security_accepts_good_frame_and_spans_packet(flash):
    sec = Security(KEYS)
    body = gsec.seal(PACKET, 1, 1, KEY1)
    frame = bytearray(body)
    assert sec.check(frame, len(frame)) == OK
    assert bytes(frame[sec.pkt_start : sec.pkt_end]) == PACKET
    assert (sec.spi, sec.sn, sec.floor(1), sec.floor(2)) == (1, 1, 1, 0)
    assert counters(sec) == (1, 0, 0, 0, 0, 0, 0)


def test_security_checks_only_first_n_octets_of_a_larger_buffer(flash):
    sec = Security(KEYS)
    assert check(sec, gsec.seal(PACKET, 2, 5, KEY2)) == OK
    assert (sec.pkt_start, sec.pkt_end) == (6, 6 + len(PACKET))


@pytest.mark.parametrize("where", ["mac", "packet", "sn", "spi_to_other_key"])
def test_security_bad_mac_is_rejected_counted_and_floor_unchanged(flash, where):
    sec = Security(KEYS)
    assert check(sec, gsec.seal(PACKET, 1, 1, KEY1)) == OK
    body = bytearray(gsec.seal(PACKET, 1, 2, KEY1))
    if where == "mac":
        body[-1] ^= 0x80
    elif where == "packet":
        body[8] ^= 0x01
    elif where == "sn":
        body[5] = 3
    else:
        body[1] = 2  # valid SPI, MAC made with the other key
    assert check(sec, bytes(body)) == BAD_MAC
    assert counters(sec) == (1, 0, 0, 0, 0, 1, 0)
    assert sec.floor(1) == 1 and sec.floor(2) == 0
    # the genuine SN 2 is still accepted afterwards
    assert check(sec, gsec.seal(PACKET, 1, 2, KEY1)) == OK


def test_security_unknown_spi_is_rejected(flash):
    sec = Security(KEYS)
    assert check(sec, gsec.seal(PACKET, 7, 1, KEY1)) == UNKNOWN_SPI
    assert (sec.spi, sec.sn) == (7, -1)
    assert counters(sec) == (0, 0, 0, 1, 0, 0, 0)


def test_security_replay_of_same_frame_is_rejected(flash):
    sec = Security(KEYS)
    body = gsec.seal(PACKET, 1, 10, KEY1)
    assert check(sec, body) == OK
    assert check(sec, body) == REPLAY
    assert check(sec, gsec.seal(PACKET, 1, 9, KEY1)) == REPLAY  # older SN, valid MAC
    assert counters(sec) == (1, 0, 0, 0, 2, 0, 0)
    assert sec.floor(1) == 10


def test_security_sn_window_edges(flash):
    sec = Security(KEYS, window=100)
    assert check(sec, gsec.seal(PACKET, 1, 101, KEY1)) == REPLAY  # last 0: window is (0, 100]
    assert check(sec, gsec.seal(PACKET, 1, 100, KEY1)) == OK
    assert check(sec, gsec.seal(PACKET, 1, 201, KEY1)) == REPLAY
    assert check(sec, gsec.seal(PACKET, 1, 200, KEY1)) == OK
    assert sec.floor(1) == 200
    assert sec.rej_replay == 2


def test_security_spis_have_independent_floors(flash):
    sec = Security(KEYS)
    assert check(sec, gsec.seal(PACKET, 1, 50, KEY1)) == OK
    assert check(sec, gsec.seal(PACKET, 2, 1, KEY2)) == OK
    assert (sec.floor(1), sec.floor(2)) == (50, 1)


def test_security_clear_frame_refused_when_enabled(flash):
    sec = Security(KEYS)
    assert check(sec, gsec.seal_clear(PACKET)) == CLEAR_REFUSED
    assert counters(sec) == (0, 0, 1, 0, 0, 0, 0)


def test_security_clear_frame_accepted_when_disabled(flash):
    sec = Security(KEYS, enabled=False)
    assert check(sec, gsec.seal_clear(PACKET)) == OK
    assert (sec.pkt_start, sec.pkt_end, sec.spi) == (2, 2 + len(PACKET), 0)
    # secured frames are still checked when security is off
    assert check(sec, gsec.seal(PACKET, 1, 1, KEY1)) == OK
    assert check(sec, gsec.seal(PACKET, 1, 1, KEY1)) == REPLAY


@pytest.mark.parametrize(
    "body,enabled",
    [
        (b"", True),
        (b"\x00", True),
        (b"\x00\x00\x18\x01\xc0\x00\x00", False),  # clear: SPI + 5 octets
        (gsec.seal(PACKET[:5], 1, 1, KEY1), True),  # 5 + 22 octets
        (b"\x00\x01" + bytes(25), True),
    ],
)
def test_security_short_frame_is_rejected(flash, body, enabled):
    sec = Security(KEYS, enabled=enabled)
    assert check(sec, body) == SHORT
    assert counters(sec) == (0, 1, 0, 0, 0, 0, 0)


def test_security_minimum_frame_is_accepted(flash):
    sec = Security(KEYS)
    assert check(sec, gsec.seal(PACKET[:6], 1, 1, KEY1)) == OK  # 6 + 6 + 16 octets


def test_security_replay_after_reboot_is_rejected(flash):
    sec = Security(KEYS, block=64)
    captured = [gsec.seal(PACKET, 1, sn, KEY1) for sn in range(1, 11)]
    for body in captured:
        assert check(sec, body) == OK
    # reboot: a new Security from the same flash
    sec = Security(KEYS, block=64)
    assert sec.floor(1) == 65  # reserved block: SNs 11..65 are burned
    for body in captured:
        assert check(sec, body) == REPLAY
    assert check(sec, gsec.seal(PACKET, 1, 65, KEY1)) == REPLAY
    assert check(sec, gsec.seal(PACKET, 1, 66, KEY1)) == OK


def test_security_replay_after_reboot_at_block_boundary(flash):
    sec = Security(KEYS, block=4)
    for sn in range(1, 7):  # persists reserved 5 at SN 1, 10 at SN 6
        assert check(sec, gsec.seal(PACKET, 1, sn, KEY1)) == OK
    sec = Security(KEYS, block=4)
    assert sec.floor(1) == 10
    assert check(sec, gsec.seal(PACKET, 1, 6, KEY1)) == REPLAY
    assert check(sec, gsec.seal(PACKET, 1, 11, KEY1)) == OK


def test_security_persists_once_per_block(flash, saves):
    sec = Security(KEYS, block=64)
    assert saves == []
    for sn in range(1, 201):
        assert check(sec, gsec.seal(PACKET, 1, sn, KEY1)) == OK
    # SN 1 reserves up to 65, SN 66 to 130, SN 131 to 195, SN 196 to 260
    assert len(saves) == 4
    assert all(name == "replay.dat" for name, _ in saves)
    sec = Security(KEYS, block=64)
    assert sec.floor(1) == 260 and sec.floor(2) == 0
    # rejected frames never write
    check(sec, gsec.seal(PACKET, 1, 100, KEY1))
    check(sec, gsec.seal(PACKET, 1, 1000, KEY1)[:-1] + b"\x00")
    assert len(saves) == 4


def test_security_replay_file_layout(flash):
    sec = Security({1: KEY1}, block=10)
    assert check(sec, gsec.seal(PACKET, 1, 3, KEY1)) == OK
    # one record per SPI: SPI u16 | reserved u32
    assert storage.load("replay.dat") == b"\x00\x01\x00\x00\x00\x0d"


def test_security_store_failure_refuses_frame(flash, monkeypatch):
    sec = Security(KEYS)
    real = storage.save

    def broken(name, data):
        raise OSError(28, "no space")

    monkeypatch.setattr(storage, "save", broken)
    assert check(sec, gsec.seal(PACKET, 1, 1, KEY1)) == STORE_FAILED
    assert sec.floor(1) == 0 and sec.rej_store == 1
    monkeypatch.setattr(storage, "save", real)  # not undo(): that would also leave the flash dir
    assert check(sec, gsec.seal(PACKET, 1, 1, KEY1)) == OK


def test_security_corrupt_replay_file_falls_back_to_bak(flash):
    sec = Security(KEYS, block=4)
    for sn in range(1, 7):
        check(sec, gsec.seal(PACKET, 1, sn, KEY1))
    (flash / "replay.dat").write_bytes(b"torn")
    sec = Security(KEYS, block=4)
    assert sec.floor(1) == 5  # the previous reserved block, still past SNs 1..5
    assert check(sec, gsec.seal(PACKET, 1, 5, KEY1)) == REPLAY


def test_security_load_keys_reads_hex_json(flash):
    (flash / "keys.json").write_text(json.dumps({"1": KEY1.hex(), "3": KEY2.hex()}))
    assert load_keys() == {1: KEY1, 3: KEY2}


def test_security_load_keys_missing_file_gives_empty(flash):
    assert load_keys() == {}
    assert load_keys("nope.json") == {}


def test_security_load_keys_rejects_short_key(flash):
    (flash / "keys.json").write_text(json.dumps({"1": "00ff"}))
    with pytest.raises(ValueError):
        load_keys()


# --- ground unseal ------------------------------------------------------------------


def test_security_unseal_round_trips():
    assert gsec.unseal(gsec.seal(PACKET, 2, 77, KEY2), KEYS) == (2, 77, PACKET)
    assert gsec.unseal(gsec.seal_clear(PACKET), KEYS) == (0, None, PACKET)


def test_security_unseal_rejects_bad_mac():
    body = bytearray(gsec.seal(PACKET, 1, 1, KEY1))
    body[7] ^= 1
    with pytest.raises(SecurityError) as e:
        gsec.unseal(bytes(body), KEYS)
    assert (e.value.reason, e.value.spi, e.value.got) == ("bad_mac", 1, bytes(body[-16:]))


def test_security_unseal_rejects_unknown_spi():
    with pytest.raises(SecurityError) as e:
        gsec.unseal(gsec.seal(PACKET, 9, 1, KEY1), KEYS)
    assert (e.value.reason, e.value.expected, e.value.got) == ("unknown_spi", [1, 2], 9)


@pytest.mark.parametrize("body,need", [(b"\x00", 2), (b"\x00\x00\x01", 8), (b"\x00\x01" + bytes(20), 28)])
def test_security_unseal_rejects_short(body, need):
    with pytest.raises(SecurityError) as e:
        gsec.unseal(body, KEYS)
    assert (e.value.reason, e.value.expected, e.value.got) == ("short", need, len(body))


@pytest.mark.parametrize("spi,sn,key,reason", [(0, 1, KEY1, "spi"), (0x10000, 1, KEY1, "spi"), (1, 0, KEY1, "sn"), (1, 2**32, KEY1, "sn"), (1, 1, KEY1[:31], "key")])
def test_security_seal_rejects_bad_arguments(spi, sn, key, reason):
    with pytest.raises(SecurityError) as e:
        gsec.seal(PACKET, spi, sn, key)
    assert e.value.reason == reason


# --- the board on MicroPython ----------------------------------------------------------

_MP_CHECK = """
import sys, binascii
from fsw.security import Security, load_keys
sec = Security(load_keys(), block=%d)
frame = bytearray(1024)
for line in sys.stdin:
    body = binascii.unhexlify(line.strip())
    frame[0:len(body)] = body
    r = sec.check(frame, len(body))
    pkt = binascii.hexlify(frame[sec.pkt_start:sec.pkt_end]).decode() if r == 0 else "-"
    print(r, sec.spi, sec.sn, sec.floor(1), pkt)
print(sec.accepted, sec.rej_short, sec.rej_clear, sec.rej_unknown_spi, sec.rej_replay, sec.rej_bad_mac, sec.rej_store)
"""


@pytest.mark.micropython
def test_security_ground_seal_accepted_by_board_on_micropython(micropython, flash):
    (flash / "keys.json").write_text(json.dumps({"1": KEY1.hex(), "2": KEY2.hex()}))
    bad = bytearray(gsec.seal(PACKET, 1, 3, KEY1))
    bad[-5] ^= 0x10
    bodies = [
        gsec.seal(PACKET, 1, 1, KEY1),
        gsec.seal(PACKET, 1, 1, KEY1),  # replay
        bytes(bad),
        gsec.seal(PACKET, 1, 3, KEY1),
        gsec.seal(PACKET, 9, 4, KEY1),
        gsec.seal_clear(PACKET),
        b"\x00\x01\x00",
        gsec.seal(PACKET * 3, 1, 9, KEY1),
    ]
    stdin = "".join(b.hex() + "\n" for b in bodies).encode()
    out = micropython(_MP_CHECK % 4, stdin=stdin, cwd=str(flash)).decode().splitlines()
    p = PACKET.hex()
    assert out == [
        "0 1 1 1 " + p,
        "3 1 1 1 -",
        "2 1 3 1 -",
        "0 1 3 3 " + p,
        "1 9 -1 3 -",
        "5 0 -1 3 -",
        "4 1 -1 3 -",
        "0 1 9 9 " + p * 3,
        "3 1 1 1 1 1 0",  # accepted, short, clear, unknown SPI, replay, bad MAC, store
    ]
    # CPython's board gives the same verdicts on the same frames (fresh flash)
    os.remove("replay.dat")
    os.remove("replay.dat.bak")
    sec = Security(load_keys(), block=4)
    assert [check(sec, b) for b in bodies] == [OK, REPLAY, BAD_MAC, OK, UNKNOWN_SPI, CLEAR_REFUSED, SHORT, OK]
    # reboot on MicroPython after the CPython run: the files are shared, replays refused
    out = micropython(_MP_CHECK % 4, stdin=bodies[7].hex().encode() + b"\n", cwd=str(flash)).decode().splitlines()
    assert out[0] == "3 1 9 13 -"
