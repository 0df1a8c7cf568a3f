"""The ground's resync against a forged downlink (issue 11 item 2), on every selected target.

The downlink is not authenticated: a security_rejected event naming a floor is a claim anyone
on the line can make. A man in the middle (ForgingPort, between GroundLink and the board's
port) answers a TC with a forged `replay` rejection naming a floor of its choosing, ahead of
the board's own answer. The ground may follow such a floor by at most one replay window and
keeps the move only once the board reports on the retry (ground/link.py, README Uplink
security); whatever the forger names, the next real command must get through.
"""

import pytest

from ground import codec
from ground import dictionary as d
from ground.framing import cobs_decode, frame
from ground.keys import SN_MAX, KeyStore
from ground.link import DEFAULT_REPLAY_WINDOW, Rejected
from hil.plugin import EVENT_SECURITY

REPLAY = d.SECURITY_REASON_BY_NAME["replay"]
WINDOW = DEFAULT_REPLAY_WINDOW  # the board's link.replay_window default, and the ground's resync bound


class ForgingPort:
    """Answers the next `times` TC frames written with a forged replay rejection of their SN naming
    floor `forge(sn)`, read before anything the board sends; `swallow`: those frames never reach
    the board either (so no report on them can come). Everything else passes through."""

    def __init__(self, port, forge, times=1, swallow=False):
        self.port = port
        self.forge = forge
        self.times = times
        self.swallow = swallow
        self.forged = []  # (sn, floor) of each forged event
        self._inject = b""

    def write(self, data):
        if self.times <= 0:
            self.port.write(data)
            return
        self.times -= 1
        if not self.swallow:
            self.port.write(data)
        body = cobs_decode(data.strip(b"\x00").split(b"\x00")[-1])
        spi, sn = int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:6], "big")
        floor = self.forge(sn)
        self.forged.append((sn, floor))
        aux = {"reason": REPLAY, "spi": spi, "sn": sn, "floor": floor}
        self._inject += frame(codec.encode_tm(5, 4, {"event_id": EVENT_SECURITY, "aux": aux}))

    def read(self, n=1):
        if self._inject:
            out, self._inject = self._inject[:n], self._inject[n:]
            return out
        return self.port.read(n)

    @property
    def in_waiting(self):
        return len(self._inject) + self.port.in_waiting

    def flush(self):
        self.port.flush()

    def reset_input_buffer(self):
        self._inject = b""
        self.port.reset_input_buffer()

    def close(self):
        self.port.close()


def forge_on(link, forge, swallow=False):
    link.serial = ForgingPort(link.serial, forge, swallow=swallow)
    return link.serial


def stored_sn(flight):
    return KeyStore().load(flight.key_name).next_sn


BEYOND = {"sn+5000": lambda sn: sn + 5000, "near_2^32": lambda sn: SN_MAX - 1, "2^32-1": lambda sn: SN_MAX}
PATIENT_S = 30.0  # ack window of a link that must see the board's reports before it acts (a safety net, not a measure)


@pytest.mark.parametrize("forge", list(BEYOND.values()), ids=list(BEYOND))
def test_forged_floor_beyond_the_window_is_not_followed_when_the_board_took_the_tc(flight, forge):
    with flight.link(ack_window_s=PATIENT_S) as link:
        link.command("test.ping")
        port = forge_on(link, forge)
        assert link.command("test.ping").completed  # the board's reports on it outweigh the claim
        (sn, floor), = port.forged
        assert link.key.next_sn == sn + 1 == stored_sn(flight)  # only the SN of the TC itself was spent
        assert link.command("test.ping").completed


@pytest.mark.parametrize("forge", list(BEYOND.values()), ids=list(BEYOND))
def test_forged_floor_beyond_the_window_moves_nothing_and_the_next_command_gets_through(flight, forge):
    with flight.link() as link:
        link.command("test.ping")
        port = forge_on(link, forge, swallow=True)  # the board never sees the TC: nothing contradicts the claim
        with pytest.raises(Rejected) as info:
            link.command("test.ping")
        (sn, floor), = port.forged
        assert "beyond the resync bound of %d: not followed" % WINDOW in str(info.value)
        assert link.key.next_sn == sn + 1 == stored_sn(flight)
        assert link.command("test.ping").completed  # sn + 1: inside the board's window
        assert link.key.next_sn == sn + 2 == stored_sn(flight)


def test_forged_floor_inside_the_window_is_not_followed_when_the_board_took_the_tc(flight):
    with flight.link(ack_window_s=PATIENT_S) as link:
        link.command("test.ping")
        port = forge_on(link, lambda sn: sn + 100)
        result = link.command("test.ping")
        assert result.completed
        (sn, floor), = port.forged
        assert link.key.next_sn == sn + 1 == stored_sn(flight)  # no resync, and no second run of the TC
        assert link.command("test.ping").completed


def test_forged_floor_inside_the_window_costs_at_most_a_window_and_the_link_stays_in_step(flight):
    with flight.link() as link:
        link.command("test.ping")
        # the farthest floor whose floor + 1 the board's window (last = sn - 1) still holds
        port = forge_on(link, lambda sn: sn + WINDOW - 2, swallow=True)
        result = link.command("test.ping")  # retried under floor + 1, with a fresh request ID
        assert result.completed
        (sn, floor), = port.forged
        assert link.key.next_sn == floor + 2 == stored_sn(flight)  # the board reported on the retry: kept
        assert link.key.next_sn - (sn + 1) < WINDOW
        assert link.command("test.ping").completed


def test_forged_floor_the_board_does_not_confirm_is_forgotten(flight):
    # a board whose window (16) is smaller than the ground's bound: the retry lands outside it, the
    # board refuses it and names its real floor; the ground goes back to its stored SN
    window = d.PARAM_BY_NAME["link.replay_window"].id
    with flight.link() as link:
        link.command("param.set", {"params": [{"param_id": window, "value": 16}]})
        port = forge_on(link, lambda sn: sn + 100, swallow=True)
        with pytest.raises(Rejected) as info:
            link.command("test.ping")
        (sn, floor), = port.forged
        real = info.value.event["data"]["aux"]
        assert (real["sn"], real["floor"]) == (floor + 1, sn - 1)  # the board's own event, about the retry
        assert link.key.next_sn == sn + 1 == stored_sn(flight)  # the unconfirmed SN was not kept
        assert link.command("test.ping").completed
        link.command("param.set", {"params": [{"param_id": window, "value": WINDOW}]})


def test_real_reboot_resync_still_follows_the_board(flight):
    # the board's genuine floor after a reboot lies one reserved block ahead: within the bound
    with flight.link() as link:
        link.command("test.ping")
        flight.reboot()
        before = link.key.next_sn
        assert link.command("test.ping").completed  # refused as a replay, then retried past the floor
        assert before < link.key.next_sn <= before + WINDOW
        assert link.key.next_sn == stored_sn(flight)  # confirmed by the board's reports on the retry
        assert link.command("test.ping").completed
