# The inspector's hardware, wired from a board file: build(board) makes the truth world
# and one model per device the board lists; a device under "attached" is a real driver
# instead ("attached": {"imu": "drivers.bmi270.Imu"}: the class is imported and built
# with the board dict, and must offer the same calls as the model). The flight app reads
# and commands the devices, then calls step(dt) to advance the world with the current
# actuator commands. inject / clear switch device faults on and off (FDIR tests, by
# ground command).
import math
import sys

from hw.adcs_devices import Imu, Magnetometer, Magnetorquers, RelNav, StarTracker, SunSensor, Wheels
from hw.camera import Camera
from hw.noise import Rng
from hw.prop import Thrusters
from hw.space import SpaceWorld
from hw.space_power import Battery

# every inspector device, in the order their noise seeds are drawn (append only: a new
# device must not change the noise of the others for a given seed)
DEVICES = ("imu", "magnetometer", "sun_sensor", "star_tracker", "rel_nav", "wheels", "magnetorquers", "thrusters",
           "camera", "battery")

# option -> (owner, its keyword): the world's initial conditions and each model's parameters
_OPTIONS = {
    "altitude": ("world", "altitude"), "inclination": ("world", "inclination"), "raan": ("world", "raan"),
    "u0": ("world", "u0"), "epoch_day": ("world", "epoch_day"), "gmst0": ("world", "gmst0"),
    "J": ("world", "J"), "q0": ("world", "q0"), "w0": ("world", "w0"), "h0": ("world", "h0"),
    "rel0": ("world", "rel0"), "target_q0": ("world", "target_q0"), "target_rate": ("world", "target_rate"),
    "disturbance": ("world", "disturbance"),
    "gyro_bias": ("imu", "bias"), "gyro_sigma": ("imu", "sigma"),
    "mag_bias": ("magnetometer", "bias"), "mag_sigma": ("magnetometer", "sigma"),
    "sun_boresight": ("sun_sensor", "boresight"), "sun_fov": ("sun_sensor", "fov"),
    "sun_sigma": ("sun_sensor", "sigma"),
    "star_sigma": ("star_tracker", "sigma"), "star_max_rate": ("star_tracker", "max_rate"),
    "star_dropout": ("star_tracker", "dropout"),
    "rel_max_range": ("rel_nav", "max_range"), "rel_sigma_pos": ("rel_nav", "sigma_pos"),
    "rel_sigma_pos_frac": ("rel_nav", "sigma_pos_frac"), "rel_sigma_vel": ("rel_nav", "sigma_vel"),
    "tau_max": ("wheels", "tau_max"), "h_max": ("wheels", "h_max"),
    "m_max": ("magnetorquers", "m_max"),
    "dry_mass": ("thrusters", "dry_mass"), "propellant": ("thrusters", "propellant"), "isp": ("thrusters", "isp"),
    "dv_min": ("thrusters", "dv_min"), "dv_max": ("thrusters", "dv_max"),
    "camera_width": ("camera", "width"), "camera_height": ("camera", "height"), "camera_fov": ("camera", "fov"),
    "capacity_wh": ("battery", "capacity_wh"), "soc": ("battery", "soc"), "load_w": ("battery", "load_w"),
    "panels": ("battery", "panels"),
}  # fmt: skip

_NOISY = ("imu", "magnetometer", "sun_sensor", "star_tracker", "rel_nav")
_MODELS = {
    "imu": Imu, "magnetometer": Magnetometer, "sun_sensor": SunSensor, "star_tracker": StarTracker,
    "rel_nav": RelNav, "wheels": Wheels, "magnetorquers": Magnetorquers, "thrusters": Thrusters,
    "camera": Camera, "battery": Battery,
}  # fmt: skip


def _driver(path, name, board):
    # "package.module.Class" -> an instance built with the board dict
    mod_name, _, cls_name = path.rpartition(".")
    if not mod_name:
        raise ValueError("attached %s: %r is not 'module.Class'" % (name, path))
    __import__(mod_name)  # ImportError names the missing module
    cls = getattr(sys.modules[mod_name], cls_name, None)
    if cls is None:
        raise ValueError("attached %s: module %s has no %s" % (name, mod_name, cls_name))
    return cls(board)


class InspectorHw:
    def __init__(self, board, seed=1, **options):
        kw = {"world": {}}
        for d in DEVICES:
            kw[d] = {}
        for k in options:
            if k not in _OPTIONS:
                raise ValueError("inspector hw: unknown option %r (known: %s)" % (k, ", ".join(sorted(_OPTIONS))))
            owner, name = _OPTIONS[k]
            kw[owner][name] = options[k]
        devices = board.get("devices", ())
        attached = board.get("attached", {})
        for name in attached:
            if name not in DEVICES:
                raise ValueError("attached: unknown device %r (known: %s)" % (name, ", ".join(DEVICES)))
            if name not in devices:
                raise ValueError("attached: %r is not in the board's devices" % (name,))
        self.world = SpaceWorld(**kw["world"])
        self.attached = tuple(attached)
        self._models = []  # (name, model) of the emulated devices
        for i in range(len(DEVICES)):
            name = DEVICES[i]
            dev = None
            if name in devices:  # names of other vehicles' devices (a rover's drill) are not ours
                if name in attached:
                    dev = _driver(attached[name], name, board)
                else:
                    cls = _MODELS[name]
                    if name in _NOISY:
                        rng = Rng((seed * 2654435761 + (i + 1) * 40503) & 0xFFFFFFFF)
                        dev = cls(self.world, rng, **kw[name])
                    else:
                        dev = cls(self.world, **kw[name])
                    self._models.append((name, dev))
            setattr(self, name, dev)
        # the models step() drives (a real driver acts on the real world, not this one)
        self._wheels = self.wheels if "wheels" in devices and "wheels" not in attached else None
        self._thrusters = self.thrusters if "thrusters" in devices and "thrusters" not in attached else None
        self._battery = self.battery if "battery" in devices and "battery" not in attached else None

    def step(self, dt):
        if not dt > 0.0 or dt == math.inf:
            raise ValueError("inspector hw step: dt must be a finite number > 0 s")
        if self._wheels is not None:
            self._wheels.apply(dt)
        if self._thrusters is not None:
            self._thrusters.tick(dt)
        self.world.step(dt)
        if self._battery is not None:
            self._battery.step(dt)

    def _model(self, device):
        if device not in DEVICES:
            raise ValueError("unknown device %r (known: %s)" % (device, ", ".join(DEVICES)))
        dev = getattr(self, device)
        if dev is None:
            raise ValueError("device %r is not on this board" % (device,))
        if device in self.attached:
            raise ValueError("device %r is a real driver (attached): no fault injection" % (device,))
        return dev

    def inject(self, device, fault, value=None):
        self._model(device).inject(fault, value)

    def clear(self, device, fault=None):
        self._model(device).clear(fault)


def build(board, seed=1, **options):
    return InspectorHw(board, seed, **options)
