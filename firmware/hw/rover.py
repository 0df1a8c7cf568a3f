# The rover's hardware on an emulated board: build(board) makes the devices the
# board file lists (board["devices"]) around one truth world (hw.moon), and the
# flight app talks to them through the same calls whether a device is a model
# or a real driver named under board["attached"] ({"imu": "module.Class"}: the
# class is constructed with the board dict and replaces the model).
#
#   hw = build(board, seed=1, start=(x, y, psi), sun_az0=0.0, ...)
#   hw.wheels.command(vl, vr); hw.drill.command(feed, spin)
#   hw.step(0.1)                       # 10 Hz: wheels ramp, world, drill, battery
#   hw.imu.read(buf1); hw.encoders.read(buf2); hw.sun_sensor.read(buf2)
#   hw.hazard.slope_ahead(buf1); hw.drill.read(buf3); hw.battery.read(buf4)
#   hw.spectrometer.measure(depth, x, y); hw.spectrometer.spectrum(dmax, x, y, buf)
#   hw.inject("imu", "dropout"); hw.clear("imu"); hw.clear()
#
# Each device has its own noise generator seeded from (seed, device), so a board
# with fewer devices sees the same noise on the ones it has.
import math
import sys

from hw.drill import Drill
from hw.mobility import Encoders, Hazard, Imu, SunSensor, Wheels
from hw.moon import MoonWorld
from hw.noise import Rng
from hw.rover_power import Battery
from hw.spectrometer import Spectrometer

DEVICES = ("wheels", "encoders", "imu", "sun_sensor", "hazard", "drill", "spectrometer", "battery")
# MoonWorld keyword options build() passes through
WORLD_OPTIONS = ("start", "sun_az0", "sun_el_mean", "sun_el_amp", "sun_az_peak", "track", "slip", "mast")
# Default start: 300 m west of the PSR crater's rim (hw.moon PSR_X - PSR_R = 300),
# heading east toward it, in sunlight.
START = (0.0, 0.0, 0.0)


def _load_driver(path, board):
    # "package.module.Class" -> Class(board)
    dot = path.rfind(".")
    if dot <= 0 or dot == len(path) - 1:
        raise ValueError("attached driver %r must be 'module.Class'" % path)
    name = path[:dot]
    __import__(name)
    cls = getattr(sys.modules[name], path[dot + 1:], None)
    if cls is None:
        raise ValueError("attached driver %r: module %r has no %r" % (path, name, path[dot + 1:]))
    return cls(board)


class RoverHw:
    def __init__(self, board, seed=1, **options):
        names = board.get("devices", ())
        attached = board.get("attached", {}) or {}
        dev_opts = {}
        world_opts = {}
        for k in options:
            if k in WORLD_OPTIONS:
                world_opts[k] = options[k]
            elif k in DEVICES:
                dev_opts[k] = options[k]
            else:
                raise ValueError("rover: unknown option %r (world: %s; per device: %s)"
                                 % (k, ", ".join(WORLD_OPTIONS), ", ".join(DEVICES)))
        for k in attached:
            if k not in DEVICES:
                raise ValueError("rover: attached device %r is not a rover device (%s)" % (k, ", ".join(DEVICES)))
            if k not in names:
                raise ValueError("rover: attached device %r is not in the board's devices" % k)
        if "start" not in world_opts:
            world_opts["start"] = START
        self.seed = seed
        self.world = MoonWorld(seed=seed, **world_opts)
        self.attached = tuple(k for k in DEVICES if k in attached)
        self.devices = tuple(k for k in DEVICES if k in names)
        w = self.world

        def rng(i):
            return Rng(seed * 1000003 + i * 7919 + 1)

        def make(name, model, *args):
            if name not in names:
                return None
            if name in attached:
                return _load_driver(attached[name], board)
            return model(*args, **dev_opts.get(name, {}))

        self.wheels = make("wheels", Wheels, w)
        self.encoders = make("encoders", Encoders, w, rng(1))
        self.imu = make("imu", Imu, w, rng(2))
        self.sun_sensor = make("sun_sensor", SunSensor, w, rng(3))
        self.hazard = make("hazard", Hazard, w, rng(4))
        self.drill = make("drill", Drill, rng(5))
        self.spectrometer = make("spectrometer", Spectrometer, seed)
        # the battery's loads come from the models only (a real driver reports its own)
        self._wheels_model = self.wheels if "wheels" not in attached else None
        self._drill_model = self.drill if "drill" not in attached else None
        self.battery = make("battery", Battery, w, rng(7), self._wheels_model, self._drill_model)
        self._battery_model = self.battery if "battery" not in attached else None

    def step(self, dt):
        # advance the emulated rover dt s with the commands in force
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and 0.0 < dt <= 60.0):
            raise ValueError("rover: dt must be in (0, 60] s, got %r" % (dt,))
        if self._wheels_model is not None:
            self._wheels_model.step(dt)
        self.world.step(dt)
        if self._drill_model is not None:
            self._drill_model.step(dt)
        if self._battery_model is not None:
            self._battery_model.step(dt)

    def _device(self, device):
        if device not in DEVICES:
            raise ValueError("rover: unknown device %r (devices: %s)" % (device, ", ".join(DEVICES)))
        dev = getattr(self, device)
        if dev is None:
            raise ValueError("rover: device %r is not on this board" % device)
        if device in self.attached and not hasattr(dev, "set_fault"):
            raise ValueError("rover: device %r is an attached driver without fault injection" % device)
        return dev

    def inject(self, device, fault, value=1):
        # fault on (value 0 clears it); ValueError for an unknown device or fault
        self._device(device).set_fault(fault, value)

    def clear(self, device=None, fault=None):
        # clear one fault of a device, every fault of it, or (device None) every fault
        if device is None:
            if fault is not None:
                raise ValueError("rover: clearing fault %r needs a device" % fault)
            for name in self.devices:
                dev = getattr(self, name)
                for f in getattr(dev, "FAULTS", ()):
                    dev.set_fault(f, 0)
            return
        dev = self._device(device)
        if fault is not None:
            dev.set_fault(fault, 0)
            return
        for f in getattr(dev, "FAULTS", ()):
            dev.set_fault(f, 0)


def build(board, seed=1, **options):
    return RoverHw(board, seed, **options)
