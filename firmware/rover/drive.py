# The rover's 10 Hz cycle and its route. One cycle: advance the emulated world, read the
# sensors into gnc.rover_step's `in` buffer (wheel odometry, yaw gyro, the sun sensor's
# heading fix, the Sun's elevation and azimuth offset for the power prediction, the slope
# ahead, drill measurements), run the step (odometry, power, pure pursuit, sun fix, drill:
# native/include/gnc.h), then command the wheels. Every buffer is allocated once here; the
# cycle fills them in place.
#
# The route: waypoints in `wp` (up to gnc.MAX_PATH_POINTS - 1); a drive builds the step's
# path from where the rover stands (point 0) through the waypoints not yet reached, so the
# follower always has a first segment. While no route is followed the step gets a short
# hold path and its wheel command is not used.
import math
from array import array

from micropython import const

import gnc
from fsw import dictionary as D
from fsw.stall import Stall
from hw.moon import SUN_AZ_PEAK, SUN_EL_AMP, SUN_EL_MEAN, sun_position, wrap

from hal import ticks_diff, ticks_us  # noqa: F401 (the 10 Hz task times itself; app.py imports them from here)


DT = 0.1
DEG = 57.29578
RAD = 0.017453292
MAX_POINTS = const(64)  # gnc.MAX_PATH_POINTS (gnc.h)
HALF_TRACK = 0.3  # m: half the wheel track (the rover's 0.6 m, hw.moon's default)
WHEEL_MAX = 0.3  # m/s: the wheels refuse more (hw.mobility.Wheels.v_max)
SIGMA_GYRO = 0.01 * RAD  # rad/s: gyro noise the heading variance grows with (0.005 deg/s per sample, doubled)
PSI_VAR0 = (2.0 * RAD) * (2.0 * RAD)  # rad^2: heading known to 2 deg at start
SUN_FOV_IN = 80.0 * RAD  # the sun sensor's 90 deg half field, less a margin: where a lost Sun means shadow
CHARGE_GAIN = 0.5  # 1/s: turn rate per rad of panel error while turning to the Sun
CHARGE_DONE = 1.0 * RAD  # rad: close enough to stop turning
_S_SOC = const(5)  # rover_step state layout (gnc.h GNC_ROVER_STEP_SIZE)
_S_DRILL = const(6)
_S_INDEX = const(10)
_P_TARGET = const(18)  # prm: drill limits [torque, current, temp, target, feed] from 15


