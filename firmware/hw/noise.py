# Deterministic noise for the device models: the same seed gives the same
# sensor errors on a board, on the unix port and on CPython, so a scenario is
# repeatable on every target. xorshift32 (Marsaglia 2003) for uniforms and the
# polar Box-Muller method for Gaussians; integers only in the generator, so the
# sequence does not depend on the float width.
import math


class Rng:
    # The 32-bit state is kept as two 16-bit halves: on a 32-bit board a small int holds 31 bits,
    # and a whole state (or its shifts) would be a heap-allocated long int at every draw.
    def __init__(self, seed=1):
        state = (seed & 0xFFFFFFFF) or 0x9E3779B9  # zero would stay zero
        self._hi = state >> 16
        self._lo = state & 0xFFFF
        self._spare = None

    @property
    def state(self):
        return (self._hi << 16) | self._lo

    def _next(self):
        # x ^= x << 13; x ^= x >> 17; x ^= x << 5 (mod 2**32), half by half
        hi, lo = self._hi, self._lo
        hi ^= ((hi << 13) | (lo >> 3)) & 0xFFFF
        lo ^= (lo << 13) & 0xFFFF
        lo ^= hi >> 1
        hi ^= ((hi << 5) | (lo >> 11)) & 0xFFFF
        lo ^= (lo << 5) & 0xFFFF
        self._hi, self._lo = hi, lo

    def u32(self):
        self._next()
        return (self._hi << 16) | self._lo

    def uniform(self):
        # in [0, 1): the state's top 24 bits, exact in float32
        self._next()
        return ((self._hi << 8) | (self._lo >> 8)) * (1.0 / 16777216.0)

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
