# The rover's truth world near the lunar south pole, small enough to run on the
# board itself: a procedural terrain (a few craters, mounds and long swells
# summed analytically, so height and slope cost a handful of exp/sqrt and no
# tables), the Sun a few degrees above the horizon sweeping 360 deg of azimuth
# per lunar day, terrain shadowing, and the rover pose.
#
# Frame: x east, y north, z up, metres, origin at the start area. Azimuths (the
# Sun's, the rover heading psi) are measured from +x toward +y, as gnc.h's pose
# ("psi from +x toward +y"), wrapped to [-pi, pi) like gnc.rover_kinematics.
import math
from array import array

from micropython import const

import gnc
from hw.noise import Rng

DAY_S = const(2551443)  # s: synodic lunar day 29.530589 d, the Sun's azimuth period at the pole
MOON_RADIUS = 1737400.0  # m: the horizon drops d^2 / 2R at distance d
TWO_PI = 2.0 * math.pi
_DEG = math.pi / 180.0

# The Sun at the site: elevation = mean + amp cos(az - az_peak), the site's offset
# from the pole seen once per lunar day (1 deg of colatitude ~ 30 km). Defaults
# keep it between 0.5 and 2.5 deg: never more than 3 deg up (GNC.md). The pole lies
# east of the site (az_peak 0), beyond the PSR crater: at the default start the Sun
# stands highest, ahead of a rover heading east to the crater.
SUN_EL_MEAN = 1.5 * _DEG
SUN_EL_AMP = 1.0 * _DEG
SUN_AZ_PEAK = 0.0  # map azimuth of the pole: the Sun stands highest there
SUN_EL_MAX = 3.0 * _DEG

# The permanently shadowed crater (fixed, not seeded, so routes and tests can name
# it): centre x, y, rim radius, depth below the datum, rim height. depth/diameter
# 0.075 keeps its walls under 20 deg (a rover can drive in) while the floor inside
# half the rim radius sees a horizon above 3 deg in every direction, above any Sun
# elevation the model allows (both checked in tests/firmware/hw/test_rover_hw.py).
PSR_X = 400.0
PSR_Y = 0.0
PSR_R = 100.0
_PSR_DEPTH = 15.0
_PSR_RIM = 2.0
_RIM_DECAY = 0.3  # rim height decays outside over this fraction of the radius

# Horizon march: fixed distances (m), then each feature's own critical points.
_MARCH = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
_MARCH_MAX = 700.0
# The world recomputes the rover's illumination after this much motion or time
# (the Sun moves 0.009 deg a minute; a shadow edge a few cm/s at most).
_LIGHT_MOVE2 = 0.25  # m^2: 0.5 m
_LIGHT_PERIOD_S = const(60)


def wrap(a):
    # to [-pi, pi)
    return (a + math.pi) % TWO_PI - math.pi


def sun_position(t, out, az0=0.0, el_mean=SUN_EL_MEAN, el_amp=SUN_EL_AMP, az_peak=SUN_AZ_PEAK):
    # On-board reference: out[0] = Sun azimuth (rad, [-pi, pi)), out[1] = elevation
    # (rad) at t s after the epoch at which the azimuth was az0. The flight app uses it
    # to turn a sun-sensor reading into a heading. The emulation uses this same model
    # for the truth (MoonWorld), so a sun fix has only sensor noise, no model error;
    # a real mission would use an ephemeris here. Pass t as integer seconds on a board:
    # the int modulo is exact, a float32 t of 2.5e6 s is not.
    ph = (t % DAY_S) / DAY_S
    az = wrap(az0 + TWO_PI * ph)
    out[0] = az
    out[1] = el_mean + el_amp * math.cos(az - az_peak)


