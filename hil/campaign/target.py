"""Where a campaign runs: a SITL it starts (MicroPython unix port by default) or a board on a port.

    with Target(runtime="micropython") as t:          # or Target(port="/dev/ttyACM0", key_name="pico")
        link = t.link(serial_port=...)                 # an authenticated GroundLink

A SITL's ephemeral key goes to a key store in a temporary directory while it runs (Sitl's
`keystore`), never the operator's.
"""

import tempfile

from ground.keys import KeyStore
from ground.link import GroundLink, open_port


class Target:
    def __init__(self, runtime="micropython", board="rp2-pico", port=None, key_name=None, state_dir=None, vehicle=None, speed=1.0):
        self.runtime = runtime
        self.board = board
        self.port = port
        self.key_name = key_name
        self.state_dir = state_dir
        self.vehicle = vehicle
        self.speed = speed
        self.sitl = None
        self._keys_dir = None

    @property
    def name(self):
        return "board %s" % self.port if self.sitl is None else "SITL %s (%s)" % (self.runtime, self.board)

    def start(self):
        if self.port is None:
            from ground.sitl import Sitl

            self._keys_dir = tempfile.TemporaryDirectory(prefix="mitra-campaign-keys-")
            self.sitl = Sitl(self.board, runtime=self.runtime, state_dir=self.state_dir, vehicle=self.vehicle,
                             speed=self.speed, keystore=KeyStore(self._keys_dir.name), log=lambda line: None).start()
            self.port = self.sitl.port
            self.key_name = self.sitl.link_name
        return self

    def stop(self):
        if self.sitl is not None:
            self.sitl.stop()
        if self._keys_dir is not None:
            self._keys_dir.cleanup()
            self._keys_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def key(self):
        return (KeyStore() if self.sitl is None else self.sitl.keystore).load(self.key_name)

    def link(self, wrap=None, **kwargs):
        """A GroundLink on the target's port; `wrap(port)` may put a relay in its byte path."""
        port = open_port(self.port)
        if wrap is not None:
            port = wrap(port)
        link = GroundLink(self.port, key=self.key(), serial_port=port, **kwargs)
        link.flush_input()
        return link