class Drive:
    def __init__(self, hw, params, scenario):
        self.hw = hw
        self.params = params
        self.s = array("f", bytes(4 * gnc.ROVER_STEP_SIZE))
        self.inp = array("f", bytes(4 * gnc.ROVER_IN))
        self.prm = array("f", bytes(4 * gnc.ROVER_PRM))
        self.out = array("f", bytes(4 * gnc.ROVER_OUT))
        self.path = array("f", bytes(8 * MAX_POINTS))
        self.n = 2
        self.wp = array("f", bytes(8 * (MAX_POINTS - 1)))
        self.count = 0  # waypoints in the route
        self.next = 0  # the first waypoint not reached
        self.base = 0  # waypoint index of path point 1 in the drive under way
        self.last_index = 0
        self.odo = 0.0  # m driven since the drive started
        self.b1 = array("f", (0.0,))
        self.b2 = array("f", (0.0, 0.0))
        self.sun = array("f", (0.0, 0.0))  # on-board Sun reference [azimuth, elevation]
        self.dmeas = memoryview(self.inp)[8:11]
        # the on-board Sun reference (an ephemeris on a real rover): the scenario's Sun
        self.sun_cfg = (scenario.get("sun_az0", SUN_AZ_PEAK), scenario.get("sun_el_mean", SUN_EL_MEAN),
                        scenario.get("sun_el_amp", SUN_EL_AMP), scenario.get("sun_az_peak", SUN_AZ_PEAK))
        start = scenario.get("start", (0.0, 0.0, 0.0))
        s = self.s
        s[0], s[1], s[2] = start[0], start[1], wrap(start[2])
        s[4] = PSI_VAR0
        s[_S_SOC] = 1.0
        self.k = 0  # cycles since boot
        self.vl = 0.0  # wheel commands in force
        # a side whose encoders show under 20% of a command of at least 3 cm/s for 2 s is stuck
        self.stall_l = Stall(20, 0.03, 0.2)
        self.stall_r = Stall(20, 0.03, 0.2)
        self.wheel_fault = 0  # 1 left, 2 right: declared this cycle (the app reports and safes)
        self.fault_cmd = 0.0
        self.fault_meas = 0.0
        self.vr = 0.0
        self.v = 0.0
        self.omega = 0.0
        self.sun_valid = False
        self.sun_in_fov = False
        self.sun_fixes = 0
        self.slope = 0.0  # rad, ahead
        self.step_errors = 0
        self.cycle_us = 0
        self.cycle_us_max = 0
        self.hold()
        bat = hw.battery
        if bat is not None:
            for i in range(6):
                self.prm[7 + i] = bat.p[i]  # gnc.power_step parameters of this battery
        self.load_params()

    def load_params(self):
        p, g = self.prm, self.params.get
        p[0] = g(D.PAR_DRIVE_V_MAX)
        p[1] = g(D.PAR_DRIVE_OMEGA_MAX) * RAD
        p[2] = g(D.PAR_DRIVE_LOOKAHEAD)
        p[3] = g(D.PAR_DRIVE_SLOPE_LIMIT) * RAD
        p[4] = g(D.PAR_POWER_RESERVE)
        p[5] = SIGMA_GYRO
        sig = g(D.PAR_NAV_SUN_SIGMA) * RAD
        p[6] = sig * sig
        p[13] = 0.0  # horizon: the app feeds the Sun's elevation only while it sees the Sun
        p[15] = g(D.PAR_DRILL_TORQUE_MAX)
        p[16] = g(D.PAR_DRILL_CURRENT_MAX)
        p[17] = g(D.PAR_DRILL_TEMP_MAX)
        p[19] = g(D.PAR_DRILL_FEED)

    # ---- route --------------------------------------------------------------------------
    def hold(self):
        # a path for a stationary rover: the step needs two points; its command is not used
        p, s = self.path, self.s
        p[0], p[1], p[2], p[3] = s[0], s[1], s[0] + 1.0, s[1]
        self.n = 2
        s[_S_INDEX] = 0.0

    def add(self, x, y, driving):
        if self.count >= MAX_POINTS - 1:
            return D.ERR_TABLE_FULL
        i = 2 * self.count
        self.wp[i], self.wp[i + 1] = x, y
        self.count += 1
        if driving:  # the path grows under the follower
            j = 2 * self.n
            self.path[j], self.path[j + 1] = x, y
            self.n += 1
        return 0

    def clear(self):
        self.count = self.next = 0

    def left(self):
        return self.count - self.next

    def begin(self):
        # the path: from here through the waypoints not reached; a new drive re-arms the stall checks
        self.stall_l.reset()
        self.stall_r.reset()
        p, s, w = self.path, self.s, self.wp
        p[0], p[1] = s[0], s[1]
        n = 1
        for i in range(self.next, self.count):
            p[2 * n], p[2 * n + 1] = w[2 * i], w[2 * i + 1]
            n += 1
        self.n = n
        self.base = self.next
        self.last_index = 0
        self.odo = 0.0
        s[_S_INDEX] = 0.0

    def to_go(self):
        # route distance left from the estimate: to the segment's end, then waypoint to waypoint
        s, w = self.s, self.wp
        if self.next >= self.count:
            return 0.0
        x, y = s[0], s[1]
        d = 0.0
        for i in range(self.next, self.count):
            dx, dy = w[2 * i] - x, w[2 * i + 1] - y
            d += math.sqrt(dx * dx + dy * dy)
            x, y = w[2 * i], w[2 * i + 1]
        return d

    def last_point(self):
        # where the route ends (the rover's position without one)
        if self.count:
            return self.wp[2 * self.count - 2], self.wp[2 * self.count - 1]
        return self.s[0], self.s[1]

    def cross_track(self, x, y):
        # distance of (x, y) from the path segment being followed
        i = 2 * int(self.s[_S_INDEX])
        p = self.path
        ax, ay, bx, by = p[i], p[i + 1], p[i + 2], p[i + 3]
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        t = ((x - ax) * dx + (y - ay) * dy) / ll if ll > 0.0 else 0.0
        t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
        ex, ey = x - ax - t * dx, y - ay - t * dy
        return math.sqrt(ex * ex + ey * ey)

    # ---- the cycle ------------------------------------------------------------------------
    def sense(self, soc, load_w, lit, drilling):
        # fill `in` from the sensors (after the world's step); soc and load from the battery
        hw, inp, s = self.hw, self.inp, self.s
        b1, b2 = self.b1, self.b2
        if hw.encoders is not None and hw.encoders.read(b2):
            inp[0], inp[1] = b2[0], b2[1]
            if self.stall_l.check(abs(self.vl), abs(b2[0])):
                self.wheel_fault, self.fault_cmd, self.fault_meas = 1, self.vl, b2[0]
            elif self.stall_r.check(abs(self.vr), abs(b2[1])):
                self.wheel_fault, self.fault_cmd, self.fault_meas = 2, self.vr, b2[1]
        else:  # no odometry: dead reckoning on the commands
            inp[0], inp[1] = self.vl, self.vr
        if hw.imu is not None and hw.imu.read(b1):
            inp[2] = b1[0]
        else:  # no gyro: the commanded turn rate (the bias estimate cancels in the step)
            inp[2] = (self.vr - self.vl) / (2.0 * HALF_TRACK) + s[3]
        sun = self.sun
        c = self.sun_cfg
        sun_position(self.k // 10, sun, c[0], c[1], c[2], c[3])
        off = wrap(sun[0] - s[2])
        self.sun_in_fov = -SUN_FOV_IN < off < SUN_FOV_IN
        self.sun_valid = hw.sun_sensor is not None and hw.sun_sensor.read(b2)
        if self.sun_valid:
            inp[3] = 1.0
            inp[4] = wrap(sun[0] - b2[0])  # psi = Sun azimuth (reference) - azimuth seen from the rover
            self.sun_fixes += 1
        else:
            inp[3] = 0.0
        inp[5] = sun[1] if lit else -1.0  # below the 0 horizon: no generation predicted, heater on
        inp[6] = off
        lim = self.prm[3]
        if hw.hazard is not None and hw.hazard.slope_ahead(b1):
            self.slope = b1[0] * RAD
        else:
            self.slope = lim  # a silent hazard sensor is a hazard: the step stops
        inp[7] = self.slope
        if drilling and hw.drill is not None:
            hw.drill.read(self.dmeas)
        inp[11] = 1.0 if drilling else 0.0
        inp[12] = DT
        s[_S_SOC] = soc  # the measured state of charge: the follower slows and stops on it
        self.prm[14] = load_w

    def step(self):
        gnc.rover_step(self.s, self.inp, self.prm, self.path, self.n, self.out)

    def wheels(self, v, omega):
        # skid steer: scale (v, omega) together so no side exceeds the wheels' limit
        vl = v - omega * HALF_TRACK
        vr = v + omega * HALF_TRACK
        m = abs(vl) if abs(vl) > abs(vr) else abs(vr)
        if m > WHEEL_MAX:
            k = WHEEL_MAX / m
            vl *= k
            vr *= k
            v *= k
            omega *= k
        self.vl, self.vr, self.v, self.omega = vl, vr, v, omega
        if self.hw.wheels is not None:
            self.hw.wheels.command(vl, vr)

    def charge_turn(self):
        # CHARGE: turn in place until the panel (normal along the heading) faces the Sun
        err = wrap(self.sun[0] - self.s[2])
        if -CHARGE_DONE < err < CHARGE_DONE:
            return 0.0
        w = CHARGE_GAIN * err
        m = self.prm[1]
        return m if w > m else (-m if w < -m else w)
