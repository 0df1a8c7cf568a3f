"""An emulated Raspberry Pi Pico: the real RPI_PICO MicroPython firmware in rp2040js, behind a pty.

    with PicoEmu(firmware_path(), flash_image="pico.flash") as pico:
        port = serial.Serial(pico.port)       # the board's USB-CDC, as /dev/ttyACM0 would be
        ...
        pico.power_cycle()                     # same flash; machine.reset_cause() == PWRON_RESET

The board runs in hil/pico_emu/runner.mjs under Node (npm rp2040js, pinned in package.json;
`npm ci` there, which scripts/bootstrap.sh runs). This side owns the pty the ground opens and
the runner process, and relays between them: octets the board writes while no one reads the
port are dropped and counted (`stats`), as a serial line loses them. The flash image file
keeps the board's littlefs across power cycles, runs and watchdog resets.

The boot ROM is ../shared/vendor/rp2040-bootrom-B1.bin beside the repository (or
$MITRA_PICO_BOOTROM); the firmware is scripts/firmware.py's RPI_PICO build (`make firmware
BOARD=rp2-pico`), with or without the C core. Every missing piece is a one-line
PicoEmuError (a MitraError) that says what to install or build.
"""

import importlib.util
import json
import os
import queue
import select
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ground.errors import MitraError
from ground.sitl import close_fds, open_pty

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RUNNER = HERE / "runner.mjs"
BOOTROM_NAME = "rp2040-bootrom-B1.bin"
PICO_HZ = 125_000_000  # the emulated core's clock: 8 ns a cycle
CYCLE_COUNTER = 0x40068000  # runner.mjs: the core's cycle count (low word; high word at +4)
BOOT_TIMEOUT_S = 30.0
# How much longer the ground should wait for the emulated board than for a real Pico (its
# link's ack window): rp2040js runs CPU-bound code about 2.6x slower than a real 125 MHz Pico
# on an idle host (../shared/vendor/README.md), and up to 8x here with the 2 cores shared (a
# ping's 6.1 M cycles took 0.49 s). Wall-clock pacing cannot make up for a busy core.
SLOWDOWN = 4
_TAIL_LINES = 40


class PicoEmuError(MitraError):
    """The emulated Pico could not be started, or stopped answering."""


def node_binary():
    """Node.js: $MITRA_NODE when set (None when that file is missing), else `node` on PATH."""
    explicit = os.environ.get("MITRA_NODE")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("node")


def bootrom_path():
    """The RP2040 boot ROM image: $MITRA_PICO_BOOTROM, else the vendor folder (scripts/firmware.py vendor_dir)."""
    return Path(os.environ.get("MITRA_PICO_BOOTROM") or _firmware_script().vendor_dir() / BOOTROM_NAME)


def missing():
    """What the emulator lacks to run here (node, the npm package, the boot ROM), as one line each."""
    out = []
    if node_binary() is None:
        out.append("node is not installed%s (apt-get install nodejs npm, or run scripts/bootstrap.sh)"
                   % (" at MITRA_NODE=%s" % os.environ["MITRA_NODE"] if os.environ.get("MITRA_NODE") else ""))
    if not (HERE / "node_modules" / "rp2040js" / "package.json").exists():
        out.append("npm package rp2040js is not installed: npm ci --prefix hil/pico_emu (scripts/bootstrap.sh runs it)")
    if not bootrom_path().exists():
        out.append("no RP2040 boot ROM at %s (set MITRA_PICO_BOOTROM)" % bootrom_path())
    return out


