"""D1's Monte Carlo statistic: the flight B-dot (gnc_bdot) in a whole run kept in C (gnc.detumble_run:
field table in, |w| per step out), from 10 deg/s about random axes at random orbit phases. An
additional statistic to D1's app run, not its evidence: the plant here is gnc_body_step with the
IGRF dipole field of world.py, not the emulated spacecraft the app flies."""

import numpy as np

import native as gnc
from hil.offline import world

DEG = np.pi / 180.0
J = (0.12, 0.002, -0.001, 0.002, 0.10, 0.0015, -0.001, 0.0015, 0.05)  # hw.space.SpaceWorld's default inertia
ALTITUDE, INCLINATION = 500e3, np.radians(97.4)  # the emulator's default orbit
PERIOD_S = 1.0  # B-dot control period (the app's: every 10th 10 Hz cycle)
GAIN = 1e6  # A m^2 s / T: the app's adcs.bdot_gain default
M_MAX = 1.0  # A m^2 per axis: hw.adcs_devices.Magnetorquers' default
SUBSTEPS = 2


def monte_carlo(runs, seed, rate0_deg=10.0, orbits=3.0, limit_deg=0.5):
    """`runs` detumbling runs; returns (settle orbits per run (inf: not settled), rate table deg/s
    (steps + 1, runs), orbit period s)."""
    rng = np.random.default_rng(seed)
    j32 = np.array(J, np.float32)
    orbit = world.CircularOrbit(ALTITUDE, INCLINATION, raan=rng.uniform(0, 2 * np.pi))
    steps = int(np.ceil(orbits * orbit.period / PERIOD_S))
    t = np.arange(steps) * PERIOD_S
    rates = np.empty((steps + 1, runs), np.float32)
    settle = np.empty(runs)
    for r in range(runs):
        u0 = rng.uniform(0, 2 * np.pi)
        gmst0 = rng.uniform(0, 2 * np.pi)
        pos = world.CircularOrbit(ALTITUDE, INCLINATION, raan=orbit.raan, u0=u0).position(t)
        table = np.ascontiguousarray(world.dipole_field(pos, t, gmst0).astype(np.float32).reshape(-1))
        x = np.zeros(gnc.BODY_SIZE, np.float32)
        x[0:4] = world.qexp(world.random_unit(rng, 1)[0] * rng.uniform(0, np.pi))
        x[4:7] = world.random_unit(rng, 1)[0] * rate0_deg * DEG
        s = np.zeros(gnc.BDOT_SIZE, np.float32)
        gnc.bdot_init(s)
        out = np.zeros(steps, np.float32)
        rates[0, r] = rate0_deg
        gnc.detumble_run(x, j32, s, table, steps, PERIOD_S, GAIN, M_MAX, SUBSTEPS, out)
        rates[1:, r] = out / DEG
        above = np.nonzero(rates[:, r] >= limit_deg)[0]
        last = above[-1] + 1 if len(above) else 0
        settle[r] = np.inf if last > steps else last * PERIOD_S / orbit.period
    return settle, rates, orbit.period
