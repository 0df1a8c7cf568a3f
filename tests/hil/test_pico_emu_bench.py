"""Benchmarks on the emulated Pico (hil/pico_emu): step cost in emulated cycles, free RAM.

Step cost: gnc.inspector_step / gnc.rover_step on the RPI_PICO firmware with the C core built
in, from the built-in module `gnc_native` and from the fallback (gnc.steps behind the wrapper
`import gnc` puts on it, as a board without the core runs it), both from the flashed .mpy, in
one run at the REPL, from the cases of tests/bench/test_bench_gnc.py. Counted in the emulated
core's cycles (rp2040js's Cortex-M0+ timing; runner.mjs's cycle counter register, read by
the board before and after each batch), never with a clock: the same firmware and inputs give
the same count on any host. Per step = batch median / steps in the batch, converted to
microseconds on a 125 MHz Pico. rp2040js executes from flash at the cost of RAM: a real
Pico's XIP cache misses come on top.

Free RAM: gc.mem_free() in HK once the flight app has run SETTLE_S seconds on the board
(main.py from littlefs), for the OBC alone and with each vehicle app.

    .venv/bin/python -m pytest tests/hil/test_pico_emu_bench.py --benchmark-enable -s

prints the figures docs/benchmarks.md records. Never asserts on time: it checks that the
counts are there and that the two backends end where the cffi core does.
"""

import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

from ground.keys import KeyStore, port_link_name
from ground.link import GroundLink
from ground.sitl import load_board
from hil import pico_emu
from hil.pico_emu import PICO_HZ, PicoEmu, install_app
from hil.plugin import hk_obc, ping_barrier

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import test_bench_gnc as g  # noqa: E402  tests/bench/test_bench_gnc.py: the cases and the cffi reference

ROUNDS = 3  # batches of each backend; the counts barely move between them
C_BATCH = g.BATCH  # 100 steps: the reference state is after this many
SETTLE_S = 5  # flight seconds after boot before the free RAM is read
FB_BATCH = 20  # the fallback is ~30x dearer: 20 steps a batch, checked against the C core's 20

SNIPPET = """\
import machine
from array import array
import gnc
import gnc.steps
print('backend', gnc.BACKEND)

def cycles():
    m = machine.mem32
    while True:
        hi = m[{counter} + 4]
        lo = m[{counter}]
        if m[{counter} + 4] == hi:
            return (hi << 32) | lo

S0 = array('f', {s0!r})
ARGS = [{args}]
N_OUT = {n_out}
c_step = getattr(gnc, '{step}_step')
fb_step = gnc._raw(getattr(gnc.steps, '{step}_step'))

def nothing(*args):
    pass

def make():
    return [array('f', S0)] + ARGS + [array('f', bytes(4 * N_OUT))]

def batch(step, args, n):
    s = args[0]
    for i in range(len(S0)):
        s[i] = S0[i]
    c0 = cycles()
    for _ in range(n):
        step(*args)
    return cycles() - c0

def show(name, args):
    print(name + '_s', ' '.join('%.9g' % v for v in args[0]))
    print(name + '_out', ' '.join('%.9g' % v for v in args[-1]))

c_args, fb_args, c20_args, none_args = make(), make(), make(), make()
counts = {{'c': [], 'fb': [], 'none': []}}
for _ in range({rounds}):
    counts['c'].append(batch(c_step, c_args, {c_batch}))
    counts['fb'].append(batch(fb_step, fb_args, {fb_batch}))
    counts['none'].append(batch(nothing, none_args, {c_batch}))
show('c', c_args)
batch(c_step, c20_args, {fb_batch})
show('c20', c20_args)
show('fb', fb_args)
for k in ('c', 'fb', 'none'):
    print(k + '_cycles', ' '.join(str(v) for v in counts[k]))
"""


def _fields(text):
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        out[key] = rest.split()
    return out


@pytest.fixture(scope="module")
def app_image(pico_emu_app_image):
    return pico_emu_app_image


