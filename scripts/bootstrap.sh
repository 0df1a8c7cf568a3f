#!/usr/bin/env bash
# Set up a working tree: the Debian packages mitra needs, then .venv with mitra
# installed editable with its test extras. `make setup` runs this when
# .venv/.installed is missing or older than pyproject.toml.
#
#   scripts/bootstrap.sh               check packages, (re)install .venv
#   scripts/bootstrap.sh --check-only  only check packages: list what is missing, exit 1 if any
#
# PYTHON=python3.12 scripts/bootstrap.sh picks the interpreter for the venv.
set -euo pipefail

cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
# Every Debian package mitra needs, in one place.
STUB_PORTS="rp2 esp32"
# cmake and the cross libstdc++ build the RPI_PICO firmware (scripts/firmware.py --board rp2-pico);
# nodejs and npm run the emulated Pico (hil/pico_emu, the rig's pico-emu target).
DEB_PACKAGES="python3 python3-venv python3-dev gcc make git gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cmake libstdc++-arm-none-eabi-newlib nodejs npm"
# tmux: tests/ground/test_console.py drives `ground console` in a real terminal (send-keys, capture-pane).
DEB_PACKAGES="$DEB_PACKAGES tmux"
# gcc-multilib: the 32-bit unix port the memory budgets fly on (scripts/firmware.py --board unix-m32).
DEB_PACKAGES="$DEB_PACKAGES gcc-multilib"
# openjdk-17-jre-headless: `ground yamcs` and tests/ground/test_yamcs.py run Yamcs (the fprime-yamcs-bundle jars) on Java 17+.
DEB_PACKAGES="$DEB_PACKAGES openjdk-17-jre-headless"

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# has_package NAME: is what the Debian package NAME provides usable here?
# Tested by use rather than dpkg so pyenv / non-Debian hosts with the tools pass.
has_package() {
    case "$1" in
        python3) command -v "$PYTHON" >/dev/null 2>&1 ;;
        python3-venv)
            "$PYTHON" -m venv --help >/dev/null 2>&1 &&
                "$PYTHON" -c 'import ensurepip' >/dev/null 2>&1 ;;
        python3-dev)
            "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1 ;;
        gcc-arm-none-eabi) command -v arm-none-eabi-gcc >/dev/null 2>&1 ;;
        libnewlib-arm-none-eabi)  # the C library headers (math.h, string.h) of the bare-metal toolchain
            command -v arm-none-eabi-gcc >/dev/null 2>&1 &&
                printf '#include <math.h>\n#include <string.h>\n' | arm-none-eabi-gcc -E -x c - >/dev/null 2>&1 ;;
        libstdc++-arm-none-eabi-newlib)  # an absolute path when the library is there
            command -v arm-none-eabi-gcc >/dev/null 2>&1 &&
                case "$(arm-none-eabi-gcc -print-file-name=libstdc++.a)" in /*) true ;; *) false ;; esac ;;
        gcc-multilib)  # 32-bit code and its C library from the host gcc
            printf '#include <stdio.h>\nint main(void) { return 0; }\n' |
                gcc -m32 -x c - -o /dev/null >/dev/null 2>&1 ;;
        openjdk-17-jre-headless)  # any java of version 17 or later
            command -v java >/dev/null 2>&1 &&
                java -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); found = 1; exit !(v[1] >= 17) } END { if (!found) exit 1 }' ;;
        gcc | make | git | qemu-system-arm | cmake | npm) command -v "$1" >/dev/null 2>&1 ;;
        nodejs) command -v node >/dev/null 2>&1 ;;
        *) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
    esac
}

missing=()
for pkg in $DEB_PACKAGES; do
    has_package "$pkg" || missing+=("$pkg")
done

if [ "${1:-}" = "--check-only" ]; then
    if [ ${#missing[@]} -eq 0 ]; then
        say "all packages present: $DEB_PACKAGES"
        exit 0
    fi
    echo "sudo apt-get install ${missing[*]}"
    exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing ${missing[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        say "missing packages: ${missing[*]}; install them with:"
        echo "sudo apt-get install ${missing[*]}"
        exit 1
    fi
fi

if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install -e '.[test]'
# MicroPython port stubs for type-checking the firmware (tests/firmware/test_stubs.py):
# one folder per port, since the stub wheels install flat and overwrite each other.
for port in $STUB_PORTS; do
    "$VENV/bin/python" -m pip install --quiet --upgrade --target "$VENV/stubs/$port" "micropython-$port-stubs"
done
# The emulated Pico's runner (hil/pico_emu): rp2040js at the version package-lock.json pins.
if [ ! -f hil/pico_emu/node_modules/.package-lock.json ] ||
    [ hil/pico_emu/package-lock.json -nt hil/pico_emu/node_modules/.package-lock.json ]; then
    npm ci --prefix hil/pico_emu --no-audit --no-fund
fi
touch "$VENV/.installed"
say "ready: $VENV (try \`make test-fast\` or \`make demo\`)"
