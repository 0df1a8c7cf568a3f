# The rover's drill on the emulated board: an auger fed into layered regolith.
# The plant (the offline R5 model's, in float-friendly form; R5 now flies the
# app against it: hil/scenarios/rover_app_drill.py):
# - auger torque while spinning = idle + wall friction per metre of depth +
#   cutting torque x the hardness at the bit (loose, compacted, ice-cemented
#   below ice_depth) x feed / nominal feed; re-cutting the hole already drilled
#   costs a fifth of that;
# - motor current = no-load current + torque / torque constant;
# - housing temperature: a lumped heat capacity warmed by part of the shaft
#   power (and any injected friction heat), losing heat to a cold environment;
# - the bit does not advance while the torque is at the motor's stall torque,
#   nor without spin outside the hole already cut; travel ends at max_depth.
# Faults: `stall` (a jammed auger: +jam_torque, torque and current jump past
# the limits, the bit stops) and `over_temperature` (binding friction heat while
# spinning: the temperature climbs past its limit). Both hold until cleared.
import math
from array import array

_SPIN = 100.0 * 2.0 * math.pi / 60.0  # rad/s: 100 rpm
_IDLE_TORQUE = 1.5  # N m
_WALL_TORQUE = 4.0  # N m per metre of depth
_CUT_TORQUE = 4.0  # N m at unit hardness and nominal feed
_RECUT = 0.2
_NO_LOAD_A = 0.4  # A
_KT = 8.0  # N m per A
_STALL_TORQUE = 30.0  # N m: the motor's stall torque
_JAM_TORQUE = 30.0  # N m added by a stall fault
_BIND_HEAT = 250.0  # W added by an over_temperature fault while spinning
_HEAT_CAP = 400.0  # J/K
_CONDUCTANCE = 0.6  # W/K
_HEAT_FRACTION = 0.15  # of the shaft power heats the housing
_T_ENV = -30.0  # C
_BUS_V = 28.0  # V: electrical power = bus voltage x motor current


class Drill:
    FAULTS = ("stall", "over_temperature")

    def __init__(self, rng, feed_nominal=0.002, feed_max=0.005, max_depth=1.6, ice_depth=0.8,
                 temp0=-10.0, sigma=(0.2, 0.02, 0.2)):
        if not (math.isfinite(feed_nominal) and 0.0 < feed_nominal <= feed_max):
            raise ValueError("drill: feed_nominal must be in (0, feed_max] m/s, got %r" % feed_nominal)
        if not (math.isfinite(max_depth) and max_depth >= 1.5):
            raise ValueError("drill: max_depth must be >= 1.5 m, got %r" % max_depth)
        self.rng = rng
        self.feed_nominal = feed_nominal
        self.feed_max = feed_max
        self.max_depth = max_depth
        self.ice_depth = ice_depth
        self.sigma = array("f", sigma)
        self.depth = 0.0  # m: the bit
        self.cut = 0.0  # m: the deepest point cut so far
        self.temp = temp0  # C: housing
        self.torque = 0.0  # N m
        self.current = 0.0  # A
        self.feed = 0.0  # command, m/s (< 0 retracts)
        self.spin = 0  # command, 0/1
        self.stall = 0
        self.over_temperature = 0

    def command(self, feed, spin):
        fm = self.feed_max
        if not (isinstance(feed, (int, float)) and math.isfinite(feed) and -fm <= feed <= fm):
            raise ValueError("drill: feed %r m/s outside -%g..%g" % (feed, fm, fm))
        if spin != 0 and spin != 1:
            raise ValueError("drill: spin must be 0 or 1, got %r" % spin)
        self.feed = feed
        self.spin = int(spin)

    def stop(self):
        self.feed = 0.0
        self.spin = 0

    def set_fault(self, name, value):
        if name not in self.FAULTS:
            raise ValueError("drill: no fault %r (faults: %s)" % (name, ", ".join(self.FAULTS)))
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError("drill: fault value must be a finite number, got %r" % value)
        setattr(self, name, value)

    def hardness(self, z):
        # relative cutting resistance: loose top, compacted, ice-cemented below ice_depth
        if z < 0.3:
            return 1.0
        return 1.6 if z < self.ice_depth else 2.4

    def power_w(self):
        # electrical load while the motor runs
        return _BUS_V * self.current if self.spin else 0.0

    def step(self, dt):
        feed = self.feed
        z = self.depth
        torque = 0.0
        heat = 0.0
        if self.spin:
            torque = _IDLE_TORQUE + _WALL_TORQUE * z
            if feed > 0.0:
                torque += _CUT_TORQUE * self.hardness(z) * feed / self.feed_nominal * (1.0 if z >= self.cut else _RECUT)
            if self.stall:
                torque += _JAM_TORQUE
            heat = _HEAT_FRACTION * torque * _SPIN
            if self.over_temperature:
                heat += _BIND_HEAT
        if feed < 0.0:
            z += feed * dt
            if z < 0.0:
                z = 0.0
        elif feed > 0.0 and torque < _STALL_TORQUE and (self.spin or z < self.cut):
            z += feed * dt
            if not self.spin and z > self.cut:
                z = self.cut
            if z > self.max_depth:
                z = self.max_depth
            if z > self.cut:
                self.cut = z
        self.depth = z
        self.torque = torque
        self.current = _NO_LOAD_A + torque / _KT if self.spin else 0.0
        self.temp += dt * (heat - _CONDUCTANCE * (self.temp - _T_ENV)) / _HEAT_CAP

    def read(self, out):
        # out = [torque N m, current A, housing temperature C], with noise
        g = self.rng.gauss
        s = self.sigma
        out[0] = self.torque + g(s[0])
        out[1] = self.current + g(s[1])
        out[2] = self.temp + g(s[2])
        return True
