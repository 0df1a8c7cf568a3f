"""Where the emulated Pico's cycles go: the runner's PC samples (PicoEmu(profile=FILE)) named by
the firmware's ELF symbols.

    python -m hil.pico_emu profile --vehicle rover --flight 60

flies the vehicle's app in virtual time on the emulated Pico (the RPI_PICO firmware, C core built
in), drops the samples of its boot, and prints the cycles one second of flight costs the board and
the functions they went to. A profile of the firmware's C: the Python the app runs shows as the
interpreter (mp_execute_bytecode, mp_map_lookup, ...) and the garbage collector (gc_*).
"""

import bisect
import json
import shutil
import subprocess
from pathlib import Path

from hil.pico_emu import PICO_HZ, PicoEmuError, firmware_path

ROM_END = 0x4000  # the boot ROM: its soft-float and memory routines
SRAM = (0x20000000, 0x20042000)  # code the firmware copies to RAM (time-critical functions)


def elf_symbols(elf):
    """[(address, name)] of the function symbols of `elf`, sorted (arm-none-eabi-nm)."""
    nm = shutil.which("arm-none-eabi-nm")
    if nm is None:
        raise PicoEmuError("pico-emu profile: arm-none-eabi-nm missing (apt-get install gcc-arm-none-eabi)")
    if not Path(elf).is_file():
        raise PicoEmuError("pico-emu profile: no %s beside the firmware (make firmware BOARD=rp2-pico)" % elf)
    out = subprocess.run([nm, "-n", "--defined-only", str(elf)], capture_output=True, text=True, check=True).stdout
    return parse_nm(out)


def parse_nm(text):
    """[(address, name)] of the text symbols in `nm -n` output."""
    syms = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    return syms


def attribute(samples, syms):
    """{function name: samples} of [[pc, count], ...]; boot-ROM code is named by its address."""
    addrs = [a for a, _ in syms]
    out = {}
    for pc, n in samples:
        pc &= ~1
        if pc < ROM_END:
            name = "boot ROM 0x%03x_" % (pc >> 4)  # 16-octet rows: the ROM's routines are unnamed
        else:
            i = bisect.bisect_right(addrs, pc) - 1
            name = syms[i][1] if i >= 0 else "0x%08x" % pc
            if SRAM[0] <= pc < SRAM[1]:
                name += " (RAM)"
        out[name] = out.get(name, 0) + n
    return out


def load(path):
    """(samples per instruction taken, [[pc, count], ...]) of a runner's profile file."""
    data = json.loads(Path(path).read_text())
    return data["every"], data["samples"]


def table(by_name, top):
    """[(name, share)] of the `top` functions by samples, shares of all samples."""
    total = sum(by_name.values()) or 1
    return [(name, n / total) for name, n in sorted(by_name.items(), key=lambda kv: -kv[1])[:top]]


def fly(vehicle, flight_s, top=25, warmup_s=5.0, log=None):
    """Profile `vehicle`'s app for `flight_s` of flight after `warmup_s`; prints and returns
    {"mcycles_per_flight_s", "samples", "top": [(name, share)]}."""
    import tempfile

    from ground.demo import SCENARIOS, Session
    from ground.mission import Mission
    from hil.pico_emu.mission import flown_on_pico_emu

    firmware = firmware_path()
    syms = elf_symbols(Path(firmware).with_suffix(".elf"))
    with tempfile.TemporaryDirectory(prefix="mitra-pico-profile-") as tmp:
        path = Path(tmp) / "profile.json"
        with flown_on_pico_emu(profile=path):
            with Mission(vehicle, runtime="micropython", scenario=SCENARIOS[vehicle], log=log) as m:
                if vehicle == "rover":
                    m.send("rover_nav.add_waypoint", "360", "0")
                    m.send("rover_nav.drive")
                else:
                    m.send("inspector_adcs.set_mode", "DETUMBLE")
                m.run_for(warmup_s)
                emu = m.sitl.emu
                emu.profile_reset()
                before, start = emu.status(), m.elapsed
                m.run_for(flight_s)
                after, flown = emu.status(), m.elapsed - start
                Session(m, vehicle).say("profiled %.0f s of flight" % flown)
        every, samples = load(path)
    by_name = attribute(samples, syms)
    result = {"mcycles_per_flight_s": (after["cycles"] - before["cycles"]) / flown / 1e6, "samples": sum(by_name.values()),
              "top": table(by_name, top)}
    print("%s on the emulated Pico: %.1f M cycles per second of flight (%.0f%% of a 125 MHz RP2040 at real time); "
          "%d PC samples, one per %d instructions"
          % (vehicle, result["mcycles_per_flight_s"], 100 * result["mcycles_per_flight_s"] * 1e6 / PICO_HZ, result["samples"], every))
    for name, share in result["top"]:
        print("  %5.1f%%  %s" % (100 * share, name))
    return result
