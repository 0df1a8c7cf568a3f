# Rover mobility devices on the emulated board: skid-steer wheels, wheel
# encoders, the yaw gyro, the sun sensor and the hazard (slope-ahead) sensor.
# Each model reads the truth from hw.moon.MoonWorld and its noise from its own
# hw.noise.Rng, so one device's readings never shift another's noise sequence.
#
# Every sensor read(out) fills the caller's preallocated buffer in place and
# returns True when the reading is valid; an invalid reading leaves out as it was.
# Faults: set_fault(name, value) (hw.rover.RoverHw.inject), value 0 clears.
import math

from micropython import const

from hw.moon import wrap

_DEG = math.pi / 180.0
STUCK_LEFT = const(1)
STUCK_RIGHT = const(2)
STUCK_BOTH = const(3)


def _check_fault(dev, faults, name, value):
    if name not in faults:
        raise ValueError("%s: no fault %r (faults: %s)" % (dev, name, ", ".join(faults)))
    if not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise ValueError("%s: fault value must be a finite number, got %r" % (dev, value))


class Wheels:
    # Skid steer: left and right sides each follow their speed command at no more than
    # a_max (m/s^2), the rim speeds go to world.wheel, and the world turns them into
    # v = (vl + vr) / 2, omega = (vr - vl) / track (less slip). A command beyond v_max is
    # refused (ValueError), not clamped: the flight app must scale its (v, omega).
    FAULTS = ("stuck",)

    def __init__(self, world, v_max=0.3, a_max=0.2):
        if not (math.isfinite(v_max) and v_max > 0.0):
            raise ValueError("wheels: v_max must be > 0 m/s, got %r" % v_max)
        if not (math.isfinite(a_max) and a_max > 0.0):
            raise ValueError("wheels: a_max must be > 0 m/s^2, got %r" % a_max)
        self.world = world
        self.v_max = v_max
        self.a_max = a_max
        self.cmd_left = 0.0
        self.cmd_right = 0.0
        self.stuck = 0  # 0 free, STUCK_LEFT, STUCK_RIGHT, STUCK_BOTH

    def command(self, v_left, v_right):
        vm = self.v_max
        if not (math.isfinite(v_left) and -vm <= v_left <= vm):
            raise ValueError("wheels: v_left %r m/s outside -%g..%g" % (v_left, vm, vm))
        if not (math.isfinite(v_right) and -vm <= v_right <= vm):
            raise ValueError("wheels: v_right %r m/s outside -%g..%g" % (v_right, vm, vm))
        self.cmd_left = v_left
        self.cmd_right = v_right

    def stop(self):
        self.cmd_left = 0.0
        self.cmd_right = 0.0

    def set_fault(self, name, value):
        _check_fault("wheels", self.FAULTS, name, value)
        if value not in (0, STUCK_LEFT, STUCK_RIGHT, STUCK_BOTH):
            raise ValueError("wheels: stuck value must be 0 (free), 1 (left), 2 (right) or 3 (both), got %r" % value)
        self.stuck = int(value)

    def step(self, dt):
        # ramp each side toward its command; a stuck side stops at once (jammed)
        w = self.world.wheel
        dv = self.a_max * dt
        c = self.cmd_left
        v = w[0]
        v = c if abs(c - v) <= dv else (v + dv if c > v else v - dv)
        w[0] = 0.0 if self.stuck & STUCK_LEFT else v
        c = self.cmd_right
        v = w[1]
        v = c if abs(c - v) <= dv else (v + dv if c > v else v - dv)
        w[1] = 0.0 if self.stuck & STUCK_RIGHT else v


class Encoders:
    # wheel odometry: out[0], out[1] = left, right rim speed (m/s) + white noise
    FAULTS = ("dropout",)

    def __init__(self, world, rng, sigma=0.002):
        self.world = world
        self.rng = rng
        self.sigma = sigma
        self.dropout = 0

    def set_fault(self, name, value):
        _check_fault("encoders", self.FAULTS, name, value)
        self.dropout = value

    def read(self, out):
        if self.dropout:
            return False
        w = self.world.wheel
        out[0] = w[0] + self.rng.gauss(self.sigma)
        out[1] = w[1] + self.rng.gauss(self.sigma)
        return True


class Imu:
    # yaw gyro: out[0] = true yaw rate + constant bias + white noise (rad/s). Defaults: a
    # 10 deg/h bias (GNC.md R2) and 0.005 deg/s per sample.
    FAULTS = ("dropout",)

    def __init__(self, world, rng, bias=10.0 * _DEG / 3600.0, sigma=0.005 * _DEG):
        self.world = world
        self.rng = rng
        self.bias = bias
        self.sigma = sigma
        self.dropout = 0

    def set_fault(self, name, value):
        _check_fault("imu", self.FAULTS, name, value)
        self.dropout = value

    def read(self, out):
        if self.dropout:
            return False
        out[0] = self.world.omega + self.bias + self.rng.gauss(self.sigma)
        return True


class SunSensor:
    # out[0] = Sun azimuth relative to the rover heading (rad, [-pi, pi): sun_az - psi, so
    # psi = sun_az_reference - out[0]); out[1] = Sun elevation (rad). Valid only when the
    # Sun clears the terrain at the sensor (world.lit) and lies within fov_half of the
    # boresight (mount: its azimuth relative to the heading).
    FAULTS = ("dropout",)

    def __init__(self, world, rng, fov_half=90.0 * _DEG, sigma=0.1 * _DEG, mount=0.0):
        if not (math.isfinite(fov_half) and 0.0 < fov_half <= math.pi):
            raise ValueError("sun_sensor: fov_half must be in (0, pi] rad, got %r" % fov_half)
        self.world = world
        self.rng = rng
        self.fov_half = fov_half
        self.sigma = sigma
        self.mount = mount
        self.dropout = 0

    def set_fault(self, name, value):
        _check_fault("sun_sensor", self.FAULTS, name, value)
        self.dropout = value

    def read(self, out):
        w = self.world
        if self.dropout or not w.lit:
            return False
        rel = wrap(w.sun[0] - w.pose[2])
        if abs(wrap(rel - self.mount)) > self.fov_half:
            return False
        out[0] = wrap(rel + self.rng.gauss(self.sigma))
        out[1] = w.sun[1] + self.rng.gauss(self.sigma)
        return True


class Hazard:
    # slope_ahead(out): out[0] = terrain slope (deg, any direction) lookahead m ahead
    # along the heading, + noise. gnc.pure_pursuit wants radians: the app converts.
    FAULTS = ("dropout",)

    def __init__(self, world, rng, lookahead=1.0, sigma=0.2):
        if not (math.isfinite(lookahead) and lookahead >= 0.0):
            raise ValueError("hazard: lookahead must be >= 0 m, got %r" % lookahead)
        self.world = world
        self.rng = rng
        self.lookahead = lookahead
        self.sigma = sigma
        self.dropout = 0

    def set_fault(self, name, value):
        _check_fault("hazard", self.FAULTS, name, value)
        self.dropout = value

    def slope_ahead(self, out):
        if self.dropout:
            return False
        p = self.world.pose
        d = self.lookahead
        s = self.world.terrain.slope(p[0] + d * math.cos(p[2]), p[1] + d * math.sin(p[2]))
        s += self.rng.gauss(self.sigma)
        out[0] = s if s > 0.0 else 0.0
        return True

    read = slope_ahead