class Terrain:
    def __init__(self, seed=1):
        rng = Rng(seed * 7919 + 17)
        j = rng.uniform
        # craters: [cx, cy, R, depth, rim height] each; the PSR crater first
        self.craters = array("f", (PSR_X, PSR_Y, PSR_R, _PSR_DEPTH, _PSR_RIM,
                                   150.0 + 30.0 * (j() - 0.5), -170.0 + 30.0 * (j() - 0.5), 25.0, 4.0, 0.6))
        # mounds: [cx, cy, height, cos th, sin th, 1/sigma_along^2, 1/sigma_across^2]
        m = []
        for cx, cy, h, sa, sc, th in (
            # steepest flank over seeds 1-5, from Terrain.slope:
            (-150.0, 140.0, 6.0, 40.0, 40.0, 0.0),  # broad hill, 5-6 deg: passable
            (200.0, 70.0, 3.0, 4.0, 4.0, 0.0),  # blocky mound, 23-27 deg: a slope hazard
            (250.0, -75.0, 4.0, 30.0, 4.0, 20.0),  # ridge, 30-31 deg across: a slope hazard
        ):
            th = (th + 20.0 * (j() - 0.5)) * _DEG
            m.extend((cx + 20.0 * (j() - 0.5), cy + 20.0 * (j() - 0.5), h * (0.9 + 0.2 * j()),
                      math.cos(th), math.sin(th), 1.0 / (sa * sa), 1.0 / (sc * sc)))
        self.mounds = array("f", m)
        # long swells: [kx, ky, phase, amplitude]; 0.3 m over 150-250 m wavelength: each
        # at most atan(0.3 * 2 pi / 150) = 0.72 deg
        w = []
        for _ in range(2):
            lam = 150.0 + 100.0 * j()
            d = TWO_PI * j()
            k = TWO_PI / lam
            w.extend((k * math.cos(d), k * math.sin(d), TWO_PI * j(), 0.3))
        self.waves = array("f", w)
        self.g = array("f", (0.0, 0.0))  # gradient of the last slope() / grad() call

    def height(self, x, y):
        h = 0.0
        c = self.craters
        for i in range(0, len(c), 5):
            dx = x - c[i]
            dy = y - c[i + 1]
            r2 = dx * dx + dy * dy
            rr = c[i + 2]
            if r2 < rr * rr:
                # parabolic bowl from -depth at the centre to the rim height at R
                h += -c[i + 3] + (c[i + 3] + c[i + 4]) * r2 / (rr * rr)
            else:
                e = (math.sqrt(r2) - rr) / (_RIM_DECAY * rr)
                if e < 8.0:
                    h += c[i + 4] * math.exp(-e)
        m = self.mounds
        for i in range(0, len(m), 7):
            dx = x - m[i]
            dy = y - m[i + 1]
            u = dx * m[i + 3] + dy * m[i + 4]
            v = dy * m[i + 3] - dx * m[i + 4]
            q = u * u * m[i + 5] + v * v * m[i + 6]
            if q < 40.0:
                h += m[i + 2] * math.exp(-0.5 * q)
        w = self.waves
        for i in range(0, len(w), 4):
            h += w[i + 3] * math.sin(w[i] * x + w[i + 1] * y + w[i + 2])
        return h

    def grad(self, x, y, g):
        # g[0], g[1] = dh/dx, dh/dy (analytic); returns h
        h = 0.0
        gx = 0.0
        gy = 0.0
        c = self.craters
        for i in range(0, len(c), 5):
            dx = x - c[i]
            dy = y - c[i + 1]
            r2 = dx * dx + dy * dy
            rr = c[i + 2]
            if r2 < rr * rr:
                a = (c[i + 3] + c[i + 4]) / (rr * rr)
                h += -c[i + 3] + a * r2
                gx += 2.0 * a * dx
                gy += 2.0 * a * dy
            else:
                r = math.sqrt(r2)
                lam = _RIM_DECAY * rr
                e = (r - rr) / lam
                if e < 8.0:
                    hc = c[i + 4] * math.exp(-e)
                    h += hc
                    k = -hc / (lam * r)
                    gx += k * dx
                    gy += k * dy
        m = self.mounds
        for i in range(0, len(m), 7):
            dx = x - m[i]
            dy = y - m[i + 1]
            cs = m[i + 3]
            sn = m[i + 4]
            u = dx * cs + dy * sn
            v = dy * cs - dx * sn
            q = u * u * m[i + 5] + v * v * m[i + 6]
            if q < 40.0:
                hm = m[i + 2] * math.exp(-0.5 * q)
                h += hm
                du = u * m[i + 5]
                dv = v * m[i + 6]
                gx -= hm * (du * cs - dv * sn)
                gy -= hm * (du * sn + dv * cs)
        w = self.waves
        for i in range(0, len(w), 4):
            a = w[i] * x + w[i + 1] * y + w[i + 2]
            h += w[i + 3] * math.sin(a)
            k = w[i + 3] * math.cos(a)
            gx += k * w[i]
            gy += k * w[i + 1]
        g[0] = gx
        g[1] = gy
        return h

    def slope(self, x, y):
        # slope magnitude (deg), any direction; self.g keeps the gradient
        g = self.g
        self.grad(x, y, g)
        return math.atan(math.sqrt(g[0] * g[0] + g[1] * g[1])) / _DEG

    def slope_dir(self, x, y):
        # azimuth (rad) of steepest ascent: uphill; 0 on flat ground
        g = self.g
        self.grad(x, y, g)
        return math.atan2(g[1], g[0])

    def _ratio(self, x0, y0, h0, cs, sn, d, worst):
        # max(worst, tangent of the elevation of the ground d m away toward (cs, sn))
        if d <= 0.0 or d > _MARCH_MAX:
            return worst
        r = (self.height(x0 + d * cs, y0 + d * sn) - h0 - 0.5 * d * d / MOON_RADIUS) / d
        return r if r > worst else worst

    def horizon_tan(self, x, y, az, mast=1.0, stop=1e9):
        # Tangent of the local horizon's elevation seen from mast m above (x, y) toward az:
        # the steepest line of sight to the fixed march distances and to each feature's
        # critical points on the ray (a crater's rim crossings: inside a bowl the rim is
        # the horizon, the secant of a convex profile grows with distance; a mound's
        # highest point on the ray, and 0.7 of the way there, where a near mound's
        # flank can stand higher in the line of sight). Returns early once it exceeds `stop`.
        cs = math.cos(az)
        sn = math.sin(az)
        h0 = self.height(x, y) + mast
        t = -1e9
        c = self.craters
        for i in range(0, len(c), 5):
            fx = x - c[i]
            fy = y - c[i + 1]
            b = fx * cs + fy * sn
            rr = c[i + 2]
            disc = b * b - (fx * fx + fy * fy - rr * rr)
            if disc >= 0.0:
                s = math.sqrt(disc)
                t = self._ratio(x, y, h0, cs, sn, -b + s, t)
                t = self._ratio(x, y, h0, cs, sn, -b - s, t)
                if t > stop:
                    return t
        m = self.mounds
        for i in range(0, len(m), 7):
            # the ray's highest point over the mound: the minimum of its quadratic form
            fx = x - m[i]
            fy = y - m[i + 1]
            u0 = fx * m[i + 3] + fy * m[i + 4]
            v0 = fy * m[i + 3] - fx * m[i + 4]
            du = cs * m[i + 3] + sn * m[i + 4]
            dv = sn * m[i + 3] - cs * m[i + 4]
            s = -(u0 * du * m[i + 5] + v0 * dv * m[i + 6]) / (du * du * m[i + 5] + dv * dv * m[i + 6])
            t = self._ratio(x, y, h0, cs, sn, s, t)
            t = self._ratio(x, y, h0, cs, sn, 0.7 * s, t)
            if t > stop:
                return t
        for d in _MARCH:
            t = self._ratio(x, y, h0, cs, sn, d, t)
            if t > stop:
                return t
        return t

    def horizon(self, x, y, az, mast=1.0):
        # elevation (rad) of the local horizon toward az
        return math.atan(self.horizon_tan(x, y, az, mast))


