"""ST13 large-data downlink end to end on every selected target (hil.plugin `flight`): the
board's event log (TC 13.128 downlink_log) goes down in parts and is reassembled on the
ground byte for byte against the board's own size and CRC; parts dropped on the ground side
are asked for again (TC 13.129) and recovered; refusals carry their exact error; and
`ground fetch` resumes a transaction and writes the product file. Waits are safety nets."""

import pytest

from ground import dictionary as d
from ground.cli import main as ground_main
from ground.link import CommandFailed
from ground.transfer import crc16, fetch, is_part, is_started
from hil.plugin import collect, wait_for

P_MIN_SEVERITY = d.PARAM_BY_NAME["obc.event_min_severity"].id


def fill_log(link, events=30):
    """Make the board emit `events` param_changed events with one TC (the log grows past a few parts)."""
    link.command("param.set", {"params": [{"param_id": P_MIN_SEVERITY, "value": 1}] * events})


def downlink_log(link):
    """TC 13.128; returns (transfer_started aux, packets read meanwhile)."""
    result = link.command("large.downlink_log")
    (ev,) = [p["data"]["aux"] for p in result.telemetry if is_started(p)]
    assert ev["product"] == 3
    return ev, result.packets


def check_log(ev, data):
    assert (len(data), crc16(data)) == (ev["size"], ev["crc"])  # the board's own figures
    lines = data.decode().splitlines()
    assert lines[0].startswith("# mitra event log")
    assert any(" event=%d " % d.EVENT_BY_NAME["param_changed"].id in line for line in lines[1:])


def test_st13_downlink_log_reassembles_byte_exact(flight):
    with flight.link() as link:
        fill_log(link)
        ev, seen = downlink_log(link)
        assert ev["parts"] >= 5
        t = fetch(link, ev["transaction"], resend_first=False, seen=seen, quiet=1.0, retries=0)
        assert t.total == ev["parts"] and t.duplicates == 0
        check_log(ev, t.data())
        assert max(len(bytes(x)) for x in t.parts.values()) <= flight.max_frame


def test_st13_lost_parts_are_asked_again_and_recovered(flight):
    with flight.link() as link:
        fill_log(link)
        ev, seen = downlink_log(link)
        dropped = []
        lose = {1, 3, ev["parts"] - 1}  # two intermediate parts and the last one

        def keep(p):
            if is_part(p) and p["data"]["part"] in lose:
                lose.discard(p["data"]["part"])  # lost on the first trip only
                dropped.append(p["data"]["part"])
                return False
            return True

        requests = []
        t = fetch(link, ev["transaction"], resend_first=False, seen=seen, quiet=1.0, retries=3, keep=keep, log=requests.append)
        assert sorted(dropped) == sorted({1, 3, ev["parts"] - 1})
        assert requests == ["resend 1: 1, 3, %d" % (ev["parts"] - 1)]
        check_log(ev, t.data())


def test_st13_resend_of_every_part_matches_the_first_downlink(flight):
    with flight.link() as link:
        fill_log(link, 10)
        ev, seen = downlink_log(link)
        first = fetch(link, ev["transaction"], resend_first=False, seen=seen, quiet=1.0, retries=0).data()
        again = fetch(link, ev["transaction"], quiet=1.0, retries=0)  # asks for every part: read back from flash
        assert again.data() == first


def test_st13_resend_refusals_carry_their_error(flight):
    with flight.link() as link:
        ev, _ = downlink_log(link)
        wait_for(link, lambda p: is_part(p) and p["subtype"] == d.key("large.last_part")[1])  # its own parts are down
        with pytest.raises(CommandFailed) as info:
            link.command("large.resend", {"transaction": (ev["transaction"] + 100) & 0xFFFF, "parts": []})
        assert (info.value.stage, info.value.error) == ("start", "UNKNOWN_TRANSACTION")
        with pytest.raises(CommandFailed) as info:
            link.command("large.resend", {"transaction": ev["transaction"], "parts": [{"part": ev["parts"]}]})
        assert (info.value.stage, info.value.error) == ("start", "ARG_OUT_OF_RANGE")
        # nothing was queued by either: no part arrives
        assert not [p for p in collect(link, 0.5) if is_part(p)]


def test_ground_fetch_resumes_a_transaction_and_prints_the_file(flight, tmp_path, capsys):
    with flight.link() as link:
        fill_log(link)
        ev, _ = downlink_log(link)
        wait_for(link, lambda p: is_part(p) and p["subtype"] == d.key("large.last_part")[1])
    out_dir = tmp_path / "products"
    code = ground_main(["fetch", "--port", flight.port, "--key", flight.key_name, "--transaction", str(ev["transaction"]), "-o", str(out_dir)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    path = captured.out.strip()
    assert path == str(out_dir / ("log-%05d.txt" % ev["transaction"]))
    check_log(ev, open(path, "rb").read())


def test_ground_fetch_of_a_gone_transaction_is_one_line_and_exit_1(flight, capsys):
    code = ground_main(["fetch", "--port", flight.port, "--key", flight.key_name, "--transaction", "4321", "--quiet", "0.5"])
    err = capsys.readouterr().err
    assert code == 1
    assert err == "ground: transaction 4321 is no longer on the board (UNKNOWN_TRANSACTION): it keeps the last few only\n"