def _run_steps(firmware, image, tmp_path, step):
    s0, *args = g.STEPS[step]["case"]()
    code = SNIPPET.format(
        counter=pico_emu.CYCLE_COUNTER, step=step, s0=s0, n_out=g.STEPS[step]["out"], rounds=ROUNDS,
        c_batch=C_BATCH, fb_batch=FB_BATCH,
        args=", ".join("array('f', %r)" % (a,) if isinstance(a, list) else repr(a) for a in args),
    )
    flash = tmp_path / ("%s.img" % step)
    flash.write_bytes(image.read_bytes())
    with PicoEmu(firmware, flash_image=flash, realtime=False) as pico:
        return _fields(pico.exec(code, timeout=900))


@pytest.mark.slow
@pytest.mark.micropython
@pytest.mark.parametrize("step", list(g.STEPS))
def test_bench_pico_emu_step_c_core_vs_fallback(benchmark, app_image, tmp_path, step):
    benchmark.group = "pico-emu gnc step"
    firmware, image = app_image
    f = benchmark.pedantic(_run_steps, args=(firmware, image, tmp_path, step), rounds=1, iterations=1)
    assert f["backend"] == ["native-mpy"]
    s_ref, out_ref = g._c_reference(step)
    np.testing.assert_allclose(np.array(f["c_out"], float), out_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.array(f["c_s"], float), s_ref, rtol=1e-3, atol=1e-9)
    # the fallback (single precision here, as on any board) ends its batch where the core does
    np.testing.assert_allclose(np.array(f["fb_out"], float), np.array(f["c20_out"], float), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(np.array(f["fb_s"], float), np.array(f["c20_s"], float), rtol=1e-3, atol=1e-6)
    counts = {k: [int(v) for v in f[k + "_cycles"]] for k in ("c", "fb", "none")}
    assert len(counts["c"]) == ROUNDS and min(min(v) for v in counts.values()) > 0, counts
    c_cyc = statistics.median(counts["c"]) / C_BATCH
    fb_cyc = statistics.median(counts["fb"]) / FB_BATCH
    call_cyc = statistics.median(counts["none"]) / C_BATCH
    assert call_cyc < c_cyc < fb_cyc, (call_cyc, c_cyc, fb_cyc)
    us = lambda cyc: cyc / PICO_HZ * 1e6  # noqa: E731
    benchmark.extra_info.update(step=step, backend="pico-emu (RPI_PICO firmware, rp2040js)",
                                c_cycles_per_step=round(c_cyc), fallback_cycles_per_step=round(fb_cyc),
                                call_cycles=round(call_cyc), c_us_at_125mhz=round(us(c_cyc), 1),
                                fallback_us_at_125mhz=round(us(fb_cyc), 1), fallback_over_c=round(fb_cyc / c_cyc, 1))
    print("\npico-emu: %s_step  C core %d cycles (%.1f us at 125 MHz)  fallback %d cycles (%.1f us)  fallback/C %.1f"
          "  (a Python call with the same arguments: %d cycles; medians of %d batches of %d / %d steps)"
          % (step, c_cyc, us(c_cyc), fb_cyc, us(fb_cyc), fb_cyc / c_cyc, call_cyc, ROUNDS, C_BATCH, FB_BATCH))


@pytest.mark.slow
@pytest.mark.micropython
@pytest.mark.parametrize("vehicle", [None, "inspector", "rover"], ids=["obc", "inspector", "rover"])
def test_bench_pico_emu_free_ram_after_the_flight_app_starts(app_image, tmp_path, monkeypatch, vehicle):
    firmware, image = app_image
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    board = load_board("rp2-pico")
    if vehicle:
        board.update(vehicle=vehicle, scenario={})
    flash = tmp_path / "flash.img"
    flash.write_bytes(image.read_bytes())
    with PicoEmu(firmware, flash_image=flash) as pico:
        name = port_link_name(pico.port)
        install_app(pico, board, name)
        with GroundLink(pico.port, key=KeyStore().load(name)) as link:
            ping_barrier(link)
            hk = hk_obc(link)
            while hk["heap_peak"] == 0 or hk["uptime"] < SETTLE_S:  # the app's first cycles allocate too
                link.read(0.5)
                hk = hk_obc(link)
    assert 0 < hk["heap_free"] < 264 * 1024 and hk["heap_peak"] > 0, hk
    print("\npico-emu: %s  heap_free %d B  heap_peak %d B  (HK at uptime %d s; firmware %s)"
          % (vehicle or "obc alone", hk["heap_free"], hk["heap_peak"], hk["uptime"], Path(firmware).name))
