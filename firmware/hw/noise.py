# Deterministic noise for the device models: the same seed gives the same
# sensor errors on a board, on the unix port and on CPython, so a scenario is
# repeatable on every target. xorshift32 (Marsaglia 2003) for uniforms and the
# polar Box-Muller method for Gaussians; integers only in the generator, so the
# sequence does not depend on the float width.
import math


class Rng:
    def __init__(self, seed=1):
        self.state = (seed & 0xFFFFFFFF) or 0x9E3779B9  # zero would stay zero
        self._spare = None

    def u32(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def uniform(self):
        # in [0, 1): 24 bits, exact in float32
        return (self.u32() >> 8) * (1.0 / 16777216.0)

    def gauss(self, sigma=1.0):
        spare = self._spare
        if spare is not None:
            self._spare = None
            return spare * sigma
        while True:
            u = 2.0 * self.uniform() - 1.0
            v = 2.0 * self.uniform() - 1.0
            s = u * u + v * v
            if 0.0 < s < 1.0:
                break
        k = math.sqrt(-2.0 * math.log(s) / s)
        self._spare = v * k
        return u * k * sigma
