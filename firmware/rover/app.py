# The rover flight app: the Vehicle with its modes, ST8 functions on APIDs 0x020-0x024, its
# 10 Hz task and housekeeping. The cycle (cycle()) is: world step, battery, sensors,
# gnc.rover_step, hazard / route / reserve reactions, wheels, drill.
#
# Modes (the dictionary's docs): SURVIVAL everything stopped but the heaters (FDIR's safe
# mode: the battery below the reserve or out of its temperature range); IDLE stationary;
# DRIVE following the route; DRILL stationary, drilling; CHARGE turning the panel to the Sun,
# then still. Leaving DRILL with the bit down retracts it (the drill keeps running until it
# is out, in any mode); leaving DRIVE keeps the waypoints not reached.
from micropython import const

import gnc
from fsw import dictionary as D
from fsw.vehicle import REASON_AUTONOMOUS, REASON_COMMAND, Vehicle
from hw.moon import wrap
from rover.drill import Drill
from rover.drive import DEG, MAX_POINTS, Drive, ticks_diff, ticks_us
from rover.power import Power

_SURVIVAL = const(0)
_IDLE = const(1)
_DRIVE = const(2)
_DRILL = const(3)
_CHARGE = const(4)
_PERIOD_MS = const(100)
_PARAM_EVERY = const(10)  # cycles between parameter refreshes and reserve predictions
_ACT_DRIVE = const(1)
_ACT_DRILL = const(2)
_BACKENDS = {"fallback": 0, "cffi": 1, "native-mpy": 2}


