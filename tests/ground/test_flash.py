"""ground/flash.py without a board: the manifest diff, the UF2 converter, the error paths, and whole
flashes onto a fake board whose filesystem is a folder and whose REPL is the MicroPython unix port
(every board-side snippet runs on real MicroPython, one process per exec, as one raw-REPL exec)."""

import os
import shutil
import struct
import subprocess
import threading

import pytest

from ground import cli, flash, runtimes
from ground.flash import FlashError, bin_to_uf2, parse_uf2, plan
from ground.keys import KeyStore
from ground.sitl import load_board

pytestmark = pytest.mark.usefixtures("mitra_home")

H = {c: c * 64 for c in "abcdef"}  # stand-in SHA-256 hex digests


# ---- the manifest diff ----------------------------------------------------------------------


def test_plan_copies_what_differs_or_is_missing_and_deletes_what_the_build_dropped():
    new = {"main.py": H["a"], "fsw/app.mpy": H["b"], "fsw/link.mpy": H["c"], "keys.json": H["d"]}
    old = {"main.py": H["a"], "fsw/app.mpy": H["e"], "fsw/old.mpy": H["f"], "keys.json": None}
    p = plan(new, old)
    assert p.copy == ["fsw/app.mpy", "fsw/link.mpy", "keys.json"]
    assert p.unchanged == ["main.py"]
    assert p.delete == ["fsw/old.mpy"]


def test_plan_never_deletes_a_file_the_board_does_not_have():
    assert plan({"a": H["a"]}, {"b": None}).delete == []


def test_plan_of_an_unchanged_build_copies_nothing():
    new = {"main.py": H["a"], "x/y.mpy": H["b"]}
    p = plan(new, dict(new))
    assert (p.copy, p.delete, p.unchanged) == ([], [], ["main.py", "x/y.mpy"])


def test_manifest_round_trip_and_foreign_manifests_are_not_trusted():
    text = flash.manifest_bytes("rp2-pico", {"version": "1.28.0", "mpy": 4102}, {"b": H["b"], "a": H["a"]}).decode()
    assert flash.parse_manifest(text) == {"a": H["a"], "b": H["b"]}
    assert flash.parse_manifest("{") is None
    assert flash.parse_manifest('{"version": 99, "files": {}}') is None
    assert flash.parse_manifest('{"version": 1, "files": {"a": "not a hash"}}') is None
    assert flash.parse_manifest('[1, 2]') is None


# ---- UF2 ------------------------------------------------------------------------------------------


def test_uf2_of_a_bin_parses_back_to_the_image_at_the_rp2040_flash_base():
    data = bytes(range(256)) * 3 + b"tail"  # 772 octets: 4 blocks, the last one padded
    uf2 = bin_to_uf2(data)
    assert len(uf2) == 4 * 512
    # block 0: magic, magic, flags (family ID present), address, payload size, number, count, family
    assert struct.unpack_from("<8I", uf2) == (0x0A324655, 0x9E5D5157, 0x2000, 0x10000000, 256, 0, 4, 0xE48BFF56)
    assert struct.unpack_from("<I", uf2, 508) == (0x0AB16F30,)
    assert struct.unpack_from("<4I", uf2, 512 * 3 + 12) == (0x10000300, 256, 3, 4)
    base, image, family = parse_uf2(uf2)
    assert (base, family) == (0x10000000, 0xE48BFF56)
    assert image == data + b"\0" * (1024 - len(data))


@pytest.mark.parametrize("damage, message", [
    (lambda u: u[:-1], "not a whole number of 512-octet blocks"),
    (lambda u: b"\0" + u[1:], "block 0 has bad magic numbers"),
    (lambda u: u[:512 + 508] + b"\0\0\0\0" + u[1024:], "block 1 has bad magic numbers"),
    (lambda u: u[:512 + 12] + struct.pack("<I", 0x10000000) + u[512 + 16:], "not contiguous at 0x10000000"),
    (lambda u: u[:512], "says 2 blocks, the file has 1"),
])
def test_a_damaged_uf2_is_refused_with_the_block_named(damage, message):
    with pytest.raises(FlashError, match=message):
        parse_uf2(damage(bin_to_uf2(b"\x01" * 300)))