class MoonWorld:
    # Options: seed, start (x, y, psi), sun_az0 (rad, Sun azimuth at t = 0), sun_el_mean,
    # sun_el_amp, sun_az_peak, track (m, wheel track for skid steering), slip (0..1: the
    # fraction of the wheels' speed and turn rate lost to slip), mast (m, height of the
    # sun sensor and panels above the ground).
    def __init__(self, seed=1, start=(0.0, 0.0, 0.0), sun_az0=SUN_AZ_PEAK, sun_el_mean=SUN_EL_MEAN,
                 sun_el_amp=SUN_EL_AMP, sun_az_peak=SUN_AZ_PEAK, track=0.6, slip=0.0, mast=1.0):
        if len(start) != 3:
            raise ValueError("moon: start must be (x, y, psi), got %d values" % len(start))
        for name, v in (("start x", start[0]), ("start y", start[1]), ("start psi", start[2]),
                        ("sun_az0", sun_az0), ("sun_el_mean", sun_el_mean), ("sun_el_amp", sun_el_amp),
                        ("sun_az_peak", sun_az_peak), ("track", track), ("slip", slip), ("mast", mast)):
            if not math.isfinite(v):
                raise ValueError("moon: %s must be finite, got %r" % (name, v))
        if sun_el_amp < 0.0 or abs(sun_el_mean) + sun_el_amp > SUN_EL_MAX + 1e-9:
            raise ValueError("moon: the Sun must stay within 3 deg of the horizon: |sun_el_mean| + sun_el_amp = "
                             "%.3f deg" % ((abs(sun_el_mean) + sun_el_amp) / _DEG))
        if track <= 0.0:
            raise ValueError("moon: track must be > 0 m, got %r" % track)
        if not 0.0 <= slip < 1.0:
            raise ValueError("moon: slip must be in 0..1 (exclusive), got %r" % slip)
        if mast < 0.0:
            raise ValueError("moon: mast must be >= 0 m, got %r" % mast)
        self.terrain = Terrain(seed)
        self.sun_az0 = sun_az0
        self.sun_el_mean = sun_el_mean
        self.sun_el_amp = sun_el_amp
        self.sun_az_peak = sun_az_peak
        self.track = track
        self.slip = slip
        self.mast = mast
        self.pose = array("f", (start[0], start[1], wrap(start[2])))
        self.wheel = array("f", (0.0, 0.0))  # actual left, right wheel rim speeds (m/s), set by mobility
        self.v = 0.0  # true body speed and yaw rate after slip
        self.omega = 0.0
        # flight time as integers (ARCHITECTURE.md "Time"): seconds within the lunar day,
        # milliseconds within the second, and whole lunar days
        self.t_s = 0
        self.t_ms = 0
        self.days = 0
        self.sun = array("f", (0.0, 0.0))  # [azimuth, elevation] now
        self._sun_tmp = array("f", (0.0, 0.0))
        self.lit = True
        self._lit_x = 0.0
        self._lit_y = 0.0
        self._lit_t = 0
        self._update_sun()
        self.update_light()

    def time(self):
        # seconds since start (float: for logs and tests, not for the Sun)
        return self.days * DAY_S + self.t_s + self.t_ms * 0.001

    def _update_sun(self):
        sun_position(self.t_s, self.sun, self.sun_az0, self.sun_el_mean, self.sun_el_amp, self.sun_az_peak)

    def sun_at(self, t, out):
        # the Sun of this world at t s (truth; same model as the on-board reference)
        sun_position(t, out, self.sun_az0, self.sun_el_mean, self.sun_el_amp, self.sun_az_peak)

    def illuminated(self, x, y, t, mast=None):
        # True when the Sun at t s clears the terrain horizon seen mast m above (x, y)
        sun = self._sun_tmp
        self.sun_at(t, sun)
        az = sun[0]
        te = math.tan(sun[1])
        return self.terrain.horizon_tan(x, y, az, self.mast if mast is None else mast, te) < te

    def update_light(self):
        p = self.pose
        te = math.tan(self.sun[1])
        self.lit = self.terrain.horizon_tan(p[0], p[1], self.sun[0], self.mast, te) < te
        self._lit_x = p[0]
        self._lit_y = p[1]
        self._lit_t = self.t_s

    def set_pose(self, x, y, psi):
        # teleport (tests, scenario set-up)
        p = self.pose
        p[0] = x
        p[1] = y
        p[2] = wrap(psi)
        self.update_light()

    def step(self, dt):
        # advance dt s with the wheels' current speeds (self.wheel)
        if not dt > 0.0 or dt > 60.0:
            raise ValueError("moon: dt must be in (0, 60] s, got %r" % dt)
        ms = self.t_ms + int(dt * 1000.0 + 0.5)
        s = self.t_s + ms // 1000
        self.t_ms = ms % 1000
        if s >= DAY_S:
            s -= DAY_S
            self.days += 1
            self._lit_t -= DAY_S
        self.t_s = s
        k = 1.0 - self.slip
        vl = self.wheel[0]
        vr = self.wheel[1]
        self.v = 0.5 * (vl + vr) * k
        self.omega = (vr - vl) / self.track * k
        p = self.pose
        if self.v != 0.0 or self.omega != 0.0:
            gnc.rover_kinematics(p, self.v, self.omega, dt)
        self._update_sun()
        dx = p[0] - self._lit_x
        dy = p[1] - self._lit_y
        if dx * dx + dy * dy >= _LIGHT_MOVE2 or s - self._lit_t >= _LIGHT_PERIOD_S:
            self.update_light()
