"""Uplink security and link-level drops end to end (PROTOCOL.md 1), on every selected target.

Every refused frame must be COUNTED (exactly one more in its drop_* counter of
HK structure 1, no other drop counter moving), security refusals REPORTED (a
high-severity ST5 security_rejected event naming reason, SPI, SN and floor), and
never dispatched (no ST1 report for the request it carried). "Never" is checked
with a ping sent after it: the board handles frames in order, so any report for
the refused frame would have come before the ping's completion.
"""

import os

import pytest

from ground import codec
from ground import dictionary as d
from ground.framing import cobs_encode, frame
from ground.security import seal, seal_clear
from hil.plugin import (
    EVENT_SECURITY,
    drop_delta,
    hk_obc,
    is_event,
    ping_barrier,
    raw_tc,
    send_raw,
    sealed,
    st1_for,
    wait_for,
)

REASON = {name: code for code, name in d.SECURITY_REASONS.items()}
WINDOW = 1024  # link.replay_window default
BLOCK = 64  # SNs reserved per write of replay.dat (fsw/security.py)


def ping_packet(link, **kwargs):
    return codec.encode_tc(17, 1, apid=1, seq_count=link.next_seq(), **kwargs)


def refused(link, body=None, wire=None, request_id=None, event=True):
    """Send one bad frame and return (event or None, every packet seen up to a ping barrier)."""
    seen = []
    send_raw(link, body, wire=wire)
    found = None
    if event:
        found = wait_for(link, lambda p: is_event(p, EVENT_SECURITY), seen=seen)
    seen += ping_barrier(link)
    if request_id is not None:
        assert st1_for(seen, request_id) == [], "a refused frame was dispatched"
    if not event:
        assert [p for p in seen if is_event(p, EVENT_SECURITY)] == []
    return found, seen


def check_counted(before, after, counter, frames_ok=2, tc_accepted=2):
    assert drop_delta(before, after) == {counter: 1}
    # the barrier ping and the one-shot, nothing for the refused frame
    assert after["frames_ok"] - before["frames_ok"] == frames_ok
    assert after["tc_accepted"] - before["tc_accepted"] == tc_accepted
    assert after["tc_rejected"] == before["tc_rejected"]


def check_event(ev, reason, spi, sn, floor=None):
    assert ev["subtype"] == 4  # high severity
    aux = ev["data"]["aux"]
    assert (aux["reason"], aux["spi"], aux["sn"]) == (REASON[reason], spi, sn), aux
    if floor is not None:
        assert aux["floor"] == floor, aux


# --- security refusals -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["mac", "packet", "header_sn"])
def test_flipped_bit_is_refused_as_bad_mac(flight, where):
    with flight.link() as link:
        before = hk_obc(link)
        floor = link.key.next_sn - 1  # every frame so far was accepted
        packet = ping_packet(link)
        body = bytearray(sealed(link, packet))
        sn = int.from_bytes(body[2:6], "big")
        if where == "header_sn":
            sn += 1  # unused and inside the window: only the MAC, which covers the header, can refuse it
            body[2:6] = sn.to_bytes(4, "big")
        else:
            body[{"mac": -3, "packet": 6 + 7}[where]] ^= 0x01  # packet: the TC's service octet
        ev, _ = refused(link, bytes(body), request_id=codec.request_id(packet))
        check_event(ev, "bad_mac", spi=link.key.spi, sn=sn, floor=floor)
        check_counted(before, hk_obc(link), "drop_bad_mac")


def test_unknown_spi_is_refused(flight):
    with flight.link() as link:
        before = hk_obc(link)
        packet = ping_packet(link)
        body = seal(packet, 7, 1, os.urandom(32))
        ev, _ = refused(link, body, request_id=codec.request_id(packet))
        check_event(ev, "unknown_spi", spi=7, sn=0, floor=0)  # SN not parsed for an unknown SPI
        check_counted(before, hk_obc(link), "drop_unknown_spi")


def test_replay_of_a_captured_frame_is_refused(flight):
    with flight.link() as link:
        packet = ping_packet(link)
        capture = sealed(link, packet)
        sn = int.from_bytes(capture[2:6], "big")
        rid = codec.request_id(packet)
        send_raw(link, capture)
        wait_for(link, lambda p: p["service"] == 1 and p["subtype"] == 7 and p["data"]["request_id"] == rid)
        before = hk_obc(link)
        ev, _ = refused(link, capture, request_id=rid)
        check_event(ev, "replay", spi=link.key.spi, sn=sn, floor=sn + 1)  # the one-shot came last
        check_counted(before, hk_obc(link), "drop_replay")


def test_sn_beyond_the_window_is_refused_as_replay(flight):
    with flight.link() as link:
        before = hk_obc(link)
        floor = link.key.next_sn - 1  # every frame so far was accepted
        packet = ping_packet(link)
        sn = floor + WINDOW + 1
        ev, _ = refused(link, sealed(link, packet, sn=sn), request_id=codec.request_id(packet))
        check_event(ev, "replay", spi=link.key.spi, sn=sn, floor=floor)
        check_counted(before, hk_obc(link), "drop_replay")


