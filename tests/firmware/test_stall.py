"""fsw.stall: an actuator commanded but not responding for a run of cycles is declared stuck, once."""

import pytest

from fsw.stall import Stall


def test_stall_declared_after_the_run_once_and_reset_rearms():
    s = Stall(cycles=3, min_command=1.0, min_ratio=0.2)
    assert [s.check(2.0, 0.1) for _ in range(5)] == [False, False, True, False, False]
    assert s.stuck
    s.reset()
    assert [s.check(2.0, 0.1) for _ in range(3)] == [False, False, True]


@pytest.mark.parametrize(
    "pairs",
    [
        [(2.0, 0.1), (2.0, 0.1), (2.0, 0.5), (2.0, 0.1), (2.0, 0.1)],  # a response breaks the run
        [(2.0, 0.1), (2.0, 0.1), (0.5, 0.0), (2.0, 0.1), (2.0, 0.1)],  # a small command is not judged
        [(2.0, 0.4)] * 10,  # response exactly at the ratio: moving
    ],
    ids=["response", "small-command", "at-ratio"],
)
def test_stall_not_declared_without_a_full_run(pairs):
    s = Stall(cycles=3, min_command=1.0, min_ratio=0.2)
    assert not any(s.check(c, r) for c, r in pairs)
    assert not s.stuck


def test_stall_on_micropython(micropython):
    out = micropython(
        "from fsw.stall import Stall\n"
        "s = Stall(3, 1.0, 0.2)\n"
        "print([s.check(2.0, 0.1) for _ in range(4)], s.stuck)\n"
    )
    assert out.decode().strip() == "[False, False, True, False] True"
