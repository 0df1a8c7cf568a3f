"""The emulated Pico behind ground.mission.Mission: missions, scenarios and `ground demo` flown on
the real RPI_PICO firmware instead of the MicroPython unix port.

    with flown_on_pico_emu():
        with Mission("rover", runtime="micropython") as m:    # a PicoSitl, not a Sitl, inside
            ...

PicoSitl has what Mission uses of ground.sitl.Sitl (start, stop, restart, port, link_name,
board, returncode): the flight app's image (hil.pico_emu.app_image), a fresh uplink key, the
board file with the vehicle, its scenario and the speed on the board's littlefs, a power-on
boot. Speed "max" (virtual time) runs the emulator without wall-clock pacing: the board's
flight time then passes as fast as its emulated core runs the tasks.
"""

import contextlib
import functools
import shutil
import tempfile
from pathlib import Path

from ground.keys import KeyStore, port_link_name
from ground.sitl import load_board
from hil import pico_emu


class PicoSitl:
    # Mission.run_until's real-time safety net: the emulated Cortex-M0+ flies the apps at 1.1-1.5x
    # real time alone on a core (docs/benchmarks.md), slower on a loaded host
    real_s_per_flight_s = 4.0

    def __init__(self, board="rp2-pico", runtime="micropython", state_dir=None, security=True, keystore=None,
                 speed=1.0, log=None, program=None, vehicle=None, scenario=None, profile=None, firmware=None, image=None):
        if runtime != "micropython":
            raise ValueError("the emulated Pico runs MicroPython, not runtime %r" % (runtime,))
        if program is not None:
            raise ValueError("the emulated Pico runs the flight app's main.py, not a program of its own")
        self.board_name = board
        self.board = load_board(board)
        self.runtime = runtime
        self.security = bool(security)
        self.speed = speed
        self.vehicle = vehicle
        self.scenario = dict(scenario or {})
        self.keystore = keystore if keystore is not None else KeyStore()
        self.log = log
        self.profile = profile  # a file for the emulator's PC samples (hil.pico_emu.profile), or None
        # the firmware and the app's flash image when the caller has them (the rig's session fixture
        # builds them once): else start() asks for them, and the build says so on stderr
        self._firmware = firmware
        self._image = image
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._tmp = None
        self.emu = None
        self.port = None
        self.link_name = None

    @property
    def returncode(self):
        proc = self.emu._proc if self.emu is not None else None
        return proc.returncode if proc is not None and proc.poll() is not None else None

    def start(self):
        firmware = self._firmware or pico_emu.firmware_path()
        image = self._image or pico_emu.app_image(firmware, log=self.log)
        if self._state_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="mitra-pico-mission-"))
            where = self._tmp
        else:
            where = self._state_dir
            where.mkdir(parents=True, exist_ok=True)
        flash = where / "pico-flash.img"
        shutil.copyfile(image, flash)
        self.emu = pico_emu.PicoEmu(firmware, flash_image=flash, realtime=self.speed != "max", log=self.log, profile=self.profile)
        try:
            self.emu.start()
            self.port = self.emu.port
            self.link_name = port_link_name(self.port)
            settings = dict(self.board, security=self.security)
            if self.vehicle is not None:
                settings.update(vehicle=self.vehicle, scenario=self.scenario)
            pico_emu.install_app(self.emu, settings, self.link_name, keystore=self.keystore, speed=self.speed)
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, hard=False):
        """A power cycle (always hard): same flash, same port."""
        self.emu.power_cycle()
        self.emu.wait_output()

    def stop(self):
        if self.emu is not None:
            self.emu.stop()
        if self.link_name is not None:
            self.keystore.delete(self.link_name)
            self.link_name = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def flown_on_pico_emu(**options):
    """Within: ground.mission.Mission flies its vehicle on the emulated Pico (PicoSitl's keyword
    `options` too: profile=FILE)."""
    from ground import mission

    saved = mission.Sitl
    mission.Sitl = functools.partial(PicoSitl, **options) if options else PicoSitl
    try:
        yield
    finally:
        mission.Sitl = saved