def describe():
    """One line for a report header: what the pico-emu target runs on, or what it lacks."""
    problems = missing()
    if problems:
        return "unavailable: " + problems[0]
    version = json.loads((HERE / "node_modules" / "rp2040js" / "package.json").read_text())["version"]
    node = subprocess.run([node_binary(), "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    firmware = os.environ.get("MITRA_PICO_FIRMWARE") or "scripts/firmware.py --board rp2-pico (C core built in)"
    return "RPI_PICO MicroPython firmware from %s in rp2040js %s under node %s" % (firmware, version, node)


def _firmware_script():
    spec = importlib.util.spec_from_file_location("mitra_firmware_script", ROOT / "scripts" / "firmware.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def firmware_path(with_core=True, build=True):
    """The RPI_PICO firmware.bin (with or without the C core): $MITRA_PICO_FIRMWARE (with the core
    only), else scripts/firmware.py's cached build, built now when `build` (about a minute the first
    time). PicoEmuError when there is no source or toolchain to build it with."""
    explicit = os.environ.get("MITRA_PICO_FIRMWARE")
    if explicit and with_core:
        if not Path(explicit).exists():
            raise PicoEmuError("MITRA_PICO_FIRMWARE=%s: no such file" % explicit)
        return Path(explicit)
    fw = _firmware_script()
    try:
        source = fw.Source()
        if not build:
            out = fw.built_path("rp2-pico", source, with_core=with_core)
            if out is None:
                raise PicoEmuError("rp2-pico firmware is not built: make firmware BOARD=rp2-pico")
            return out
        return fw.firmware("rp2-pico", source, with_core=with_core)
    except fw.BuildError as e:
        raise PicoEmuError("cannot build the rp2-pico firmware: %s" % str(e).splitlines()[0]) from None


class PicoEmu:
    """One emulated Pico: `start()`, `.port`, `power_cycle()`, `status()`, `stop()` (or `with`).

    realtime: pace the emulated clock to the wall clock (a board's timers and the ground's
    timeouts agree); False skips idle time, so the board's time runs ahead when it waits.
    """

    def __init__(self, firmware, flash_image=None, bootrom=None, realtime=True, log=None, verbose=False, profile=None):
        self.firmware = Path(firmware)
        self.profile = Path(profile) if profile is not None else None  # PC samples, written at stop() (hil.pico_emu.profile)
        self._given_flash = flash_image
        self.flash_image = Path(flash_image) if flash_image is not None else None
        self.bootrom = Path(bootrom) if bootrom is not None else bootrom_path()
        self.realtime = realtime
        self.log = log
        self.verbose = verbose
        self.port = None
        self.boots = 0
        self.last_boot = None  # the last boot event: {"n": .., "cause": "power" | "watchdog"}
        self._proc = None
        self._master = self._slave = None
        self._wake_r = self._wake_w = None
        self._events = queue.Queue()
        self._event_lock = threading.Lock()
        self._event_log = []
        self._stderr_tail = []
        self._threads = []
        self._write_lock = threading.Lock()
        self._stats = {"to_board": 0, "to_ground": 0, "dropped_to_ground": 0}
        self._tmpdir = None
        self._stopped = False
        self._output_since_boot = 0

    # -- public ------------------------------------------------------------------------

    @property
    def stats(self):
        return dict(self._stats)

    def start(self, timeout=BOOT_TIMEOUT_S):
        """Start the runner and wait for the board's USB-CDC to enumerate; return self."""
        for problem in missing():
            raise PicoEmuError("pico-emu: " + problem)
        if not self.firmware.exists():
            raise PicoEmuError("pico-emu: no firmware at %s (make firmware BOARD=rp2-pico)" % self.firmware)
        if self.flash_image is None:
            self._tmpdir = tempfile.mkdtemp(prefix="mitra-pico-")
            self.flash_image = Path(self._tmpdir) / "flash.img"
        try:
            self._open_pty()
            argv = [node_binary(), str(RUNNER), "--firmware", str(self.firmware), "--bootrom", str(self.bootrom),
                    "--flash", str(self.flash_image)]
            if self.realtime:
                argv.append("--realtime")
            if self.verbose:
                argv.append("--verbose")
            if self.profile is not None:
                argv += ["--profile", str(self.profile)]
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          bufsize=0, start_new_session=True)
            for target, name in ((self._read_runner, "pico-emu-out"), (self._read_stderr, "pico-emu-err"),
                                 (self._read_port, "pico-emu-port")):
                t = threading.Thread(target=target, name=name, daemon=True)
                t.start()
                self._threads.append(t)
            self.wait_event("usb", timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def power_cycle(self, timeout=BOOT_TIMEOUT_S):
        """Cut and restore power: a fresh chip around the same flash; waits for USB to enumerate."""
        mark = self._mark()
        self._send(b"C", json.dumps({"cmd": "power_cycle"}).encode())
        self.wait_event("usb", timeout, after=mark)

    def wait_reset(self, timeout=BOOT_TIMEOUT_S, after=None):
        """Wait for a watchdog reset (the board's own) and its USB enumeration; the boot event."""
        self.wait_event("reset", timeout, after=after)
        boot = self.wait_event("boot", timeout, after=after)
        self.wait_event("usb", timeout, after=after)
        return boot

    def wait_output(self, timeout=BOOT_TIMEOUT_S):
        """Wait until the board has written to its USB-CDC since its last boot (the flight app's
        boot event: MicroPython prints nothing before main.py runs)."""
        deadline = time.monotonic() + timeout
        while self._output_since_boot == 0:
            if self._proc.poll() is not None:
                raise PicoEmuError("pico-emu: the runner exited with code %s: %s" % (
                    self._proc.returncode, self._last_stderr() or "no message"))
            left = deadline - time.monotonic()
            if left <= 0:
                raise PicoEmuError("pico-emu: the board wrote nothing within %.0f s of boot %d (is main.py there?)"
                                   % (timeout, self.boots))
            try:
                self._events.get(timeout=min(left, 0.2))
            except queue.Empty:
                pass

    def status(self, timeout=10.0):
        """{boots, t_ns (emulated time), cycles, waiting, locked, host_queued} from the runner."""
        mark = self._mark()
        self._send(b"C", json.dumps({"cmd": "status"}).encode())
        return self.wait_event("status", timeout, after=mark)

    def profile_reset(self, timeout=10.0):
        """With profile=FILE: forget the PC samples taken so far (the boot, say); how many there were."""
        mark = self._mark()
        self._send(b"C", json.dumps({"cmd": "profile_reset"}).encode())
        return self.wait_event("profile_reset", timeout, after=mark)["samples"]

    def mpremote(self, *args, timeout=120):
        """Run `mpremote connect PORT ARGS...` against the board; its stdout. PicoEmuError with
        mpremote's last line when it fails (the board's traceback for an `exec`)."""
        from ground.runtimes import mpremote_command

        argv = mpremote_command() + ["connect", self.port, *args]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PicoEmuError("pico-emu: mpremote %s did not finish within %.0f s" % (args[0], timeout)) from None
        if proc.returncode != 0:
            lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
            raise PicoEmuError("pico-emu: mpremote %s failed: %s" % (args[0], lines[-1] if lines else "exit %d" % proc.returncode))
        return proc.stdout

    def exec(self, code, timeout=120):
        """Run Python `code` on the board (raw REPL, mpremote exec); what it printed."""
        return self.mpremote("exec", code, timeout=timeout)

    def events(self, name=None):
        with self._event_lock:
            return [e for e in self._event_log if name is None or e["event"] == name]

    def stop(self):
        """Stop the runner (the flash image is written through), close the pty. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                self._send(b"C", json.dumps({"cmd": "quit"}).encode())
                proc.wait(5)
            except (OSError, PicoEmuError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(5)
        if self._wake_w is not None:
            os.write(self._wake_w, b"!")
        for t in self._threads:
            t.join(5)
        close_fds(self._master, self._slave, self._wake_r, self._wake_w)
        self._master = self._slave = self._wake_r = self._wake_w = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "PicoEmu(firmware=%r, port=%r, flash=%r)" % (str(self.firmware), self.port, str(self.flash_image))

    # -- events ------------------------------------------------------------------------

    def _mark(self):
        with self._event_lock:
            return len(self._event_log)

    def wait_event(self, name, timeout, after=None):
        """The first event `name` logged at or after index `after` (default: any); PicoEmuError on timeout."""
        deadline = time.monotonic() + timeout
        start = 0 if after is None else after
        while True:
            with self._event_lock:
                for e in self._event_log[start:]:
                    if e["event"] == name:
                        return e
                start = len(self._event_log)
            if self._proc is not None and self._proc.poll() is not None:
                raise PicoEmuError("pico-emu: the runner exited with code %s: %s" % (
                    self._proc.returncode, self._last_stderr() or "no message"))
            left = deadline - time.monotonic()
            if left <= 0:
                raise PicoEmuError("pico-emu: no %s event within %.0f s (firmware %s)" % (name, timeout, self.firmware))
            try:
                self._events.get(timeout=min(left, 0.2))
            except queue.Empty:
                pass

    def _last_stderr(self):
        for line in reversed(self._stderr_tail):
            if line.strip():
                return line.strip()
        return ""

    # -- plumbing ----------------------------------------------------------------------

    def _open_pty(self):
        self._master, self._slave, self.port = open_pty()
        self._wake_r, self._wake_w = os.pipe()

    def _send(self, kind, payload):
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise PicoEmuError("pico-emu: the runner is not running")
        with self._write_lock:
            proc.stdin.write(kind + struct.pack("<I", len(payload)) + payload)
            proc.stdin.flush()

    def _read_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self._proc.stdout.read(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def _read_runner(self):
        """Frames from the runner: board output to the pty, events to the log."""
        while True:
            head = self._read_exact(5)
            if head is None:
                break
            kind, size = head[:1], struct.unpack("<I", head[1:])[0]
            payload = self._read_exact(size) if size else b""
            if payload is None:
                break
            if kind == b"D":
                self._output_since_boot += len(payload)
                self._to_ground(payload)
                self._events.put(None)  # wakes wait_output()
            elif kind == b"E":
                e = json.loads(payload)
                if e["event"] == "boot":
                    self.boots = e["n"]
                    self.last_boot = e
                    self._output_since_boot = 0
                if e["event"] in ("lockup", "error", "reset") and self.log is not None:
                    self.log("pico-emu: %s" % json.dumps(e))
                with self._event_lock:
                    self._event_log.append(e)
                self._events.put(e)
        self._events.put({"event": "eof"})

    def _to_ground(self, data):
        self._stats["to_ground"] += len(data)
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
            except BlockingIOError:  # no one reads the port: the rest is lost, as on a serial line
                self._stats["dropped_to_ground"] += len(view)
                return
            except OSError:
                return
            view = view[n:]

    def _read_stderr(self):
        for raw in iter(self._proc.stderr.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            self._stderr_tail = (self._stderr_tail + [line])[-_TAIL_LINES:]
            if self.log is not None:
                self.log(line)

    def _read_port(self):
        """What the ground writes to the pty goes to the board's USB-CDC OUT endpoint."""
        while True:
            try:
                ready, _, _ = select.select([self._master, self._wake_r], [], [])
            except (OSError, ValueError):
                return
            if self._wake_r in ready:
                return
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:
                continue
            self._stats["to_board"] += len(data)
            try:
                self._send(b"D", data)
            except (OSError, PicoEmuError):
                return


# ---- the flight app on the board's littlefs ----------------------------------------------

IMAGE_DIR = ROOT / "build" / "pico-emu"
_IMAGE_RECIPE = 1  # bump when app_image() changes what it puts on the flash


def app_image(firmware, log=None):
    """A flash image of `firmware` with the flight app on its littlefs as a board is flashed:
    every firmware package precompiled to .mpy for the board's .mpy ABI (asked of the board) with
    the dictionary constants folded (ground.runtimes.compile_firmware_mpy), but no main.py,
    board.json or keys.json yet (install_app() adds them). Cached in build/pico-emu/ by the
    firmware's and the .mpy build's contents: the copy (about 15 s) runs once per change."""
    import hashlib

    from ground import runtimes

    IMAGE_DIR.mkdir(parents=True, exist_ok=True)
    fw_digest = hashlib.sha256(Path(firmware).read_bytes()).hexdigest()[:16]
    abi_file = IMAGE_DIR / ("abi-%s" % fw_digest)

    def image_for(abi):
        mpy = runtimes.compile_firmware_mpy(runtimes.flashed_packages(), target=runtimes.mpy_target(abi))
        return mpy, IMAGE_DIR / ("app-%d-%s-%s.img" % (_IMAGE_RECIPE, fw_digest, mpy.name))

    if abi_file.exists():
        image = image_for(int(abi_file.read_text()))[1]
        if image.exists():
            return image
    probe = IMAGE_DIR / (".build-%d.img" % os.getpid())
    probe.unlink(missing_ok=True)
    try:
        with PicoEmu(firmware, flash_image=probe, realtime=False, log=log) as pico:
            if not abi_file.exists():
                abi_file.write_text(pico.exec("import sys; print(sys.implementation._mpy)"))
            mpy, image = image_for(int(abi_file.read_text()))
            if image.exists():
                return image
            packages = [p for p in sorted(mpy.iterdir()) if p.is_dir()]
            pico.mpremote("fs", "cp", "-r", *map(str, packages), ":", timeout=600)
            listed = pico.exec("import os; print(' '.join(sorted(os.listdir())))").split()
            if listed != [p.name for p in packages]:
                raise PicoEmuError("pico-emu: the board's filesystem holds %s after the copy, expected %s"
                                   % (listed, [p.name for p in packages]))
        os.replace(probe, image)  # whole, or not at all (concurrent builders: the last one wins)
        return image
    finally:
        probe.unlink(missing_ok=True)


def install_app(pico, board, key_name, keystore=None, speed=1.0):
    """Put main.py, board.json (the board file with security and runtime) and keys.json (a fresh
    uplink key, registered in the ground key store as `key_name`), made as `ground flash` makes
    them (ground.flash), on a started board's filesystem, then power-cycle it and wait for the
    flight app (started by main.py) to speak."""
    from ground import flash
    from ground.keys import KeyStore

    keystore = keystore if keystore is not None else KeyStore()
    link = keystore.create(key_name, spi=1, force=True)
    files = {"board.json": flash.board_json(board, speed), "keys.json": flash.keys_json(link), "main.py": flash.main_py()}
    with tempfile.TemporaryDirectory(prefix="mitra-pico-app-") as staged:
        for name, data in files.items():
            (Path(staged) / name).write_bytes(data)
        pico.mpremote("fs", "cp", *(str(Path(staged) / name) for name in files), ":")
    pico.power_cycle()
    pico.wait_output()
    return link

