"""Where a campaign runs: a SITL it starts (MicroPython unix port by default) or a board on a port.

    with Target(runtime="micropython") as t:          # or Target(port="/dev/ttyACM0", key_name="pico")
        link = t.link(serial_port=...)                 # an authenticated GroundLink

A SITL's ephemeral key goes to a temporary MITRA_HOME while it runs, never the operator's
key store.
"""

import contextlib
import os
import tempfile

from ground.keys import KeyStore
from ground.link import GroundLink, open_port


@contextlib.contextmanager
def scratch_home():
    """A temporary MITRA_HOME for the SITL's ephemeral keys; the old value comes back afterwards."""
    old = os.environ.get("MITRA_HOME")
    with tempfile.TemporaryDirectory(prefix="mitra-campaign-home-") as home:
        os.environ["MITRA_HOME"] = home
        try:
            yield home
        finally:
            if old is None:
                os.environ.pop("MITRA_HOME", None)
            else:
                os.environ["MITRA_HOME"] = old


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
        self._home = None

    @property
    def name(self):
        return "board %s" % self.port if self.sitl is None else "SITL %s (%s)" % (self.runtime, self.board)

    def start(self):
        if self.port is None:
            from ground.sitl import Sitl

            self._home = scratch_home()
            self._home.__enter__()
            self.sitl = Sitl(self.board, runtime=self.runtime, state_dir=self.state_dir, vehicle=self.vehicle,
                             speed=self.speed, log=lambda line: None).start()
            self.port = self.sitl.port
            self.key_name = self.sitl.link_name
        return self

    def stop(self):
        if self.sitl is not None:
            self.sitl.stop()
        if self._home is not None:
            self._home.__exit__(None, None, None)
            self._home = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def key(self):
        return KeyStore().load(self.key_name)

    def link(self, wrap=None, **kwargs):
        """A GroundLink on the target's port; `wrap(port)` may put a relay in its byte path."""
        port = open_port(self.port)
        if wrap is not None:
            port = wrap(port)
        link = GroundLink(self.port, key=self.key(), serial_port=port, **kwargs)
        link.flush_input()
        return link
