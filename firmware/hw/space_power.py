# The inspector's power system as a model on the board: body-mounted solar panels and a
# battery. A panel gives flux * efficiency * area * max(0, cos(Sun angle to its normal)),
# nothing in eclipse; the battery integrates generation minus the load (Wh), held within
# 0..capacity (a full battery sheds the surplus, as a shunt regulator does; an empty one
# cannot supply: soc stays 0 and read() reports the load it is asked for).
# Default panels: the 6U body's faces (10 x 23 x 34 cm): +x (23 x 34 cm) and +/-y (10 x 34).
import math
from array import array

import gnc

_FLUX = 1361.0  # W/m^2, solar constant at 1 au


class Battery:
    NAME = "battery"
    FAULTS = ()

    def __init__(self, world, capacity_wh=40.0, soc=0.8, load_w=3.0, efficiency=0.28,
                 panels=((1.0, 0.0, 0.0, 0.0782), (0.0, 1.0, 0.0, 0.034), (0.0, -1.0, 0.0, 0.034))):
        if not capacity_wh > 0.0 or not 0.0 <= soc <= 1.0:
            raise ValueError("battery: needs capacity_wh > 0 and 0 <= soc <= 1")
        self.world = world
        self.capacity_wh = capacity_wh
        self.energy_wh = soc * capacity_wh
        self.efficiency = efficiency
        self.load_w = 0.0
        self.set_load(load_w)
        # panels: normal (body, made unit) and area (m^2), 4 floats each
        self.panels = array("f", bytes(16 * len(panels)))
        for k in range(len(panels)):
            p = panels[k]
            if len(p) != 4 or not p[3] >= 0.0:
                raise ValueError("battery: a panel is (nx, ny, nz, area >= 0)")
            n = math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
            if not n > 0.0:
                raise ValueError("battery: a panel normal is a zero vector")
            for i in range(3):
                self.panels[4 * k + i] = p[i] / n
            self.panels[4 * k + 3] = p[3]
        self.power_in = 0.0
        self._q = array("f", bytes(4 * 4))
        self._s = array("f", bytes(4 * 3))

    def set_load(self, watts):
        if not 0.0 <= watts < math.inf:
            raise ValueError("battery.set_load: needs a finite load >= 0 W")
        self.load_w = watts

    def generation(self):
        # panel power now (W)
        w = self.world
        if w.in_eclipse:
            return 0.0
        q, s, b = self._q, self._s, w.body
        for i in range(4):
            q[i] = b[i]
        gnc.quat_rotate_inv(q, w.sun_eci, s)
        p = self.panels
        total = 0.0
        for k in range(0, len(p), 4):
            c = p[k] * s[0] + p[k + 1] * s[1] + p[k + 2] * s[2]
            if c > 0.0:
                total += c * p[k + 3]
        return total * _FLUX * self.efficiency

    def step(self, dt):
        self.power_in = self.generation()
        e = self.energy_wh + (self.power_in - self.load_w) * dt / 3600.0
        if e > self.capacity_wh:
            e = self.capacity_wh
        elif e < 0.0:
            e = 0.0
        self.energy_wh = e

    def read(self, out):
        # out: [state of charge 0..1, power in W, power out W]
        out[0] = self.energy_wh / self.capacity_wh
        out[1] = self.power_in
        out[2] = self.load_w
        return True

    def inject(self, fault, value=None):
        raise ValueError("battery: unknown fault %r (known: none)" % (fault,))

    def clear(self, fault=None):
        if fault is not None:
            raise ValueError("battery: unknown fault %r (known: none)" % (fault,))