def _bootsel_drive(tmp_path):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n")
    return drive


def test_a_pico_firmware_bin_goes_to_the_bootsel_drive_as_uf2(tmp_path, capsys):
    fw = tmp_path / "firmware.bin"
    fw.write_bytes(os.urandom(1000))
    drive = _bootsel_drive(tmp_path)
    assert cli.main(["flash", "--board", "rp2-pico", "--firmware", str(fw), "--drive", str(drive)]) == 0
    base, image, family = parse_uf2((drive / "firmware.uf2").read_bytes())
    assert (base, image[:1000], family) == (0x10000000, fw.read_bytes(), 0xE48BFF56)
    out = capsys.readouterr().out
    assert out.startswith("wrote firmware.bin (1000 octets at 0x10000000 as 4 UF2 blocks) to %s" % drive)


def test_a_uf2_firmware_is_checked_and_copied_as_it_is(tmp_path):
    fw = tmp_path / "micropython.uf2"
    fw.write_bytes(bin_to_uf2(b"\x07" * 600))
    drive = _bootsel_drive(tmp_path)
    flash.flash_image(load_board("rp2-pico"), fw, drive)
    assert (drive / "micropython.uf2").read_bytes() == fw.read_bytes()


@pytest.mark.parametrize("case, message", [
    ("esp32", "esp32-devkitc \\(ESP32\\) takes its firmware through esptool .*write_flash -z 0x1000"),
    ("no-drive", "BOOTSEL drive: hold BOOTSEL, plug the board in, and pass the drive's folder with --drive"),
    ("not-bootsel", "is not an RP2040 BOOTSEL drive \\(no INFO_UF2.TXT\\)"),
    ("missing", "no-such.bin: No such file or directory"),
    ("bad-uf2", "not a UF2 file"),
])
def test_firmware_image_errors_are_one_line(tmp_path, capsys, case, message):
    fw = tmp_path / "firmware.bin"
    fw.write_bytes(b"\x01" * 100)
    argv = ["flash", "--board", "rp2-pico", "--firmware", str(fw), "--drive", str(_bootsel_drive(tmp_path))]
    if case == "esp32":
        argv[2] = "esp32-devkitc"
    elif case == "no-drive":
        argv = argv[:-2]
    elif case == "not-bootsel":
        argv[-1] = str(tmp_path)
    elif case == "missing":
        argv[4] = str(tmp_path / "no-such.bin")
    elif case == "bad-uf2":
        (tmp_path / "bad.uf2").write_bytes(b"\0" * 512)
        argv[4] = str(tmp_path / "bad.uf2")
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert __import__("re").search(message, captured.err), captured.err
    assert os.listdir(tmp_path / "RPI-RP2") == ["INFO_UF2.TXT"]  # nothing half-written


# ---- the CLI's error paths ----------------------------------------------------------------------


def _one_error(capsys, argv):
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert code == 1 and captured.out == "", captured
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ground: "), captured.err
    return lines[0]


def test_missing_port_unknown_board_and_no_port_are_one_line_each(capsys, tmp_path):
    assert _one_error(capsys, ["flash", "--board", "rp2-pico", "--port", str(tmp_path / "ttyACM9")]) == \
        "ground: %s: no such port (is the board plugged in?)" % (tmp_path / "ttyACM9")
    assert _one_error(capsys, ["flash", "--board", "pico9", "--port", "/dev/null"]) == \
        "ground: unknown board 'pico9' (known boards: esp32-devkitc, rp2-pico)"
    assert "needs --port" in _one_error(capsys, ["flash", "--board", "rp2-pico"])


