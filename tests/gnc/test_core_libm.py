"""The C core links on every MicroPython port: it needs nothing outside MicroPython's own libm.

The qemu, stm32 and other bare-metal ports of MicroPython link lib/libm (single precision),
not newlib's libm. A core that calls a C99 function lib/libm lacks (fminf and fmaxf did)
compiles warning-free and then fails at the firmware's link. Here the core is compiled for the
qemu port's Cortex-M3 and for a Cortex-M4F, combined into one relocatable object, and what it
still needs from outside is checked against what those ports provide.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "native" / "src").glob("*.c"))

# MicroPython v1.28.0 lib/libm (py/py.mk SRC_LIB_LIBM_C): the float functions it defines.
MICROPY_LIBM = {
    "acosf", "acoshf", "asinf", "asinhf", "atan2f", "atanf", "atanhf", "ceilf", "copysignf", "cosf", "coshf",
    "erff", "erfcf", "expf", "expm1f", "floorf", "fmodf", "frexpf", "ldexpf", "lgammaf", "log10f", "log1pf",
    "logf", "modff", "nearbyintf", "powf", "roundf", "scalbnf", "sinf", "sinhf", "sqrtf", "tanf", "tanhf",
    "tgammaf", "truncf",
}  # fmt: skip
# shared/libc/string0.c, linked by the same ports
MICROPY_LIBC = {"memcpy", "memmove", "memset", "memcmp", "strlen", "strcmp", "strncmp", "strchr"}

CPUS = {
    "cortex-m3 (qemu mps2-an385)": ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
    "cortex-m4f": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
}


def undefined_symbols(flags, tmp_path):
    objs = []
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Os", *flags, "-I", str(ROOT / "native" / "include"),
                        "-c", str(src), "-o", str(obj)], check=True)
        objs.append(str(obj))
    core = tmp_path / "core.o"
    subprocess.run(["arm-none-eabi-ld", "-r", "-o", str(core), *objs], check=True)
    out = subprocess.run(["arm-none-eabi-nm", "-u", str(core)], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


@pytest.mark.parametrize("cpu", list(CPUS))
def test_core_needs_only_what_micropython_ports_link(cpu, tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed (scripts/bootstrap.sh installs gcc-arm-none-eabi)")
    needed = undefined_symbols(CPUS[cpu], tmp_path)
    outside = sorted(s for s in needed if s not in MICROPY_LIBM | MICROPY_LIBC and not s.startswith("__aeabi_"))
    assert outside == [], "%s: the core needs %s, which MicroPython's lib/libm and string0.c lack" % (cpu, outside)
