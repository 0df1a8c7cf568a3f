# The inspector's thrusters as a model on the board: fire(dv) asks for an impulsive
# delta-v (LVLH, m/s) that the world applies at once. Hardware limits: a minimum impulse
# bit (a valve cannot open for less: smaller requests do nothing and are counted in
# `below_min`), a per-fire cap (the longest firing one command may make: larger requests
# are scaled down to it along the same direction and counted in `capped`), and the
# propellant (rocket equation with the wet mass; an empty tank fires nothing).
# Fault `leak` (value: a 3-vector, LVLH m/s per second): a stuck-open valve pushing the
# inspector continuously while propellant lasts; tick(dt) hands it to the world.
import math
from array import array

from hw.adcs_devices import check3

_G0 = 9.80665  # m/s^2


class Thrusters:
    NAME = "thrusters"
    FAULTS = ("leak",)

    def __init__(self, world, dry_mass=11.7, propellant=0.3, isp=60.0, dv_min=1e-4, dv_max=0.05):
        if not (dry_mass > 0.0 and propellant >= 0.0 and isp > 0.0 and 0.0 <= dv_min < dv_max):
            raise ValueError("thrusters: needs dry_mass > 0, propellant >= 0, isp > 0, 0 <= dv_min < dv_max")
        self.world = world
        self.dry_mass = dry_mass
        self.propellant = propellant  # kg remaining
        self.ve = isp * _G0  # exhaust speed, m/s (butane cold gas ~ 60-70 s)
        self.dv_min = dv_min  # minimum impulse bit / wet mass, m/s
        self.dv_max = dv_max
        self.dv_used = 0.0  # sum of |dv| fired, m/s
        self.fires = 0
        self.below_min = 0
        self.capped = 0
        self.empty = 0  # fires refused for want of propellant
        self.dv_leaked = 0.0  # sum of |dv| lost through a leak, m/s
        self.leak = array("f", bytes(4 * 3))
        self.leaking = False

    def _burn(self, dv):
        # propellant for |dv| (Tsiolkovsky); returns the |dv| actually delivered
        m = self.dry_mass + self.propellant
        dm = m * (1.0 - math.exp(-dv / self.ve))
        if dm >= self.propellant:
            dv = self.ve * math.log(m / self.dry_mass)
            self.propellant = 0.0
        else:
            self.propellant -= dm
        return dv

    def fire(self, dv):
        check3(dv, "thrusters.fire")
        x, y, z = dv[0], dv[1], dv[2]
        mag = math.sqrt(x * x + y * y + z * z)
        if mag < self.dv_min:
            self.below_min += 1
            return False
        if self.propellant <= 0.0:
            self.empty += 1
            return False
        want = mag
        if want > self.dv_max:
            want = self.dv_max
            self.capped += 1
        got = self._burn(want)
        k = got / mag
        self.world.impulse(x * k, y * k, z * k)
        self.dv_used += got
        self.fires += 1
        return True

    def tick(self, dt):
        # the leak's acceleration over the next dt, into the world (zero when tight or empty)
        acc = self.world.accel
        if self.leaking and self.propellant > 0.0:
            lk = self.leak
            a = math.sqrt(lk[0] * lk[0] + lk[1] * lk[1] + lk[2] * lk[2])
            got = self._burn(a * dt)
            k = got / (a * dt)
            self.dv_leaked += got
            for i in range(3):
                acc[i] = lk[i] * k
        else:
            acc[0] = 0.0
            acc[1] = 0.0
            acc[2] = 0.0

    def inject(self, fault, value=None):
        if fault != "leak":
            raise ValueError("thrusters: unknown fault %r (known: leak)" % (fault,))
        if value is None or isinstance(value, (int, float, str, bytes)):
            raise ValueError("thrusters: leak needs a 3-vector of LVLH m/s per second")
        check3(value, "thrusters leak")
        a = 0.0
        for i in range(3):
            self.leak[i] = value[i]
            a += value[i] * value[i]
        if not a > 0.0:
            raise ValueError("thrusters leak: zero vector")
        self.leaking = True

    def clear(self, fault=None):
        if fault is not None and fault != "leak":
            raise ValueError("thrusters: unknown fault %r (known: leak)" % (fault,))
        self.leaking = False
        for i in range(3):
            self.leak[i] = 0.0
