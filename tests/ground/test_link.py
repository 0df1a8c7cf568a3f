"""ground/link.py: a TC longer than the board's frame is refused before anything is sent
(issue 11 item 6): the board would drop it without a report and the ground would wait for one
that cannot come. The frame body counted is what the board counts: security header, packet, MAC.
"""

import pytest

from ground import codec
from ground import dictionary as d
from ground.errors import FramingError
from ground.framing import cobs_decode
from ground.keys import KeyStore
from ground.link import BoardSilent, GroundLink


class SilentPort:
    """A serial port that records writes and never answers."""

    def __init__(self):
        self.written = b""
        self.in_waiting = 0

    def write(self, data):
        self.written += data

    def flush(self):
        pass

    def read(self, n=1):
        return b""

    def reset_input_buffer(self):
        pass

    def close(self):
        pass


def _intervals(n):
    return {"intervals": [{"sid": 1, "interval_ms": 1000} for _ in range(n)]}


def _link(key=True, **kwargs):
    port = SilentPort()
    lk = KeyStore().create("test") if key else None
    return GroundLink("/dev/fake", key=lk, serial_port=port, ack_window_s=0.0, **kwargs), port


def _size(n):
    # hk.change_interval of n items: primary 6 + TC secondary 5 + count 1 + n * (SID u16 + interval u32) + PEC 2,
    # sealed: + SPI u16 + SN u32 + MAC 16
    return 6 + 5 + 1 + 6 * n + 2 + 6 + 16


pytestmark = pytest.mark.usefixtures("mitra_home")  # tests/ground/conftest.py


def test_link_refuses_a_tc_over_the_1024_octet_frame_before_sending_or_taking_an_sn():
    link, port = _link()
    assert _size(165) == 1026
    with pytest.raises(FramingError) as info:
        link.command("hk.change_interval", _intervals(165), timeout=0.1)
    assert str(info.value) == "hk.change_interval: the TC would be a 1026-octet frame, over the board's limit of 1024 octets: send it with fewer items"
    assert (info.value.reason, info.value.expected, info.value.got) == ("oversize", 1024, 1026)
    assert port.written == b""
    assert link.key.next_sn == 1  # no sequence number burnt


def test_link_sends_a_tc_whose_frame_is_exactly_at_the_limit():
    link, port = _link(max_frame=_size(164))
    with pytest.raises(BoardSilent):  # sent; the port never answers
        link.command("hk.change_interval", _intervals(164), timeout=0.0)
    assert len(cobs_decode(port.written.strip(b"\x00"))) == _size(164)
    assert link.key.next_sn == 2


def test_link_limit_is_the_boards_own_when_it_declares_less():
    link, port = _link(max_frame=240)
    with pytest.raises(FramingError, match=r"a 276-octet frame, over the board's limit of 240 octets"):
        link.command("hk.change_interval", _intervals(40), timeout=0.1)
    assert port.written == b""


def test_link_in_clear_mode_counts_the_spi_only():
    link, port = _link(key=False, max_frame=240)
    # clear mode: SPI 0 (2 octets) in front of the packet, no SN, no MAC
    assert link.frame_size(codec.encode_command(d.command("hk.change_interval"), _intervals(36))) == 6 + 5 + 1 + 216 + 2 + 2
    link.check_size(codec.encode_command(d.command("hk.change_interval"), _intervals(37)))  # 238: fits
    with pytest.raises(FramingError, match="a 244-octet frame"):
        link.command("hk.change_interval", _intervals(38), timeout=0.1)
    assert port.written == b""


def test_link_send_packet_of_a_raw_tc_is_checked_too():
    link, port = _link(max_frame=64)
    raw = codec.encode_command(d.command("hk.one_shot"), {"sids": [{"sid": 1}] * 20})
    with pytest.raises(FramingError, match="^TC: the TC would be a 76-octet frame"):
        link.send_packet(raw, timeout=0.1)
    assert port.written == b""


def test_cli_send_of_a_tc_over_the_frame_says_so_in_one_line_and_writes_nothing(capsys, silent_pty):
    import select

    from ground.cli import main

    port, master = silent_pty
    KeyStore().create("test")
    code = main(["send", "--port", port, "--key", "test", "hk.change_interval", *["obc:1000"] * 165])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err == ["ground: hk.change_interval: the TC would be a 1026-octet frame, over the board's limit of 1024 octets: send it with fewer items"]
    assert select.select([master], [], [], 0)[0] == []  # not one octet went to the board
    assert KeyStore().load("test").next_sn == 1


@pytest.mark.parametrize("board, items, frame, limit", [("esp32-devkitc", 40, 276, 240), ("rp2-pico", 165, 1026, 1024)])
def test_cli_send_refuses_by_the_boards_own_frame_limit(board, items, frame, limit, capsys, silent_pty):
    # --board: the board file's link section sets the limit (esp32-devkitc: 240 octets, rp2-pico: 1024)
    import select

    from ground.cli import main

    port, master = silent_pty
    KeyStore().create("test")
    code = main(["send", "--port", port, "--key", "test", "--board", board, "--no-archive",
                 "hk.change_interval", *["obc:1000"] * items])
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "ground: hk.change_interval: the TC would be a %d-octet frame, over the board's limit of %d octets: "
        "send it with fewer items" % (frame, limit)]
    assert select.select([master], [], [], 0)[0] == []


def test_link_settings_come_from_the_board_file_unless_given():
    import argparse

    from ground.args import add_link_options, link_settings

    p = argparse.ArgumentParser()
    add_link_options(p)
    assert link_settings(p.parse_args(["--port", "x", "--board", "esp32-devkitc"])) == {
        "baud": 115200, "ack_window_s": 1.0, "max_frame": 240}
    assert link_settings(p.parse_args(["--port", "x"])) == {"baud": 921600, "ack_window_s": 0.5, "max_frame": 1024}
    assert link_settings(p.parse_args(["--port", "x", "--board", "esp32-devkitc", "--baud", "9600", "--ack-window", "0"])) == {
        "baud": 9600, "ack_window_s": 0.0, "max_frame": 240}


def test_cli_send_with_an_unknown_board_is_one_line_before_the_port_is_opened(capsys):
    from ground.cli import main

    code = main(["send", "--port", "/dev/nonexistent-port", "--board", "nope", "test.ping"])
    assert code != 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("ground: unknown board 'nope' (known boards: ")
