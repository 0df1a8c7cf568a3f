"""SITL launcher: run the flight app off-board behind a pty that looks like its serial port.

    with Sitl("rp2-pico") as sitl:
        port = serial.Serial(sitl.port, timeout=1)
        ...
        sitl.restart()          # a reboot: same state dir, same port path

The state directory plays the board's flash filesystem (docs/design.md): the
launcher writes `board.json` (the board file plus run settings) and, when the
directory has none yet, `keys.json` with an ephemeral uplink key that it also
registers in the ground key store under the port's link name.

The relay behaves like a serial line: bytes the flight app writes while no one
reads the port are dropped and counted, so the flight app never blocks on its link.
In virtual time (speed "max") it holds the flight back instead: flight time then
waits for the ground rather than telemetry being lost.
"""

import collections
import errno
import json
import os
import queue
import select
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import tty
from pathlib import Path

from ground import BOARDS_DIR, FIRMWARE_DIR
from ground.dictionary import VEHICLE_BY_NAME as VEHICLES
from ground.errors import UnknownBoard
from ground.keys import KeyStore, port_link_name
from ground import runtimes

# The unix port's built-in path (MICROPY_PY_SYS_PATH_DEFAULT); setting MICROPYPATH replaces it.
MICROPY_DEFAULT_PATH = ".frozen:~/.micropython/lib:/usr/lib/micropython"
STARTUP_GRACE_S = 0.5
TERM_TIMEOUT_S = 3.0
DEFAULT_SPI = 1
_READ_CHUNK = 65536
_TAIL_LINES = 40
# Flight time per real time. Below the minimum the flight clock's integer rate (fsw/clock.py) rounds
# to zero; infinity overflows it; beyond the maximum use "max" (virtual time) instead.
SPEED_MIN = 0.001
SPEED_MAX = 1000.0


class SitlError(RuntimeError):
    """The flight process could not be started or died during start-up."""


def known_boards():
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load_board(name):
    """The board description `boards/<name>.json` as a dict; `UnknownBoard` otherwise."""
    known = known_boards()
    if name not in known:
        raise UnknownBoard(
            "unknown board %r (known boards: %s)" % (name, ", ".join(known) or "none"), name=name, known=known
        )
    return json.loads((BOARDS_DIR / (name + ".json")).read_text())


