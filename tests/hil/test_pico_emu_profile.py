"""`python -m hil.pico_emu profile` (hil/pico_emu/profile.py): the emulated Pico's PC samples named
by the firmware's symbols. The naming is checked on made-up samples; the flight on the emulator."""

import pytest

from hil.pico_emu import profile
from hil.plugin import need_pico_emu

NM = """\
10000100 T _entry_point
10000200 T mp_execute_bytecode
10000400 t gc_mark_subtree
10000500 D some_table
20000100 T memcpy
"""


def test_parse_nm_keeps_the_functions_in_address_order():
    assert profile.parse_nm(NM) == [(0x10000100, "_entry_point"), (0x10000200, "mp_execute_bytecode"),
                                    (0x10000400, "gc_mark_subtree"), (0x20000100, "memcpy")]


def test_samples_go_to_the_function_below_them_the_rom_by_address_and_ram_code_says_so():
    syms = profile.parse_nm(NM)
    samples = [[0x10000203, 5], [0x100003fe, 3], [0x10000410, 2], [0x2c5, 4], [0x20000104, 1], [0x0fff0000, 1]]
    assert profile.attribute(samples, syms) == {"mp_execute_bytecode": 8, "gc_mark_subtree": 2, "boot ROM 0x02c_": 4,
                                                 "memcpy (RAM)": 1, "0x0fff0000": 1}
    assert profile.table({"a": 6, "b": 3, "c": 1}, 2) == [("a", 0.6), ("b", 0.3)]


def test_profile_refuses_bad_arguments_in_one_line(capsys):
    from hil.pico_emu.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(["profile", "--top", "0"])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("--flight must be 1..3600 s and --top at least 1, got 60 and 0")


@pytest.mark.slow
def test_profile_of_the_rover_names_the_interpreter_and_counts_cycles_per_flight_second(capsys, monkeypatch, tmp_path):
    need_pico_emu()
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    result = profile.fly("rover", 5.0, top=10, warmup_s=2.0)
    names = [name for name, _ in result["top"]]
    assert "mp_execute_bytecode" in names and any(n.startswith("gc_") for n in names), names
    assert result["samples"] > 1000 and 0.0 < sum(share for _, share in result["top"]) <= 1.0
    assert result["mcycles_per_flight_s"] > 1.0  # the app's 10 Hz cycle alone costs more on the board
    out = capsys.readouterr().out
    assert "rover on the emulated Pico: %.1f M cycles per second of flight" % result["mcycles_per_flight_s"] in out
