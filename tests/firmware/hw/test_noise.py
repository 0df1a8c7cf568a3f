"""hw.noise.Rng: xorshift32 (the sequence every target's device models draw from), kept in 16-bit
halves so that a draw on a 32-bit board allocates no long int."""

import pytest

from ground import runtimes
from hw.noise import Rng


def _xorshift32(seed):
    x = (seed & 0xFFFFFFFF) or 0x9E3779B9
    while True:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        yield x


@pytest.mark.parametrize("seed", [0, 1, 5, 0xFFFF, 0x10000, 0xFFFFFFFF, 2654435761, 1 << 40 | 7])
def test_rng_draws_xorshift32_and_uniform_takes_its_top_24_bits(seed):
    a, b, ref = Rng(seed), Rng(seed), _xorshift32(seed)
    assert a.state == (seed & 0xFFFFFFFF or 0x9E3779B9)
    for _ in range(5000):
        x = next(ref)
        assert a.u32() == x
        assert b.uniform() == (x >> 8) / 16777216.0
    assert a.state == x


@pytest.mark.micropython
def test_a_draw_allocates_one_float_and_no_long_int_on_a_32_bit_port(built_firmware, monkeypatch):
    # on the 32-bit build a small int holds 31 bits: a whole 32-bit state would be a long int
    monkeypatch.setenv("MITRA_MICROPYTHON", built_firmware("unix-m32"))
    out = runtimes.run_snippet(
        "import gc\n"
        "from hw.noise import Rng\n"
        "r = Rng(2654435761)\n"
        "u = r.uniform\n"
        "gc.collect(); gc.disable()\n"
        "a = gc.mem_alloc()\n"
        "for _ in range(1000):\n"
        "    u()\n"
        "print(gc.mem_alloc() - a)\n",
        runtime="micropython")
    per_draw = int(out) / 1000
    assert per_draw < 17, per_draw  # one boxed float32 is a 16-octet block (and the loop its one); a long int alone is more