def test_sn_at_the_window_edge_is_accepted(flight):
    with flight.link() as link:
        floor = link.key.next_sn - 1
        packet = ping_packet(link)
        send_raw(link, sealed(link, packet, sn=floor + WINDOW))
        rid = codec.request_id(packet)
        wait_for(link, lambda p: p["service"] == 1 and p["subtype"] == 7 and p["data"]["request_id"] == rid)
        result = link.command("test.ping")  # the ground's SN is now behind the floor: it resyncs
        assert result.completed
        assert link.key.next_sn > floor + WINDOW


@pytest.mark.parametrize("hard", [False, True], ids=["terminate", "power_cut"])
def test_frame_captured_before_a_reboot_is_a_replay_after_it_and_the_link_resyncs(flight, hard):
    with flight.link() as link:
        packet = ping_packet(link)
        capture = sealed(link, packet)
        sn = int.from_bytes(capture[2:6], "big")
        rid = codec.request_id(packet)
        send_raw(link, capture)
        wait_for(link, lambda p: p["service"] == 1 and p["subtype"] == 7 and p["data"]["request_id"] == rid)

        flight.reboot(hard=hard)
        seen = []
        send_raw(link, capture)
        ev = wait_for(link, lambda p: is_event(p, EVENT_SECURITY), seen=seen)
        check_event(ev, "replay", spi=link.key.spi, sn=sn)
        floor = ev["data"]["aux"]["floor"]
        assert floor >= sn + 1  # the floor jumped past everything accepted before the reboot
        if flight.sitl is not None:
            assert floor == 1 + BLOCK  # fresh store: the first accepted SN reserved one block

        # GroundLink.send_packet: its own first try is a replay too; it jumps past the floor and resends
        sn_before = link.key.next_sn
        assert sn_before <= floor  # so the first try must be refused
        result = link.command("test.ping")
        assert result.completed
        assert link.key.next_sn == floor + 2  # the retry went out as floor + 1 and was accepted
        seen += result.packets
        after = hk_obc(link, seen)
        assert st1_for(seen, rid) == [], "the captured frame was dispatched after the reboot"
        # counters restart at boot: the captured frame and the ground's own first try
        assert drop_delta(dict.fromkeys(after, 0), after) == {"drop_replay": 2}
        assert after["frames_ok"] == 2 and after["tc_accepted"] == 2


def test_clear_mode_is_refused_while_security_is_on(flight):
    with flight.link() as link:
        before = hk_obc(link)
        packet = ping_packet(link)
        ev, _ = refused(link, seal_clear(packet), request_id=codec.request_id(packet))
        check_event(ev, "clear_refused", spi=0, sn=0)
        check_counted(before, hk_obc(link), "drop_clear")


def test_clear_mode_is_accepted_with_security_off(flight):
    board = flight.spawn(security=False)
    with board.link(clear=True) as link:
        result = link.command("test.ping")
        assert result.completed
        h = hk_obc(link)
        assert h["frames_ok"] == 2 and h["drop_clear"] == 0


def test_short_frame_is_refused(flight):
    with flight.link() as link:
        before = hk_obc(link)
        # SPI 1 and an SN but nothing else: shorter than header + primary header + MAC
        ev, _ = refused(link, b"\x00\x01\x00\x00\x00\x05" + b"\x11" * 4)
        check_event(ev, "short", spi=1, sn=0)
        check_counted(before, hk_obc(link), "drop_short")


# --- link-level drops (no event: the header cannot be trusted) -----------------------------


def test_garbage_between_frames_costs_only_itself(flight):
    with flight.link() as link:
        before = hk_obc(link)
        packet = ping_packet(link)
        rid = codec.request_id(packet)
        # 0x7f promises 126 octets; the delimiter comes after 5: malformed COBS. The good frame follows at once.
        wire = b"\x7fjunk!\x00" + frame(sealed(link, packet))
        seen = []
        send_raw(link, wire=wire)
        wait_for(link, lambda p: p["service"] == 1 and p["subtype"] == 7 and p["data"]["request_id"] == rid, seen=seen)
        assert [p for p in seen if is_event(p, EVENT_SECURITY)] == []
        check_counted(before, hk_obc(link), "drop_cobs", frames_ok=2, tc_accepted=2)


def test_oversize_frame_is_dropped(flight):
    with flight.link() as link:
        before = hk_obc(link)
        body = bytes((i % 255) + 1 for i in range(flight.max_frame + 16))
        refused(link, wire=cobs_encode(body) + b"\x00", event=False)
        check_counted(before, hk_obc(link), "drop_oversize")


def test_wrong_pec_under_a_right_mac_is_dropped_without_a_report(flight):
    with flight.link() as link:
        before = hk_obc(link)
        packet = bytearray(ping_packet(link))
        packet[-1] ^= 0xFF
        refused(link, sealed(link, bytes(packet)), request_id=codec.request_id(packet), event=False)
        check_counted(before, hk_obc(link), "drop_pec")


@pytest.mark.parametrize("delta", [+1, -1, +100])
def test_length_field_that_disagrees_is_dropped_without_a_report(flight, delta):
    with flight.link() as link:
        before = hk_obc(link)
        packet = raw_tc(17, 1, seq_count=link.next_seq(), data_len=6 + delta)  # PEC right for the octets sent
        refused(link, sealed(link, packet), request_id=codec.request_id(packet), event=False)
        check_counted(before, hk_obc(link), "drop_length")
