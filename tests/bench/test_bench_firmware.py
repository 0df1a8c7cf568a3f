"""The GNC steps on our MicroPython firmware: the C core built in against the fallback.

One process of the unix firmware (scripts/firmware.py, `make firmware BOARD=unix`) runs
gnc.inspector_step / gnc.rover_step from the built-in module `gnc_native` and from the
fallback (gnc.steps, behind the same wrapper `import gnc` puts on it with
MITRA_GNC_BACKEND=fallback), in alternating batches of BATCH steps from the same initial state
(the cases of test_bench_gnc.py), timed inside MicroPython with time.ticks_us: the ratio comes
from one run on one machine state. Per-step figures are batch medians / BATCH.

    .venv/bin/python -m pytest tests/bench/test_bench_firmware.py --benchmark-enable -s

prints the table docs/benchmarks.md records, with the firmware's size. Never asserts on time;
under `make test` (timing off) it runs one round and checks the two backends agree.
"""

import os
import re
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pytest
import test_bench_gnc as g  # tests/bench (pytest puts this folder on sys.path)

from ground import runtimes

ROUNDS = 15  # alternating timed batches of each backend (1 when timing is off)

SNIPPET = """\
import time
from array import array
import gnc
import gnc.steps
print('backend', gnc.BACKEND)
S0 = array('f', {s0!r})
ARGS = [{args}]
N_OUT = {n_out}
c_step = getattr(gnc, '{step}_step')
fb_step = gnc._raw(getattr(gnc.steps, '{step}_step'))  # as `import gnc` gives it in fallback mode

def make():
    s = array('f', S0)
    out = array('f', bytes(4 * N_OUT))
    return [s] + ARGS + [out]

def batch(step, args):
    s = args[0]
    for i in range(len(S0)):
        s[i] = S0[i]
    for _ in range({batch}):
        step(*args)

c_args, fb_args = make(), make()
batch(c_step, c_args)  # warm-up
batch(fb_step, fb_args)
c_us, fb_us = [], []
for _ in range({rounds}):
    t0 = time.ticks_us()
    batch(c_step, c_args)
    c_us.append(time.ticks_diff(time.ticks_us(), t0))
    t0 = time.ticks_us()
    batch(fb_step, fb_args)
    fb_us.append(time.ticks_diff(time.ticks_us(), t0))
print('c_us', ' '.join(str(v) for v in c_us))
print('fb_us', ' '.join(str(v) for v in fb_us))
for name, a in (('c', c_args), ('fb', fb_args)):
    print(name + '_s', ' '.join('%.9g' % v for v in a[0]))
    print(name + '_out', ' '.join('%.9g' % v for v in a[-1]))
"""


def _run(binary, step, rounds):
    s0, *args = g.STEPS[step]["case"]()
    code = SNIPPET.format(
        step=step, s0=s0, n_out=g.STEPS[step]["out"], batch=g.BATCH, rounds=rounds,
        args=", ".join("array('f', %r)" % (a,) if isinstance(a, list) else repr(a) for a in args),
    )
    source = runtimes.firmware_path_setup("micropython") + code
    proc = subprocess.run([binary, "-c", source], capture_output=True, timeout=600,
                          env=dict(os.environ, MITRA_GNC_BACKEND=""))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    text = proc.stdout.decode()
    fields = {m.group(1): m.group(2).split() for m in re.finditer(r"^(\w+?) (.*)$", text, re.M)}
    return fields


@pytest.mark.slow
@pytest.mark.micropython
@pytest.mark.parametrize("step", list(g.STEPS))
def test_bench_firmware_step_c_core_vs_fallback(benchmark, built_firmware, step):
    benchmark.group = "firmware gnc step"
    binary = built_firmware("unix")
    rounds = 1 if benchmark.disabled else ROUNDS
    f = benchmark.pedantic(_run, args=(binary, step, rounds), rounds=1, iterations=1)
    assert f["backend"] == ["native-mpy"]
    # both end the batch where the cffi core does (float32 C at -Os; the fallback in double)
    s_ref, out_ref = g._c_reference(step)
    for name in ("c", "fb"):
        np.testing.assert_allclose(np.array(f[name + "_out"], float), out_ref, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(np.array(f[name + "_s"], float), s_ref, rtol=1e-3, atol=1e-9)
    c_step = statistics.median(int(v) for v in f["c_us"]) / g.BATCH
    fb_step = statistics.median(int(v) for v in f["fb_us"]) / g.BATCH
    size = Path(binary).stat().st_size
    benchmark.extra_info.update(step=step, backend="unix firmware", steps_per_call=g.BATCH, batches=rounds,
                                c_per_step_us=round(c_step, 2), fallback_per_step_us=round(fb_step, 2),
                                fallback_over_c=round(fb_step / c_step, 1), firmware_bytes=size)
    print("\nfirmware unix: %s_step  C core %.2f us/step  fallback %.2f us/step  fallback/C %.1f  (%d batches of %d;"
          " firmware %d B)" % (step, c_step, fb_step, fb_step / c_step, rounds, g.BATCH, size))