def open_pty():
    """A raw pty that passes for a serial port: (master fd, non-blocking; slave fd; the slave's path)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(master, False)
    return master, slave, os.ttyname(slave)


def close_fds(*fds):
    """Close every fd that is not None; one already closed is no error."""
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


class _Flight:
    """One run of the flight process (a boot)."""

    def __init__(self, proc):
        self.proc = proc
        self.returncode = None
        self.eof = threading.Event()  # the relay saw EOF on its stdout
        self.exited = threading.Event()  # reaped and stdout drained
        self.stderr_tail = collections.deque(maxlen=_TAIL_LINES)
        self.stderr_thread = None


class Sitl:
    """The flight app of `board` on `runtime` ('micropython' or 'cpython') behind a pty.

    `log` receives the flight process's stderr line by line, prefixed `sitl: `:
    a callable (gets the line without newline), a file object, or None for the
    launcher's stderr. `program` replaces firmware/main.py (a script path, or a
    list of arguments after the interpreter).
    """

    # Mission.run_until's real-time safety net: virtual time runs at least as fast as real time here
    real_s_per_flight_s = 1.0

    def __init__(
        self,
        board="rp2-pico",
        runtime="micropython",
        state_dir=None,
        security=True,
        keystore=None,
        speed=1.0,
        log=None,
        program=None,
        vehicle=None,
        scenario=None,
    ):
        if runtime not in ("micropython", "cpython"):
            raise ValueError("unknown runtime %r (expected 'micropython' or 'cpython')" % (runtime,))
        if speed != "max" and not (isinstance(speed, (int, float)) and SPEED_MIN <= speed <= SPEED_MAX):
            raise ValueError("speed must be in %g..%g or 'max', got %r" % (SPEED_MIN, SPEED_MAX, speed))
        self.board_name = board
        self.board = load_board(board)
        if vehicle is not None and vehicle not in VEHICLES:
            raise ValueError("unknown vehicle %r (known: %s)" % (vehicle, ", ".join(VEHICLES)))
        self.vehicle = vehicle  # the app the board runs ("inspector", "rover"), None: the OBC alone
        self.scenario = dict(scenario or {})  # initial conditions for the emulated devices (hw.<vehicle>.build)
        self.runtime = runtime
        self.security = bool(security)
        self.speed = speed if speed == "max" else float(speed)  # "max": virtual flight time, as fast as the host runs
        self.keystore = keystore if keystore is not None else KeyStore()
        self.log = log
        self.program = program
        self._given_state_dir = Path(state_dir) if state_dir is not None else None
        self.state_dir = None
        self.port = None
        self.link_name = None
        self._master = self._slave = None
        self._wake_r = self._wake_w = None
        self._commands = queue.Queue()
        self._relay_thread = None
        self._flight = None
        self._stats = {"to_board": 0, "to_ground": 0, "dropped_to_ground": 0, "dropped_to_board": 0}
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    # -- public ----------------------------------------------------------------

    @property
    def relay_stats(self):
        """Bytes moved: to_board, to_ground, dropped_to_ground (no one reading), dropped_to_board (flight down)."""
        with self._lock:
            return dict(self._stats)

    @property
    def returncode(self):
        """Exit code of the current flight process, None while it runs."""
        return self._flight.returncode if self._flight else None

    @property
    def pid(self):
        return self._flight.proc.pid if self._flight else None

    def argv(self):
        program = FIRMWARE_DIR / "main.py" if self.program is None else self.program
        if self.runtime == "micropython" and not isinstance(program, (list, tuple)):
            # the firmware deployed as ROMFS and run in place, as on a board (ground/romboot.py);
            # the app gets the board's heap budget beside the image
            return runtimes.romfs_argv(runtimes.require_micropython(), self.board["heap_budget"], self._flashed(Path(program)))
        argv = runtimes.command(self.runtime, heap_bytes=self.board["heap_budget"])
        if isinstance(program, (list, tuple)):
            return argv + [str(a) for a in program]
        return argv + [str(program)]

    def _flashed(self, program):
        """A program for the MicroPython runtime as it would be put on the board's flash: its
        dictionary constants become numbers as in the firmware's .mpy (runtimes.flash_source)."""
        if self.runtime != "micropython" or self.state_dir is None or program == FIRMWARE_DIR / "main.py":
            return str(program)
        text = program.read_text()
        flashed = runtimes.flash_source(program.name, text, runtimes.dictionary_consts())
        if flashed == text:
            return str(program)
        target = self.state_dir / ("flashed-" + program.name)
        target.write_text(flashed)
        return str(target)

    def env(self):
        env = dict(os.environ)
        if self.runtime == "cpython":
            extra = [str(runtimes.CPYTHON_SHIMS), str(FIRMWARE_DIR)]
            if env.get("PYTHONPATH"):
                extra.append(env["PYTHONPATH"])
            env["PYTHONPATH"] = os.pathsep.join(extra)
        else:
            # the firmware comes from the ROMFS image (argv); a list `program` runs as given,
            # with the .mpy build and the sources importable
            mpy = runtimes.compile_firmware_mpy(runtimes.flashed_packages())
            env["MICROPYPATH"] = str(mpy) + ":" + str(FIRMWARE_DIR) + ":" + (env.get("MICROPYPATH") or MICROPY_DEFAULT_PATH)
        return env

    def start(self):
        if self._started:
            raise SitlError("this Sitl was already started; make a new one")
        self._started = True
        try:
            self._open_pty()
            self._make_state_dir()
            self._provision()
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            self._relay_thread = threading.Thread(target=self._relay, name="sitl-relay", daemon=True)
            self._relay_thread.start()
            self._boot()
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, hard=False):
        """Reboot: stop the flight process (SIGKILL when `hard`, like a power cut) and start it again.

        The state dir and the pty (so the port path, and any client's open port) stay.
        """
        if not self._started or self._stopped:
            raise SitlError("restart() needs a started, not stopped Sitl")
        self._halt(hard=hard)
        self._boot()

    def wait(self, timeout=None):
        """Wait for the flight process to end on its own; its exit code, or None on timeout."""
        if self._flight is None:
            return None
        if not self._flight.exited.wait(timeout):
            return None
        return self._flight.returncode

    def stop(self):
        """Stop the flight process and the relay, close the pty, remove a temporary state dir. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self._halt(hard=False)
        finally:
            if self._relay_thread is not None:
                self._command("quit")
                self._relay_thread.join(5)
            close_fds(self._master, self._slave, self._wake_r, self._wake_w)
            self._master = self._slave = self._wake_r = self._wake_w = None
            if self._given_state_dir is None and self.state_dir is not None:
                if self.link_name is not None:
                    self.keystore.delete(self.link_name)
                shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "Sitl(board=%r, runtime=%r, port=%r, state_dir=%r)" % (
            self.board_name,
            self.runtime,
            self.port,
            str(self.state_dir) if self.state_dir else None,
        )

    # -- set-up ------------------------------------------------------------------

    def _open_pty(self):
        self._master, self._slave, self.port = open_pty()
        self.link_name = port_link_name(self.port)

    def _make_state_dir(self):
        if self._given_state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="mitra-sitl-"))
            return
        path = self._given_state_dir
        if path.exists() and not path.is_dir():
            raise SitlError("state directory %s: not a directory" % path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SitlError("state directory %s: cannot create it: %s" % (path, exc.strerror or exc)) from None
        self.state_dir = path

    def _provision(self):
        try:
            self._write_board_and_keys()
        except OSError as exc:
            where = exc.filename or self.state_dir
            raise SitlError("state directory %s: cannot write %s: %s" % (self.state_dir, where, exc.strerror or exc)) from None

    def _write_board_and_keys(self):
        board = dict(self.board)
        board.update(security=self.security, runtime=self.runtime, speed=self.speed)
        if self.vehicle is not None:
            board.update(vehicle=self.vehicle, scenario=self.scenario)
        _write_json(self.state_dir / "board.json", board)
        keys_path = self.state_dir / "keys.json"
        if keys_path.exists():  # a reboot or a kept state dir keeps its keys
            try:
                keys = json.loads(keys_path.read_text())
                spi = min(int(s) for s in keys)
                key = bytes.fromhex(keys[str(spi)])
            except (ValueError, TypeError, AttributeError) as exc:
                raise SitlError("state directory %s: %s is not a key file ({\"SPI\": \"hex key\"}): %s" % (self.state_dir, keys_path, exc)) from None
            next_sn = 1
            try:
                old = self.keystore.load(self.link_name)
                if old.spi == spi and old.key == key:
                    next_sn = old.next_sn
            except ValueError:  # KeyMissing, or a stale file we replace
                pass
            self.keystore.create(self.link_name, spi=spi, key=key, next_sn=next_sn, force=True)
        else:
            link = self.keystore.create(self.link_name, spi=DEFAULT_SPI, force=True)
            fd = os.open(keys_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({str(link.spi): link.key.hex()}, f)
                f.write("\n")

    # -- the flight process ------------------------------------------------------

    def _boot(self):
        proc = subprocess.Popen(
            self.argv(),
            cwd=str(self.state_dir),
            env=self.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # a Ctrl-C at the terminal reaches the launcher, which stops it
        )
        flight = _Flight(proc)
        flight.stderr_thread = threading.Thread(
            target=self._read_stderr, args=(flight,), name="sitl-stderr", daemon=True
        )
        flight.stderr_thread.start()
        threading.Thread(target=self._reap, args=(flight,), name="sitl-reap", daemon=True).start()
        self._flight = flight
        self._command("attach", flight)
        if flight.exited.wait(STARTUP_GRACE_S) or proc.poll() is not None:
            flight.exited.wait(2)
            flight.stderr_thread.join(2)
            raise SitlError(
                "flight app exited with code %s within %.1f s of start (%s)\n--- stderr tail ---\n%s"
                % (proc.returncode, STARTUP_GRACE_S, " ".join(self.argv()), "\n".join(flight.stderr_tail))
            )

    def _halt(self, hard):
        flight = self._flight
        if flight is None:
            return
        proc = flight.proc
        if proc.poll() is None:
            try:
                if hard:
                    proc.kill()
                else:
                    proc.terminate()
                proc.wait(TERM_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        if not flight.exited.wait(3):  # something else holds its stdout open: stop relaying it
            self._command("detach", flight)
            flight.exited.wait(3)
        if flight.stderr_thread is not None:
            flight.stderr_thread.join(3)

    def _reap(self, flight):
        flight.proc.wait()
        flight.eof.wait(3)
        flight.returncode = flight.proc.returncode
        flight.exited.set()

    def _read_stderr(self, flight):
        stream = flight.proc.stderr
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                flight.stderr_tail.append(line)
                self._emit("sitl: " + line)
        except (OSError, ValueError):
            pass
        finally:
            stream.close()

    def _emit(self, line):
        log = self.log
        try:
            if log is None:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
            elif callable(log):
                log(line)
            else:
                log.write(line + "\n")
                log.flush()
        except (OSError, ValueError):  # a closed log never takes the relay down
            pass

    # -- the relay -----------------------------------------------------------------

    def _command(self, *cmd):
        self._commands.put(cmd)
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"!")
            except OSError:
                pass

    def _count(self, key, n):
        if n:
            with self._lock:
                self._stats[key] += n

    def _to_ground(self, data):
        """Write the flight's output to the port; the octets written.

        Real time: a serial line drops what no one reads (the port's buffer is full).
        Virtual time (speed "max"): the flight is held back instead, so flight time waits
        for the ground rather than telemetry being lost when the ground reads slowly."""
        if self.speed != "max":
            try:
                return os.write(self._master, data)
            except BlockingIOError:  # no one reads the port and its buffer is full
                return 0
        view = memoryview(data)
        sent = 0
        while sent < len(data) and not self._stopped:
            try:
                sent += os.write(self._master, view[sent:])
            except BlockingIOError:
                select.select([], [self._master], [], 0.05)
        return sent

    def _relay(self):
        """master -> flight stdin (back-pressure when the flight does not read); flight stdout -> master (drop)."""
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        sel.register(self._master, selectors.EVENT_READ, "master")
        state = {"flight": None, "out": None, "in": None, "pending": b""}

        def detach():
            flight = state["flight"]
            if flight is None:
                return
            if state["out"] is not None:
                sel.unregister(state["out"])
            if state["pending"]:
                sel.unregister(state["in"])
                sel.register(self._master, selectors.EVENT_READ, "master")
                self._count("dropped_to_board", len(state["pending"]))
            for stream in (flight.proc.stdin, flight.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            state.update(flight=None, out=None, pending=b"")
            state["in"] = None
            flight.eof.set()

        def attach(flight):
            detach()
            out_fd, in_fd = flight.proc.stdout.fileno(), flight.proc.stdin.fileno()
            os.set_blocking(in_fd, False)
            sel.register(out_fd, selectors.EVENT_READ, "out")
            state.update(flight=flight, out=out_fd, pending=b"")
            state["in"] = in_fd

        def to_board(data):
            # Write what the flight process takes; keep the rest and stop reading the port until it drains.
            if state["in"] is None:
                self._count("dropped_to_board", len(data))
                return
            try:
                n = os.write(state["in"], data)
            except BlockingIOError:
                n = 0
            except OSError:  # EPIPE: the flight closed stdin or died; its stdout EOF will detach it
                self._count("dropped_to_board", len(data))
                if state["pending"]:
                    sel.unregister(state["in"])
                    sel.register(self._master, selectors.EVENT_READ, "master")
                state["pending"] = b""
                state["in"] = None
                return
            self._count("to_board", n)
            rest = data[n:]
            if rest and not state["pending"]:
                sel.unregister(self._master)
                sel.register(state["in"], selectors.EVENT_WRITE, "in")
            elif not rest and state["pending"]:
                sel.unregister(state["in"])
                sel.register(self._master, selectors.EVENT_READ, "master")
            state["pending"] = rest

        running = True
        while running:
            for key, _events in sel.select():
                what = key.data
                if what == "wake":
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                    while True:
                        try:
                            cmd = self._commands.get_nowait()
                        except queue.Empty:
                            break
                        if cmd[0] == "attach":
                            attach(cmd[1])
                        elif cmd[0] == "detach":
                            if state["flight"] is cmd[1]:
                                detach()
                            else:
                                cmd[1].eof.set()
                        elif cmd[0] == "quit":
                            detach()
                            running = False
                    break  # the registrations may have changed
                if what == "master":
                    try:
                        data = os.read(self._master, _READ_CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError as exc:  # EIO: no slave open (cannot happen while we hold it)
                        if exc.errno != errno.EIO:
                            raise
                        continue
                    if state["flight"] is None:
                        self._count("dropped_to_board", len(data))  # the board is down (rebooting)
                    else:
                        to_board(data)
                elif what == "in":
                    to_board(state["pending"])
                elif what == "out":
                    try:
                        data = os.read(state["out"], _READ_CHUNK)
                    except OSError:
                        data = b""
                    if not data:
                        detach()  # EOF: the process ended; wait for the next boot
                        break
                    n = self._to_ground(data)
                    self._count("to_ground", n)
                    self._count("dropped_to_ground", len(data) - n)
        sel.close()

