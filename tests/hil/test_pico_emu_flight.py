"""The rig's pico-emu target: the flight app on the emulated Pico's littlefs, talked to over its pty.

`flight` here is always the pico-emu target, whatever --target says (the HIL suite runs on it
with `pytest --target pico-emu`). Slow: the first run builds the RPI_PICO firmware and copies
the app's .mpy onto a flash image (cached, build/pico-emu/); then about 5 s a test.
"""

import pytest

from hil.plugin import EVENT_BOOT, hk_obc, is_event, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.mitra_targets("pico-emu")]


def test_ping_and_housekeeping_from_the_emulated_pico(flight):
    assert flight.target == "pico-emu" and flight.sitl is None and flight.emu is not None
    with flight.link() as link:
        result = link.command("test.ping")
        assert [p["name"] for p in result.telemetry] == ["test.pong"]
        hk = hk_obc(link)
    assert hk["boot_count"] == 1
    assert hk["tc_accepted"] == 2 and hk["tc_rejected"] == 0
    assert hk["drop_bad_mac"] == 0
    # the flight app runs from littlefs on the real firmware: its heap, as the board reports it
    assert 0 < hk["heap_free"] < 264 * 1024


def test_reboot_is_a_power_cycle_with_the_same_flash(flight):
    with flight.link() as link:  # open across the power cycle, as a ground station's port stays
        assert hk_obc(link)["boot_count"] == 1
        flight.reboot()
        assert flight.emu.last_boot["cause"] == "power"
        boot = wait_for(link, lambda p: is_event(p, EVENT_BOOT), timeout=30)
        assert boot["data"]["aux"] == {"boot_count": 2, "cause": 0}  # power-on, from machine.reset_cause()
        assert hk_obc(link)["boot_count"] == 2  # counted on the board's littlefs across the cycle


def test_spawn_flies_a_second_emulated_pico_with_security_off(flight):
    board = flight.spawn(security=False)
    assert board.target == "pico-emu" and board.emu is not flight.emu and board.port != flight.port
    assert board.security is False
    with board.link(clear=True) as link:
        assert link.command("test.ping").completed
        assert hk_obc(link)["drop_clear"] == 0
    with pytest.raises(pytest.skip.Exception, match="cannot take .*program"):
        flight.spawn(program="elsewhere.py")