class Rover(Vehicle):
    def __init__(self, obc, hw, scenario):
        super().__init__(obc, hw, "rover", D.EVT_ROVER_MODE_CHANGED, D.MODE_ROVER_SURVIVAL)
        self.params = obc.params
        self.drive = dv = Drive(hw, obc.params, scenario)
        self.power = Power(hw, obc.params, obc.events, dv.s[0], dv.s[1])
        self.drill = Drill(hw, obc.events, obc.large_data, dv.s, dv.prm, dv.inp, dv.out)
        self.backend = _BACKENDS.get(gnc.BACKEND, 0)
        self.hazard_stops = 0
        self.reached = 0
        self.measure_pending = 0  # samples of a spectrum asked for (0: none)

        fn = self.functions
        fn.add(D.FN_ROVER_MOBILITY_SET_MODE, self.cmd_set_mode, self.check_set_mode)
        fn.add(D.FN_ROVER_MOBILITY_INJECT_FAULT, lambda args: self.inject_fault(D.FN_ROVER_MOBILITY_INJECT_FAULT, args))
        fn.add(D.FN_ROVER_MOBILITY_CLEAR_FAULTS, lambda args: self.clear_faults(D.FN_ROVER_MOBILITY_CLEAR_FAULTS, args))
        fn.add(D.FN_ROVER_MOBILITY_STOP, self.cmd_stop)
        fn.add(D.FN_ROVER_NAV_ADD_WAYPOINT, self.cmd_add_waypoint, self.check_add_waypoint)
        fn.add(D.FN_ROVER_NAV_CLEAR_ROUTE, self.cmd_clear_route)
        fn.add(D.FN_ROVER_NAV_DRIVE, self.cmd_drive, self.check_drive)
        fn.add(D.FN_ROVER_DRILL_DRILL, self.cmd_drill, self.check_drill)
        fn.add(D.FN_ROVER_DRILL_RETRACT, self.cmd_retract)
        fn.add(D.FN_ROVER_SPECTROMETER_MEASURE, self.cmd_measure, self.check_measure)
        fn.add(D.FN_ROVER_POWER_THERMAL_CHARGE, self.cmd_charge)

        self.control = self.task("drive", _PERIOD_MS, self.cycle)

        hk = obc.hk
        hk.add(D.HK_ROVER_MOBILITY, self.hk_mobility, 1000)
        hk.add(D.HK_ROVER_NAV, self.hk_nav, 1000)
        hk.add(D.HK_ROVER_TRUTH, self.hk_truth, 1000)
        hk.add(D.HK_ROVER_DRILL, self.hk_drill, 1000)
        hk.add(D.HK_ROVER_SPECTROMETER, self.hk_spectrometer, 5000)
        hk.add(D.HK_ROVER_POWER, self.hk_power, 1000)

    # ---- the 10 Hz cycle -------------------------------------------------------------------
    def cycle(self, cycle_ms):
        t0 = ticks_us()
        dv, pw, dr = self.drive, self.power, self.drill
        self.hw.step(0.1)  # the emulated world moves with the commands of the last cycle
        dv.k += 1
        if dv.k % _PARAM_EVERY == 0:
            dv.load_params()
        soc = pw.read()
        drilling = dr.active()
        dv.sense(soc, pw.bat[2], pw.lit, drilling)
        if dv.wheel_fault:  # stuck wheels: stop, report, safe the vehicle (FDIR's record keeps why)
            side, dv.wheel_fault = dv.wheel_fault, 0
            dv.wheels(0.0, 0.0)
            self.events.emit(D.EVT_ROVER_WHEEL_FAULT, (side, dv.fault_cmd, dv.fault_meas))
            self.obc.fdir.safe(D.SAFING_DEVICE, side)
        try:
            dv.step()
        except gnc.GncError:
            dv.step_errors += 1
            dv.wheels(0.0, 0.0)  # no command from a failed step
            raise  # the task's heartbeat stops: FDIR sees it
        s, o = dv.s, dv.out
        mode = self.mode
        v = w = 0.0
        if mode == _DRIVE:
            v, w = o[0], o[1]
            self._follow()
            if self.mode == _DRIVE and dv.k % _PARAM_EVERY == 0:
                self._reserve_watch()
            if self.mode != _DRIVE:
                v = w = 0.0
        elif mode == _CHARGE:
            w = dv.charge_turn()
        dv.wheels(v, w)
        if dr.busy():
            dr.after_step()
        if self.mode == _DRILL and not dr.busy():
            self.set_mode(_IDLE, REASON_AUTONOMOUS)  # the hole is finished (or abandoned)
        pw.check(s[0], s[1], dv.sun_valid, dv.sun_in_fov)
        if self.measure_pending:
            n, self.measure_pending = self.measure_pending, 0
            dr.measure(n, self.hw.world.pose)  # the emulated instrument needs the true place
        dt = ticks_diff(ticks_us(), t0)
        dv.cycle_us = dt
        if dt > dv.cycle_us_max:
            dv.cycle_us_max = dt

    def _follow(self):
        # after the step in DRIVE: waypoints passed, the route's end, the slope limit
        dv, s = self.drive, self.drive.s
        idx = int(s[10])
        while dv.last_index < idx:
            dv.last_index += 1
            self._reached(dv.base + dv.last_index)
        dv.odo += abs(dv.v) * 0.1
        if dv.out[2] > 0.5:
            self._reached(dv.count)
            self.events.emit(D.EVT_ROVER_ROUTE_DONE, (dv.count, s[0], s[1], dv.odo))
            dv.clear()
            dv.hold()
            self.set_mode(_IDLE, REASON_AUTONOMOUS)
        elif dv.slope >= dv.prm[3]:
            # the step commanded v = 0 at the limit: never onto it. Report and stop here.
            self.hazard_stops += 1
            self.events.emit(D.EVT_ROVER_HAZARD_STOP, (dv.slope * DEG, dv.prm[3] * DEG, s[0], s[1]))
            self.set_mode(_IDLE, REASON_AUTONOMOUS)

    def _reached(self, number):
        # waypoint `number` (1-based in the route) passed
        dv = self.drive
        if number <= dv.next:
            return
        dv.next = number
        self.reached = number
        self.events.emit(D.EVT_ROVER_WAYPOINT_REACHED, (number, dv.s[0], dv.s[1]))

    def _reserve_watch(self):
        # 1 Hz in DRIVE: the rest of the route and the way home from its end
        dv, pw = self.drive, self.power
        predicted = pw.bat[0] - pw.drive_use(dv.to_go() + self._home_from_end())
        if predicted < self.params.get(D.PAR_POWER_RESERVE):
            self.events.emit(D.EVT_ROVER_ROUTE_ABORTED, (pw.bat[0], predicted, dv.next + 1))
            self.set_mode(_IDLE, REASON_AUTONOMOUS)

    def _home_from_end(self):
        x, y = self.drive.last_point()
        return self.power.home_distance(x, y)

    # ---- modes ------------------------------------------------------------------------------
    def enter(self, mode, old):
        dv = self.drive
        if old == _DRIVE:
            dv.hold()
        if mode != _DRIVE and mode != _CHARGE:
            dv.wheels(0.0, 0.0)
        if old == _DRILL and mode != _DRILL:
            self.drill.retract()  # the bit comes out whatever the new mode

    # ---- functions --------------------------------------------------------------------------
    def check_set_mode(self, args):
        return D.ERR_ARG_OUT_OF_RANGE if args[0] == _DRIVE or args[0] == _DRILL else 0

    def cmd_set_mode(self, args):
        if args[0] != self.mode:
            self.set_mode(args[0], REASON_COMMAND)
        return 0

    def cmd_stop(self, args):
        self.drive.wheels(0.0, 0.0)
        if self.mode != _IDLE:
            self.set_mode(_IDLE, REASON_COMMAND)
        return 0

    def check_add_waypoint(self, args):
        return D.ERR_TABLE_FULL if self.drive.count >= MAX_POINTS - 1 else 0

    def cmd_add_waypoint(self, args):
        return self.drive.add(args[0], args[1], self.mode == _DRIVE)

    def cmd_clear_route(self, args):
        self.drive.clear()
        return 0

    def check_drive(self, args):
        dv, pw = self.drive, self.power
        if dv.left() <= 0:
            return D.ERR_EXECUTION_FAILED
        return pw.refuse(_ACT_DRIVE, pw.bat[0] - pw.drive_use(dv.to_go() + self._home_from_end()))

    def cmd_drive(self, args):
        self.drive.begin()
        self.set_mode(_DRIVE, REASON_COMMAND)
        return 0

    def check_drill(self, args):
        pw, s = self.power, self.drive.s
        if self.hw.drill is None:
            return D.ERR_EXECUTION_FAILED
        if self.drill.active():
            return D.ERR_BUSY  # still retracting from an earlier hole
        return pw.refuse(_ACT_DRILL, pw.bat[0] - pw.drill_use(args[0]) - pw.drive_use(pw.home_distance(s[0], s[1])))

    def cmd_drill(self, args):
        s = self.drive.s
        self.drill.start(args[0], s[0], s[1])
        self.set_mode(_DRILL, REASON_COMMAND)
        return 0

    def cmd_retract(self, args):
        self.drill.retract()
        return 0

    def check_measure(self, args):
        s = self.drive.s
        return self.drill.check_measure(s[0], s[1])

    def cmd_measure(self, args):
        # measured in the next cycle, not inside the TC's handler: the product's events and
        # ST13 parts must not interleave with this TC's own verification reports
        self.measure_pending = args[0]
        return 0

    def cmd_charge(self, args):
        if self.mode != _CHARGE:
            self.set_mode(_CHARGE, REASON_COMMAND)
        return 0

    # ---- housekeeping (1 Hz or slower: tuples allowed) ----------------------------------------
    def hk_mobility(self):
        dv = self.drive
        return (self.mode, dv.v, dv.omega * DEG, dv.slope * DEG, self.hazard_stops, dv.step_errors, self.backend,
                dv.cycle_us, dv.cycle_us_max)

    def hk_nav(self):
        dv, s = self.drive, self.drive.s
        driving = self.mode == _DRIVE
        return (s[0], s[1], s[2] * DEG, (s[4] ** 0.5) * DEG, s[3] * DEG * 3600.0, dv.sun_fixes, dv.count, dv.next,
                dv.cross_track(s[0], s[1]) if driving else 0.0, dv.to_go())

    def hk_truth(self):
        dv, s, w = self.drive, self.drive.s, self.hw.world
        p = w.pose
        dx, dy = s[0] - p[0], s[1] - p[1]
        b = self.hw.battery
        return (p[0], p[1], p[2] * DEG, (dx * dx + dy * dy) ** 0.5, wrap(s[2] - p[2]) * DEG,
                dv.cross_track(p[0], p[1]) if self.mode == _DRIVE else 0.0, 1 if w.lit else 0,
                w.terrain.slope(p[0], p[1]), self.hw.drill.depth if self.hw.drill is not None else 0.0,
                b.soc() if b is not None else 0.0, w.time())

    def hk_drill(self):
        d, s, i = self.drill, self.drive.s, self.drive.inp
        return (int(s[7]), s[6], self.drive.prm[18], d.deepest, i[8], i[9], i[10], int(s[9]), d.holes)

    def hk_spectrometer(self):
        d = self.drill
        return (d.spectra, d.last_transaction, d.last_peak)

    def hk_power(self):
        pw, b = self.power, self.power.bat
        return (b[0], b[1], b[2], self.drive.out[3], b[3], pw.heater(), 1 if pw.lit else 0, pw.soc_min)


def start(obc, board):
    # board["scenario"]: initial conditions and model options for hw.rover.build (tests, demos)
    from hw import rover as hw_rover

    scenario = board.get("scenario", {})
    hw = hw_rover.build(board, board.get("seed", 1), **scenario)
    return Rover(obc, hw, scenario)
