"""`ground encode/decode` with ST8 functions: routed to the owner's APID, enumerated arguments
by name, ranges from the dictionary checked before anything is sent."""

import pytest

from ground import codec
from ground import dictionary as d
from ground.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def test_cli_encode_function_goes_to_its_owner_apid_with_the_mode_by_name(capsys):
    code, out, err = run(capsys, "encode", "rover_mobility.set_mode", "DRIVE", "--seq", "9")
    assert (code, err) == (0, [])
    p = codec.decode(bytes.fromhex(out.strip()))
    drive = {name: n for n, name, _ in d.rover.MODES}["DRIVE"]
    assert (p["apid"], p["service"], p["subtype"], p["seq_count"]) == (d.APID_BY_NAME["rover_mobility"], 8, 1, 9)
    assert p["data"] == {"function_id": d.command("rover_mobility.set_mode").function.id, "args": {"mode": drive}}


def test_cli_decode_shows_function_and_enumerated_names(capsys):
    raw = codec.encode_command(d.command("inspector_adcs.inject_fault"), {"device": 8, "fault": 3, "value": 0.5})
    code, out, err = run(capsys, "decode", raw.hex())
    assert code == 0
    assert "function.perform function_id=inspector_adcs.inject_fault device=thrusters fault=leak value=0.5" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (("rover_mobility.set_mode", "WARP"), "mode: 'WARP' is not an integer or one of: CHARGE, DRILL, DRIVE, IDLE, SURVIVAL"),
        (("rover_mobility.set_mode", "9"), "mode: 9 outside its range 0..4"),
        (("inspector_adcs.inject_fault", "imu", "dropout", "2000"), "value: 2000 outside its range -1000.0..1000.0"),
        (("inspector_adcs.inject_fault", "0", "dropout", "1"), "device: 0 outside its range 1..10"),
        (("inspector_adcs.set_mode",), "inspector_adcs.set_mode: missing mode (mode to enter)"),
    ],
    ids=["name", "range", "f32-range", "min", "missing"],
)
def test_cli_function_argument_errors_are_one_line_before_sending(capsys, argv, message):
    code, out, err = run(capsys, "encode", *argv)
    assert (code, out) == (1, "")
    assert err == ["ground: " + message]