@pytest.fixture
def pty_port(monkeypatch):
    """A pty whose far end we play: (port path, write(bytes) to it). Short REPL timeout."""
    monkeypatch.setattr(flash, "REPL_TIMEOUT_S", 0.6)
    master, slave = os.openpty()
    import tty

    tty.setraw(slave)
    stop = threading.Event()
    answers = []

    def far_end():  # drain what the tool sends; answer with `answers` each time it writes
        while not stop.is_set():
            try:
                import select

                if select.select([master], [], [], 0.05)[0]:
                    os.read(master, 4096)
                    for a in answers:
                        os.write(master, a)
            except OSError:
                return

    t = threading.Thread(target=far_end, daemon=True)
    t.start()
    yield os.ttyname(slave), answers
    stop.set()
    t.join(2)
    os.close(master)
    os.close(slave)


def test_a_port_that_does_not_answer_is_one_line(capsys, pty_port):
    port, _ = pty_port
    line = _one_error(capsys, ["flash", "--board", "rp2-pico", "--port", port])
    assert line.startswith("ground: %s does not answer (no MicroPython REPL within 1 s)" % port)
    assert "--wait-reset" in line


def test_a_port_with_the_flight_app_on_it_says_so(capsys, pty_port):
    port, answers = pty_port
    answers.append(b"\x00\x05\x08\x01\x02\x03\x00")  # COBS frames: the flight app's telemetry
    assert cli.main(["flash", "--board", "rp2-pico", "--port", port, "--wait-reset", "0.5"]) == 1
    prompt, line = capsys.readouterr().err.splitlines()  # the reset prompt, then one error line
    assert prompt.startswith("ground flash: %s does not answer as a MicroPython REPL; reset the board now" % port)
    assert "sends binary frames, not a MicroPython REPL: the flight app runs there and ignores Ctrl-C" in line
    assert "no reset was seen either" in line


def test_a_port_speaking_something_else_is_named(capsys, pty_port):
    port, answers = pty_port
    answers.append(b"AT OK\r\n")
    assert "answers, but not as a MicroPython REPL (b'AT OK" in _one_error(capsys, ["flash", "--board", "rp2-pico", "--port", port])


# ---- whole flashes onto a fake board: a folder, and the MicroPython unix port as its REPL ------------


class UnixBoard:
    """A board whose filesystem is `root` and whose raw REPL execs run on the MicroPython unix port."""

    port = "/dev/ttyFAKE0"

    def __init__(self, root, binary):
        self.root = root
        self.binary = binary
        self.execs = []
        self.fail_after_writes = None  # raise after this many file writes (a cable pulled mid-flash)
        self.corrupt = None  # a path whose writes land damaged
        self.resets = []

    def exec(self, code, timeout=60):
        if "a2b_base64" in code:
            if self.fail_after_writes is not None:
                if self.fail_after_writes == 0:
                    raise FlashError("%s: the board stopped answering in its raw REPL" % self.port)
                self.fail_after_writes -= 1
            if self.corrupt and repr(self.corrupt) in code:
                code = code.replace("f.close()", "f.write(b'!')\nf.close()")
        self.execs.append(code)
        proc = subprocess.run([self.binary, "-c", code], cwd=self.root, capture_output=True, text=True, timeout=timeout)
        if proc.returncode:
            raise FlashError("%s: the board raised %s" % (self.port, proc.stderr.strip().splitlines()[-1]))
        return proc.stdout

    def reset(self, hard=False):
        self.resets.append(hard)

    def close(self):
        pass

    def files(self):
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())


@pytest.fixture
def board(tmp_path, micropython):
    """(UnixBoard, its board file, a build folder with a few real .mpy modules for its ABI)."""
    binary = runtimes.require_micropython()
    root = tmp_path / "board"
    root.mkdir()
    fake = UnixBoard(root, binary)
    abi = int(subprocess.run([binary, "-c", "import sys; print(sys.implementation._mpy)"], capture_output=True,
                             text=True, check=True).stdout)
    target = runtimes.mpy_target(abi)
    real = runtimes.compile_firmware_mpy(("fsw",), target=target)
    build = tmp_path / "build"
    for name in ("storage", "crc16", "security", "hmac256"):  # what the key's replay floor and its check need
        (build / "fsw").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real / "fsw" / (name + ".mpy"), build / "fsw" / (name + ".mpy"))
    board_file = {"name": "fake-unix", "mcu": "x86-64", "mpy_cross_arch": target[2], "link": {"max_frame": 1024}}
    return fake, board_file, build


