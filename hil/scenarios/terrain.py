"""A lunar south-pole terrain and Sun for the rover scenarios (the truth model: numpy float64).

Map frame: x, y in metres on a local tangent plane, z up; azimuths (the Sun's, the rover's
heading psi) are measured from +x toward +y, as gnc.h's rover pose. The terrain is a height
field h(x, y) on a regular grid (bilinear between nodes) built from:

- rolling regolith: Gaussian-filtered white noise at two correlation lengths (10 m, 3 m),
  scaled to an RMS slope of about 2.5 deg;
- a fresh simple crater (depth/diameter ~ 0.16, walls ~ 30 deg) whose floor is permanently
  shadowed: its rim hides a Sun that never rises more than a few degrees;
- steep patches above any sensible rover slope limit: two blocky mounds and an elongated
  ridge (25-35 deg flanks), and one gentle hill (~10 deg) that only slows the rover.

The Sun at the pole stays within a few degrees of the horizon and sweeps 360 deg of azimuth
per synodic lunar day (29.53 d). Its elevation here is the seasonal term (the lunar equator is
tilted 1.54 deg to the ecliptic; the cycle is the 346.6 d eclipse year) plus the site's offset
from the pole (1 deg of colatitude ~ 30 km) seen once per lunar day. Visibility at a point
compares the Sun's elevation with the local horizon (a ray march over the height field, plus
a distant horizon profile for the terrain beyond the map).
"""

import math

import numpy as np

SYNODIC_DAY = 29.530589 * 86400.0  # s, Sun azimuth period at the pole
ECLIPSE_YEAR = 346.62 * 86400.0  # s, period of the Sun's declination in the lunar frame
OBLIQUITY = math.radians(1.54)  # lunar equator to ecliptic
SITE_COLATITUDE = math.radians(1.0)  # the site's angular distance from the pole
SITE_AZIMUTH = math.radians(200.0)  # map azimuth of the direction to the pole (Sun highest there)


