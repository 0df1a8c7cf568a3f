"""The inspector spacecraft, its orbit and the debris target, stated once for every inspector scenario,
and the small helpers the scenarios share (float32 buffers for the C core, plot output)."""

import os

import numpy as np

from hil.scenarios import world

# ---- the inspector: a 12 kg, 6U-class spacecraft (10 x 23 x 34 cm) --------------------------
MASS = 12.0  # kg
J = np.array([[0.12, 0.002, -0.001], [0.002, 0.10, 0.0015], [-0.001, 0.0015, 0.05]])  # kg m^2, body axes
JINV = np.linalg.inv(J)
# Magnetorquers: 0.4 A m^2 per axis. M1's 1e-5 N m disturbance needs |m| |B_perp| > 1e-5 N m with
# |B| 24-48 uT at 500 km, so 0.2 A m^2 rods could not keep up; D1 uses the same rods.
M_MAX = 0.4  # A m^2 per axis
# Reaction wheels, one per body axis.
TAU_MAX = 2e-3  # N m per axis
H_MAX = 0.03  # N m s per axis (capacity)
# Sensors.
GYRO_ARW = 3e-5  # rad/s/sqrt(Hz) (0.1 deg/sqrt(h))
GYRO_RRW = 3e-9  # rad/s^2/sqrt(Hz)
STAR_SIGMA = 1e-4  # rad per axis (20 arcsec)
SUN_SIGMA = np.radians(0.5)  # rad, coarse sun sensor
MAG_NOISE = 20e-9  # T per axis, magnetometer
# Attitude control: quaternion-feedback PD tuned on the largest inertia (Wie 7.3):
# tau = -kp dq_v - kd w with dq_v ~ dtheta / 2 -> natural frequency sqrt(kp / (2 J)).
PD_WN = 0.1  # rad/s
PD_ZETA = 0.9
KP = 2.0 * J[0, 0] * PD_WN**2
KD = 2.0 * PD_ZETA * PD_WN * J[0, 0]
WHEEL_LIMITS = np.array([TAU_MAX, H_MAX], np.float32)

# ---- the orbit (shared by inspector and debris) ---------------------------------------------
ALTITUDE = 500e3  # m
INCLINATION = np.radians(97.4)  # sun-synchronous at 500 km
ORBIT = world.CircularOrbit(ALTITUDE, INCLINATION)
N_MEAN = ORBIT.n  # rad/s, target mean motion
PERIOD = ORBIT.period  # s

# ---- the debris: a spent upper stage, 11 m long, 4 m across ---------------------------------
DEBRIS_LENGTH, DEBRIS_DIAMETER = 11.0, 4.0
DEBRIS_BOUNDING_RADIUS = float(np.hypot(DEBRIS_LENGTH / 2, DEBRIS_DIAMETER / 2))  # ~5.9 m
KEEPOUT_RADIUS = 15.0  # m: bounding sphere plus ~9 m for navigation error and a tumbling stage
ELLIPSE_A = 50.0  # m radial amplitude (along-track semi-axis 100 m) of the inspection safety ellipse
ELLIPSE_C = 50.0  # m cross-track amplitude (a 5% radial nav error at insertion shifts the loop by 4 dx ~ 22 m)
ELLIPSE_PHASE = np.pi / 2  # cross-track in quadrature with radial: they never vanish together


def f32(x):
    """A C-contiguous float32 copy for the C core."""
    return np.ascontiguousarray(x, dtype=np.float32)


def plot_file(plots, sid):
    """Where scenario `sid` draws its PNG, or None when `plots` is not set."""
    if not plots:
        return None
    os.makedirs(plots, exist_ok=True)
    return os.path.join(plots, "%s.png" % sid)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def keepout_circle(ax, radius, label=True):
    th = np.linspace(0.0, 2.0 * np.pi, 200)
    ax.fill(radius * np.cos(th), radius * np.sin(th), color="tab:red", alpha=0.15)
    ax.plot(radius * np.cos(th), radius * np.sin(th), color="tab:red", lw=1.2,
            label="keep-out %.0f m" % radius if label else None)
