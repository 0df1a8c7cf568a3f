# The rover's battery, shadow and reserve. Each cycle reads the battery (state of charge,
# solar and load power, temperature) for the step and HK, tracks the lowest state of charge,
# reports a low battery once per excursion below power.low_soc, and judges shadow from the
# sun sensor: the Sun lost while it lies in the sensor's field of view is shadow (behind the
# rover the last judgement holds). `home` is the last place the rover saw the Sun.
#
# The reserve (GNC.md R4, power.reserve): a drive or a drill is refused when the state of
# charge predicted at its end, and after the way back home, falls below it; a drive under
# way is aborted at 1 Hz when that prediction for the rest of the route does. Predictions
# assume no sun at all (the worst case in a PSR) and add power.margin:
#   driving  P = base load + heater + 100 W per m/s (2 sides x 50 W per m/s of rim speed,
#            hw.rover_power's rolling resistance) for distance / (0.8 v_max) s (turns slow it)
#   drilling P = base load + heater + bus 28 V x drill.current_max, for 2 depth / feed + 10 s
from array import array

from micropython import const

from fsw import dictionary as D

_DRIVE_W_PER_MPS = 100.0
_SPEED_FRACTION = 0.8
_BUS_V = 28.0
_DRILL_EXTRA_S = 10.0
_REARM = 0.02  # soc above the low level by this before low_battery may be reported again
_P_CAP = const(3)  # power_step parameters [area, eff, flux, capacity_J, heater_W, base_W]
_P_HEATER = const(4)
_P_BASE = const(5)


class Power:
    def __init__(self, hw, params, events, x, y):
        self.hw = hw
        self.params = params
        self.events = events
        self.bat = array("f", (1.0, 0.0, 0.0, 0.0))  # [soc, solar W, load W, temperature C]
        self.p = hw.battery.p if hw.battery is not None else array("f", (0.5, 0.28, 1361.0, 1.08e6, 30.0, 15.0))
        self.soc_min = 1.0
        self.low = False
        self.lit = True
        self.home_x = x
        self.home_y = y
        self.read()
        self.soc_min = self.bat[0]

    def read(self):
        b = self.hw.battery
        if b is not None:
            b.read(self.bat)
        soc = self.bat[0]
        if soc < self.soc_min:
            self.soc_min = soc
        return soc

    def heater(self):
        return getattr(self.hw.battery, "heater_on", 0)

    def check(self, x, y, sun_valid, sun_in_fov):
        # once a cycle after the step: low battery, shadow transitions, home
        soc = self.bat[0]
        level = self.params.get(D.PAR_POWER_LOW_SOC)
        if not self.low and soc < level:
            self.low = True
            self.events.emit(D.EVT_ROVER_LOW_BATTERY, (soc, level))
        elif self.low and soc > level + _REARM:
            self.low = False
        if sun_valid:
            if not self.lit:
                self.lit = True
                self.events.emit(D.EVT_ROVER_LEFT_SHADOW, (x, y, soc))
        elif sun_in_fov and self.lit:
            self.lit = False
            self.events.emit(D.EVT_ROVER_ENTERED_SHADOW, (x, y, soc))
        if self.lit:
            self.home_x = x
            self.home_y = y

    # ---- predictions (no sun) ---------------------------------------------------------------
    def _soc_used(self, watts, seconds):
        p = self.p
        return (p[_P_BASE] + p[_P_HEATER] + watts) * seconds * (1.0 + self.params.get(D.PAR_POWER_MARGIN)) / p[_P_CAP]

    def drive_use(self, distance):
        v = self.params.get(D.PAR_DRIVE_V_MAX)
        return self._soc_used(_DRIVE_W_PER_MPS * v, distance / (_SPEED_FRACTION * v))

    def drill_use(self, depth):
        p = self.params.get
        return self._soc_used(_BUS_V * p(D.PAR_DRILL_CURRENT_MAX), 2.0 * depth / p(D.PAR_DRILL_FEED) + _DRILL_EXTRA_S)

    def home_distance(self, x, y):
        dx, dy = x - self.home_x, y - self.home_y
        return (dx * dx + dy * dy) ** 0.5

    def refuse(self, activity, predicted):
        # the reserve check of a drive or a drill: 0, or EXECUTION_FAILED with the event
        reserve = self.params.get(D.PAR_POWER_RESERVE)
        if predicted >= reserve:
            return 0
        self.events.emit(D.EVT_ROVER_RESERVE_REFUSED, (activity, self.bat[0], predicted, reserve))
        return D.ERR_EXECUTION_FAILED