class Terrain:
    """Height, slope and shadow of a 120 m x 120 m patch near the lunar south pole."""

    def __init__(self, seed=1, half_size=60.0, res=0.25):
        self.res = float(res)
        self.half = float(half_size)
        n = int(round(2 * half_size / res)) + 1
        self.x = np.linspace(-half_size, half_size, n)
        self.y = self.x.copy()
        gx, gy = np.meshgrid(self.x, self.y)  # [row = y, col = x]
        rng = np.random.default_rng(seed)
        h = _rolling(rng, n, res, 10.0, 1.0) + _rolling(rng, n, res, 3.0, 0.25)
        sx, sy = np.gradient(h, res, res, edge_order=2)[::-1]
        h *= math.tan(math.radians(2.5)) / np.sqrt(np.mean(sx * sx + sy * sy))

        # The crater: parabolic bowl inside the rim, raised rim decaying outside.
        self.crater = (30.0, 28.0, 16.0)  # centre x, y and rim radius (m)
        cx, cy, rim = self.crater
        depth, rim_h = 5.0, 0.6
        r = np.hypot(gx - cx, gy - cy)
        h += np.where(r < rim, -depth + (depth + rim_h) * (r / rim) ** 2, rim_h * np.exp(-(r - rim) / (0.3 * rim)))
        # Steep patches: (x, y, height, sigma_along, sigma_across, orientation) Gaussian mounds.
        self.features = (
            (-5.0, 38.0, 2.5, 3.0, 3.0, 0.0),  # blocky mound, ~27 deg flanks
            (-35.0, -8.0, 2.0, 2.5, 2.5, 0.0),  # ejecta block, ~26 deg
            (22.0, -30.0, 3.0, 9.0, 2.5, math.radians(20.0)),  # ridge, ~36 deg across it
            (-32.0, 32.0, 2.5, 10.0, 10.0, 0.0),  # gentle hill, ~9 deg: passable, slows the rover
        )
        for fx, fy, fh, sa, sc, th in self.features:
            c, s = math.cos(th), math.sin(th)
            u = (gx - fx) * c + (gy - fy) * s
            v = -(gx - fx) * s + (gy - fy) * c
            h += fh * np.exp(-0.5 * ((u / sa) ** 2 + (v / sc) ** 2))

        self.h = h
        self.dhdy, self.dhdx = np.gradient(h, res, res, edge_order=2)
        self.slope_grid = np.arctan(np.hypot(self.dhdx, self.dhdy))  # rad
        self._psr = None

    # ---- sampling (vectorised; float64) ------------------------------------------------
    def extent(self):
        """(xmin, xmax, ymin, ymax) for matplotlib's imshow(origin='lower')."""
        return (-self.half, self.half, -self.half, self.half)

    def _bilinear(self, grid, x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        n = self.x.size
        fx = np.clip((x + self.half) / self.res, 0.0, n - 1.000001)
        fy = np.clip((y + self.half) / self.res, 0.0, n - 1.000001)
        i = fx.astype(int)
        j = fy.astype(int)
        tx = fx - i
        ty = fy - j
        return (grid[j, i] * (1 - tx) * (1 - ty) + grid[j, i + 1] * tx * (1 - ty)
                + grid[j + 1, i] * (1 - tx) * ty + grid[j + 1, i + 1] * tx * ty)

    def inside(self, x, y, margin=0.0):
        return (abs(x) <= self.half - margin) & (abs(y) <= self.half - margin)

    def height(self, x, y):
        return self._bilinear(self.h, x, y)

    def slope(self, x, y):
        """Slope magnitude (rad) at (x, y): atan |grad h| (up or down, any direction)."""
        return np.arctan(np.hypot(self._bilinear(self.dhdx, x, y), self._bilinear(self.dhdy, x, y)))

    def slope_ahead(self, x, y, psi, distance=1.0, samples=4, width=0.0):
        """What a hazard camera reports: the steepest slope (rad) over the swath ahead, at
        `samples` points spaced evenly along the heading psi out to `distance` (m), on the
        centre line and `width` / 2 to either side (the wheel tracks) when width > 0."""
        d = distance * np.arange(1, samples + 1) / samples
        side = np.array([0.0, -0.5 * width, 0.5 * width] if width > 0 else [0.0])[:, None]
        c, s = math.cos(psi), math.sin(psi)
        return float(np.max(self.slope(x + d * c - side * s, y + d * s + side * c)))

    # ---- Sun and shadow -----------------------------------------------------------------
    @staticmethod
    def sun(t, az0=0.0, season=0.25):
        """(azimuth, elevation) of the Sun (rad, map frame) at time t (s). az0 is the azimuth at
        t = 0; season (0..1) the phase of the eclipse year at t = 0 (0.25: local summer)."""
        t = np.asarray(t, dtype=float)
        az = np.mod(az0 + 2 * np.pi * t / SYNODIC_DAY, 2 * np.pi)
        el = OBLIQUITY * np.sin(2 * np.pi * (season + t / ECLIPSE_YEAR)) + SITE_COLATITUDE * np.cos(az - SITE_AZIMUTH)
        return az, el

    @staticmethod
    def far_horizon(az):
        """Elevation (rad) of the distant terrain beyond the map, by azimuth."""
        return np.radians(0.3 + 0.4 * np.sin(2 * np.asarray(az) + 0.7))

    def horizon(self, x, y, az, mast=1.0, step=0.5):
        """Elevation (rad) of the local horizon seen from a sensor `mast` m above (x, y) toward
        azimuth az: the steepest terrain line of sight along the ray, or the distant horizon."""
        x = np.atleast_1d(np.asarray(x, dtype=float))[:, None]
        y = np.atleast_1d(np.asarray(y, dtype=float))[:, None]
        d = np.arange(step, 2 * math.sqrt(2) * self.half, step)[None, :]
        px, py = x + d * math.cos(az), y + d * math.sin(az)
        ang = np.arctan2(self.height(px, py) - (self.height(x, y) + mast), d)
        ang = np.where(self.inside(px, py), ang, -np.inf)
        return np.maximum(np.max(ang, axis=1), self.far_horizon(az))

    def sunlit(self, x, y, t, **sun_kw):
        """True where the Sun at time t clears the local horizon."""
        az, el = self.sun(t, **sun_kw)
        return el > self.horizon(x, y, float(az))

    def psr_mask(self, res=1.0, azimuths=72):
        """(xs, ys, mask): the permanently shadowed part of the crater, where the local horizon
        stands above the highest the Sun ever gets (obliquity + site colatitude) at every
        azimuth. Computed over the crater's bounding box, on a `res` m grid; cached."""
        if self._psr is None:
            cx, cy, rim = self.crater
            xs = np.arange(cx - rim, cx + rim + res / 2, res)
            ys = np.arange(cy - rim, cy + rim + res / 2, res)
            gx, gy = np.meshgrid(xs, ys)
            el_max = OBLIQUITY + SITE_COLATITUDE
            mask = np.hypot(gx - cx, gy - cy) < rim
            for az in np.linspace(0, 2 * np.pi, azimuths, endpoint=False):
                sel = mask.copy()
                mask[sel] = self.horizon(gx[sel], gy[sel], az, mast=0.0, step=res) > el_max
            self._psr = (xs, ys, mask)
        return self._psr


def _rolling(rng, n, res, corr, amp):
    """Smooth random heights: white noise convolved (in Fourier space) with a Gaussian of
    correlation length `corr` m; unit RMS times amp."""
    k = np.fft.fftfreq(n, d=res) * 2 * np.pi
    kx, ky = np.meshgrid(k, k)
    spec = np.fft.fft2(rng.standard_normal((n, n))) * np.exp(-0.5 * (kx * kx + ky * ky) * corr * corr)
    f = np.real(np.fft.ifft2(spec))
    return amp * f / f.std()
