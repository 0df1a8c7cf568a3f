# The rover's volatile spectrometer on the emulated board: water-ice abundance
# (wt%) of the regolith brought up from a depth, from a layered model.
# Under the permanently shadowed crater (hw.moon PSR_*): a desiccated top layer
# (ice sublimated by micrometeorite gardening), then an ice-rich layer, then a
# lower but non-zero background at depth; outside the crater near zero. The
# lateral factor is 1 inside half the rim radius (the PSR floor) and falls
# smoothly to 0 at the rim. Layer depths and the peak abundance are seeded
# (hw.noise.Rng), so a scenario repeats exactly.
import math

from hw.moon import PSR_R, PSR_X, PSR_Y
from hw.noise import Rng

_BACKGROUND = 0.02  # wt%: outside the PSR
_TOP = 0.1  # wt%: desiccated layer in the PSR
_DEEP_FRACTION = 0.5  # below the ice-rich layer: this fraction of its peak


class Spectrometer:
    def __init__(self, seed=1, sigma_rel=0.05, sigma_abs=0.02):
        layers = Rng(seed * 7907 + 3)
        self.dry_depth = 0.15 + 0.1 * layers.uniform()  # m: bottom of the desiccated layer
        self.ice_top = self.dry_depth + 0.2 + 0.2 * layers.uniform()  # m: top of the ice-rich layer
        self.ice_bottom = self.ice_top + 0.5 + 0.3 * layers.uniform()
        self.peak = 4.0 + 2.0 * layers.uniform()  # wt%
        self.rng = Rng(seed * 7907 + 4)  # measurement noise
        self.sigma_rel = sigma_rel
        self.sigma_abs = sigma_abs

    def psr_factor(self, x, y):
        # 1 on the PSR floor (r <= R/2), smooth cosine taper to 0 at the rim, 0 outside
        dx = x - PSR_X
        dy = y - PSR_Y
        r = math.sqrt(dx * dx + dy * dy) / PSR_R
        if r <= 0.5:
            return 1.0
        if r >= 1.0:
            return 0.0
        return 0.5 + 0.5 * math.cos(math.pi * (r - 0.5) / 0.5)

    def abundance(self, depth, x, y):
        # truth, wt%, no noise
        f = self.psr_factor(x, y)
        if f <= 0.0:
            return _BACKGROUND
        if depth < self.dry_depth:
            a = _TOP
        elif depth < self.ice_top:
            # linear rise through the transition zone
            a = _TOP + (self.peak - _TOP) * (depth - self.dry_depth) / (self.ice_top - self.dry_depth)
        elif depth <= self.ice_bottom:
            a = self.peak
        else:
            a = self.peak * _DEEP_FRACTION
        return _BACKGROUND + f * (a - _BACKGROUND)

    def _check(self, depth, x, y):
        if not (math.isfinite(depth) and depth >= 0.0):
            raise ValueError("spectrometer: depth must be finite and >= 0 m, got %r" % depth)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError("spectrometer: x, y must be finite, got %r, %r" % (x, y))

    def measure(self, depth, x, y):
        # measured abundance (wt%, never below 0) of the sample from depth at (x, y)
        self._check(depth, x, y)
        a = self.abundance(depth, x, y)
        a += self.rng.gauss(self.sigma_rel * a + self.sigma_abs)
        return a if a > 0.0 else 0.0

    def spectrum(self, depth_max, x, y, out):
        # the profile product: len(out) samples at depths (i + 0.5) depth_max / n, in place
        self._check(depth_max, x, y)
        n = len(out)
        if n == 0:
            raise ValueError("spectrometer: the output buffer is empty")
        dz = depth_max / n
        for i in range(n):
            out[i] = self.measure((i + 0.5) * dz, x, y)
