"""A noisy serial line inside the ground's byte path: bit errors, lost octets, error bursts
and dropouts, each direction on its own (the link relay of the robustness campaign).

    port = NoisySerial(open_port(sitl.port), Channel(ber=1e-3, seed=1), Channel(ber=1e-3, seed=2))
    link = GroundLink(sitl.port, key=key, serial_port=port)

`NoisySerial` wraps any pyserial-like port (a SITL's pty or a real board's UART), so the
same campaign runs against every target. Uplink octets pass through `up` when written,
downlink octets through `down` when read. `quiet()` turns both channels off for a
measurement taken over a clean line (the HK snapshots that count the board's drops).

The channel model, per octet: each bit flips with probability `ber` (independent
errors); an octet is lost with probability `drop` (a UART overrun); a burst starts with
probability `burst` and replaces the next `burst_len` octets with random ones (impulse
noise); a dropout starts with probability `dropout` and loses the next `dropout_len`
octets (the line goes away). Every effect is counted in `stats`.
"""

import random


class Channel:
    def __init__(self, ber=0.0, drop=0.0, burst=0.0, burst_len=16, dropout=0.0, dropout_len=256, seed=0):
        self.ber = ber
        self.drop = drop
        self.burst = burst
        self.burst_len = burst_len
        self.dropout = dropout
        self.dropout_len = dropout_len
        self.rng = random.Random(seed)
        self.enabled = True
        self.stats = {"octets": 0, "bits_flipped": 0, "octets_changed": 0, "octets_lost": 0, "bursts": 0, "dropouts": 0}
        self._burst_left = 0
        self._dropout_left = 0
        self._next_flip = self._gap()  # bits until the next bit error

    def _gap(self):
        # geometric gap between independent bit errors (inverse CDF), so clean octets cost nothing
        if self.ber <= 0:
            return float("inf")
        u = self.rng.random()
        return int(_log1m(u) / _log1m(self.ber))

    def apply(self, data):
        """`data` as it arrives at the far end (shorter when octets were lost)."""
        data = bytes(data)
        if not self.enabled or not data:
            return data
        st = self.stats
        st["octets"] += len(data)
        rng = self.rng
        out = bytearray()
        for b in data:
            if self._dropout_left:
                self._dropout_left -= 1
                st["octets_lost"] += 1
                continue
            if self.dropout and rng.random() < self.dropout:
                st["dropouts"] += 1
                self._dropout_left = self.dropout_len - 1
                st["octets_lost"] += 1
                continue
            if self.drop and rng.random() < self.drop:
                st["octets_lost"] += 1
                continue
            orig = b
            if self._burst_left:
                self._burst_left -= 1
                b = rng.randrange(256)
            elif self.burst and rng.random() < self.burst:
                st["bursts"] += 1
                self._burst_left = self.burst_len - 1
                b = rng.randrange(256)
            # bit errors: the next error is self._next_flip bits ahead
            bit = 0
            while self._next_flip < 8 - bit:
                bit += self._next_flip
                b ^= 0x80 >> bit
                st["bits_flipped"] += 1
                bit += 1
                self._next_flip = self._gap()
            self._next_flip -= 8 - bit
            if b != orig:
                st["octets_changed"] += 1
            out.append(b)
        return bytes(out)


def _log1m(x):
    import math

    return math.log1p(-x) if x < 1 else -math.inf


class NoisySerial:
    """A pyserial-like port whose uplink goes through `up` and downlink through `down`."""

    def __init__(self, port, up, down):
        self.port = port
        self.up = up
        self.down = down

    def quiet(self, on=True):
        """Both channels clean (on=True) or noisy again (on=False)."""
        self.up.enabled = self.down.enabled = not on

    def write(self, data):
        self.port.write(self.up.apply(data))
        return len(data)

    def read(self, n=1):
        return self.down.apply(self.port.read(n))

    @property
    def in_waiting(self):
        return self.port.in_waiting

    def reset_input_buffer(self):
        self.port.reset_input_buffer()

    def flush(self):
        self.port.flush()

    def close(self):
        self.port.close()
