# The rover's power and thermal truth on the emulated board: vertical solar
# panel, battery, loads and survival heaters.
#
# Solar: a vertical panel whose normal points `panel_mount` rad from the heading
# gets area * eff * flux * cos(elev) * max(0, cos(sun_az - psi - panel_mount)),
# and nothing when the terrain hides the Sun (world.lit). That is the shape of
# gnc.power_step (power.c), so the flight estimate and this truth agree; p holds
# the parameters in power_step's layout for the flight app to copy:
# [panel_area m^2, efficiency, solar_flux W/m^2, capacity_J, heater_W, base_load_W].
# The truth's horizon is the terrain's, not power_step's single `horizon` angle.
#
# Loads: base + drive (rolling resistance per wheel speed, plus lifting the rover
# up the slope along its heading) + the drill motor + the heater when on.
# Battery: energy in J with compensated summation (a 0.1 s step adds a few J to
# about a MJ: the boards' single-precision floats would round a good part of each
# step away, and the error would pile up over an excursion), limited to 0..capacity
# (a full battery sheds the excess; an empty one sets `empty`).
# Thermal: one lumped mass, all electrical load ends up as heat, losing it to a
# sink that is cold in sunlight and far colder in shadow (a PSR floor radiates to
# ~40 K sky and ground). Survival heaters: on below heater_on_c, off above heater_off_c.
import math
from array import array

from hw.moon import wrap

_G_MOON = 1.62  # m/s^2
_DRIVE_W_PER_MPS = 50.0  # W per m/s of each side's rim speed (rolling resistance in regolith)
_DRIVE_EFF = 0.5  # motor + gear efficiency when climbing
_OVERHEAT_W = 200.0  # W of internal heat from an over_temperature fault (a failing cell)


class Battery:
    FAULTS = ("over_temperature",)

    def __init__(self, world, rng, wheels=None, drill=None, panel_area=0.5, efficiency=0.28, solar_flux=1361.0,
                 capacity_wh=300.0, heater_w=30.0, base_load_w=15.0, soc0=1.0, panel_mount=0.0, mass=60.0,
                 heat_cap=10000.0, conductance=0.25, sink_lit_c=-30.0, sink_dark_c=-170.0, temp0=0.0,
                 heater_on_c=-20.0, heater_off_c=-10.0, sigma_w=0.2, sigma_c=0.2):
        for name, v in (("panel_area", panel_area), ("efficiency", efficiency), ("solar_flux", solar_flux),
                        ("heater_w", heater_w), ("base_load_w", base_load_w), ("mass", mass)):
            if not (math.isfinite(v) and v >= 0.0):
                raise ValueError("battery: %s must be finite and >= 0, got %r" % (name, v))
        if not efficiency <= 1.0:
            raise ValueError("battery: efficiency must be in 0..1, got %r" % efficiency)
        if not (math.isfinite(capacity_wh) and capacity_wh > 0.0):
            raise ValueError("battery: capacity_wh must be > 0, got %r" % capacity_wh)
        if not (math.isfinite(soc0) and 0.0 <= soc0 <= 1.0):
            raise ValueError("battery: soc0 must be in 0..1, got %r" % soc0)
        if not (math.isfinite(heat_cap) and heat_cap > 0.0 and math.isfinite(conductance) and conductance >= 0.0):
            raise ValueError("battery: heat_cap must be > 0 J/K and conductance >= 0 W/K")
        if not heater_on_c < heater_off_c:
            raise ValueError("battery: heater_on_c (%r) must be below heater_off_c (%r)" % (heater_on_c, heater_off_c))
        self.world = world
        self.rng = rng
        self.wheels = wheels
        self.drill = drill
        self.capacity = capacity_wh * 3600.0  # J
        self.p = array("f", (panel_area, efficiency, solar_flux, self.capacity, heater_w, base_load_w))
        self._gain = panel_area * efficiency * solar_flux
        self.heater_w = heater_w
        self.base_load_w = base_load_w
        self.panel_mount = panel_mount
        self.mass = mass
        self.heat_cap = heat_cap
        self.conductance = conductance
        self.sink_lit_c = sink_lit_c
        self.sink_dark_c = sink_dark_c
        self.heater_on_c = heater_on_c
        self.heater_off_c = heater_off_c
        self.sigma_w = sigma_w
        self.sigma_c = sigma_c
        self.energy = soc0 * self.capacity  # J
        self._comp = 0.0  # Kahan compensation of energy
        self.temp = temp0  # C
        self.heater_on = 1 if temp0 < heater_on_c else 0
        self.solar_w = 0.0
        self.load_w = 0.0
        self.empty = False
        self.over_temperature = 0
        self._g = array("f", (0.0, 0.0))
        self.solar_w = self.solar()

    def set_fault(self, name, value):
        if name not in self.FAULTS:
            raise ValueError("battery: no fault %r (faults: %s)" % (name, ", ".join(self.FAULTS)))
        if not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError("battery: fault value must be a finite number, got %r" % value)
        self.over_temperature = value

    def soc(self):
        return self.energy / self.capacity

    def solar(self):
        # panel output now (W)
        w = self.world
        if not w.lit:
            return 0.0
        c = math.cos(wrap(w.sun[0] - w.pose[2] - self.panel_mount))
        return self._gain * math.cos(w.sun[1]) * c if c > 0.0 else 0.0

    def drive_w(self):
        w = self.world
        vl = w.wheel[0]
        vr = w.wheel[1]
        if vl == 0.0 and vr == 0.0:
            return 0.0
        p = w.pose
        g = self._g
        w.terrain.grad(p[0], p[1], g)
        rise = g[0] * math.cos(p[2]) + g[1] * math.sin(p[2])  # dh per metre along the heading
        climb = self.mass * _G_MOON * w.v * rise / math.sqrt(1.0 + rise * rise) / _DRIVE_EFF
        return _DRIVE_W_PER_MPS * (abs(vl) + abs(vr)) + (climb if climb > 0.0 else 0.0)

    def step(self, dt):
        load = self.base_load_w + self.drive_w()
        if self.drill is not None:
            load += self.drill.power_w()
        if self.heater_on:
            load += self.heater_w
        solar = self.solar()
        self.solar_w = solar
        self.load_w = load
        # compensated sum (Kahan 1965) of the energy
        y = (solar - load) * dt - self._comp
        e = self.energy + y
        self._comp = (e - self.energy) - y
        if e >= self.capacity:
            e = self.capacity
            self._comp = 0.0
        elif e <= 0.0:
            e = 0.0
            self._comp = 0.0
        self.empty = e <= 0.0
        self.energy = e
        heat = load
        if self.over_temperature:
            heat += _OVERHEAT_W
        sink = self.sink_lit_c if self.world.lit else self.sink_dark_c
        self.temp += dt * (heat - self.conductance * (self.temp - sink)) / self.heat_cap
        if self.temp < self.heater_on_c:
            self.heater_on = 1
        elif self.temp > self.heater_off_c:
            self.heater_on = 0

    def read(self, out):
        # out = [soc 0..1, solar W, load W, temperature C]
        g = self.rng.gauss
        out[0] = self.energy / self.capacity
        out[1] = self.solar_w + g(self.sigma_w)
        out[2] = self.load_w + g(self.sigma_w)
        out[3] = self.temp + g(self.sigma_c)
        return True