def _flash(fake, board_file, build, **kw):
    return flash.flash(fake.port, board_file, fake, build=lambda target: build, reset=False, **kw)


def _floor(fake, spi=1):
    out = subprocess.run([fake.binary, "-c", "from fsw.security import Security, load_keys\n"
                          "print(Security(load_keys()).floor(%d))" % spi], cwd=fake.root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_a_blank_board_gets_everything_then_a_reflash_copies_nothing(board):
    fake, board_file, build = board
    s = _flash(fake, board_file, build)
    expect = ["board.json", "fsw/crc16.mpy", "fsw/hmac256.mpy", "fsw/security.mpy", "fsw/storage.mpy", "keys.json", "main.py"]
    assert (s.copied, s.unchanged, s.deleted, s.key_written) == (expect, [], [], True)
    assert s.bytes == sum((fake.root / p).stat().st_size for p in expect)
    assert fake.files() == sorted(expect + [".mitra/manifest.json", "replay.dat"])
    for p in expect[1:5]:
        assert (fake.root / p).read_bytes() == (build / p).read_bytes()
    key = KeyStore().load("port-dev-ttyFAKE0")
    assert (fake.root / "keys.json").read_text() == '{"1": "%s"}\n' % key.key.hex()
    assert '"security": true' in (fake.root / "board.json").read_text()
    assert "flashed fake-unix on /dev/ttyFAKE0: 7 files copied, 0 unchanged, 0 deleted" in s.line()

    before = len(fake.execs)
    again = _flash(fake, board_file, build)
    assert (again.copied, again.deleted, len(again.unchanged), again.key_written) == ([], [], 7, False)
    assert len(fake.execs) - before == 2  # the version query and the manifest read: nothing written


def test_one_changed_file_is_copied_and_a_dropped_one_deleted(board):
    fake, board_file, build = board
    _flash(fake, board_file, build)
    (build / "fsw" / "hmac256.mpy").write_bytes((build / "fsw" / "hmac256.mpy").read_bytes() + b"\0")
    (build / "fsw" / "security.mpy").unlink()
    s = _flash(fake, board_file, build)
    assert (s.copied, s.deleted) == (["fsw/hmac256.mpy"], ["fsw/security.mpy"])
    assert (fake.root / "fsw" / "hmac256.mpy").read_bytes() == (build / "fsw" / "hmac256.mpy").read_bytes()
    assert not (fake.root / "fsw" / "security.mpy").exists()


def test_a_flash_cut_short_leaves_no_manifest_and_the_next_one_copies_only_the_rest(board):
    fake, board_file, build = board
    _flash(fake, board_file, build)
    for p in sorted((build / "fsw").iterdir()):  # a new build: all four modules change
        p.write_bytes(p.read_bytes() + b"\0")
    fake.fail_after_writes = 2
    with pytest.raises(FlashError, match="stopped answering"):
        _flash(fake, board_file, build)
    # the old manifest went before the first write: it no longer describes the board
    assert not (fake.root / ".mitra" / "manifest.json").exists()
    fake.fail_after_writes = None
    s = _flash(fake, board_file, build)
    assert s.copied == ["fsw/security.mpy", "fsw/storage.mpy"]  # the board's files were hashed, not trusted
    assert (fake.root / ".mitra" / "manifest.json").exists()
    assert _flash(fake, board_file, build).copied == []


def test_a_file_that_reads_back_wrong_fails_the_flash_and_writes_no_manifest(board):
    fake, board_file, build = board
    fake.corrupt = "fsw/storage.mpy"
    with pytest.raises(FlashError, match=r"1 of 7 copied files read back wrong on the board \(fsw/storage.mpy\)"):
        _flash(fake, board_file, build)
    assert not (fake.root / ".mitra" / "manifest.json").exists()
    fake.corrupt = None
    assert _flash(fake, board_file, build).copied == ["fsw/storage.mpy"]


def test_a_reused_key_is_provisioned_with_its_replay_floor(board):
    fake, board_file, build = board
    KeyStore().create("lab-pico", spi=3, next_sn=42)
    s = _flash(fake, board_file, build, key_name="lab-pico")
    assert s.key_written
    assert _floor(fake, spi=3) == 41  # SNs the ground used before are refused by this board
    assert KeyStore().load("lab-pico").next_sn == 42
    fresh = _flash(fake, board_file, build, key_name="lab-pico", new_key=True)
    assert fresh.copied == ["keys.json"] and _floor(fake, spi=1) == 0


def test_dry_run_changes_nothing_and_makes_no_key(board):
    fake, board_file, build = board
    s = _flash(fake, board_file, build, dry_run=True)
    assert len(s.copied) == 7 and s.line().startswith("dry run: fake-unix on /dev/ttyFAKE0: 7 files to copy")
    assert fake.files() == [] and KeyStore().names() == []


def test_force_copies_everything_again(board):
    fake, board_file, build = board
    _flash(fake, board_file, build)
    assert len(_flash(fake, board_file, build, force=True).copied) == 7


def test_an_abi_the_board_file_does_not_name_is_refused(board):
    fake, board_file, build = board
    board_file.update(name="rp2-pico", mpy_cross_arch="armv6m", mcu="RP2040")
    with pytest.raises(FlashError) as e:
        _flash(fake, board_file, build)
    assert " but board rp2-pico is armv6m: pick the right --board, or reflash the board with MicroPython for a RP2040" in str(e.value)
    assert fake.files() == []


def test_an_abi_mpy_cross_cannot_emit_says_reflash(board, monkeypatch):
    fake, board_file, _ = board

    def old_board(packages, target):
        raise runtimes.RuntimeMissing("mpy-cross does not emit the .mpy v6.1 that the board loads")

    monkeypatch.setattr(runtimes, "compile_firmware_mpy", old_board)
    with pytest.raises(FlashError, match=r"which mpy-cross \(.*\) does not emit: reflash the board with MicroPython v1\.\d+\.\d+ or another that loads .mpy v6\.\d"):
        flash.flash(fake.port, board_file, fake, reset=False)


def test_a_path_that_is_no_serial_port_or_a_busy_one_is_named(capsys, tmp_path, pty_port):
    assert _one_error(capsys, ["flash", "--board", "rp2-pico", "--port", str(tmp_path)]) == \
        "ground: %s: not a serial port (a directory)" % tmp_path
    import serial

    port, _ = pty_port
    with serial.Serial(port, exclusive=True):  # another program has the board
        assert _one_error(capsys, ["flash", "--board", "rp2-pico", "--port", port]) == \
            "ground: %s: port busy (another program has it open)" % port


def test_the_cli_flashes_through_the_repl_and_prints_one_line_or_json(board, monkeypatch, capsys):
    fake, board_file, build = board
    fake.open = lambda wait_reset=0.0, log=None: fake
    monkeypatch.setattr(flash, "SerialRepl", lambda port, baud: fake)
    monkeypatch.setattr(flash, "_compile", lambda target, info, port: build)
    monkeypatch.setattr("ground.sitl.load_board", lambda name: dict(board_file, name=name))
    assert cli.main(["flash", "--board", "fake-unix", "--port", fake.port, "--no-reset"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("flashed fake-unix on /dev/ttyFAKE0: 7 files copied, 0 unchanged, 0 deleted, ")
    assert fake.resets == []
    assert cli.main(["flash", "--board", "fake-unix", "--port", fake.port, "--no-reset", "--json", "--key", "bench"]) == 0
    doc = __import__("json").loads(capsys.readouterr().out)
    assert (doc["copied"], doc["unchanged"], doc["key"], doc["key_written"], doc["ping_s"]) == (["keys.json"], 6, "bench", True, None)


def test_reset_is_soft_unless_hard_is_asked_and_a_dry_run_never_resets(board):
    fake, board_file, build = board
    run = lambda **kw: flash.flash(fake.port, board_file, fake, build=lambda target: build, ping=False, **kw)  # noqa: E731
    run(dry_run=True)
    run()
    run(hard_reset=True)
    assert fake.resets == [False, True]
