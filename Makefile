# mitra: `make setup` once (the other targets run it when needed), then `make test-fast` while working.
# PYTHON=python3.12 make setup picks the interpreter for .venv; PYTEST_ARGS='-k sitl' narrows a run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast bench clean native native-check pil pil-build firmware native-mpy test-firmware test-pico-emu

PICO_EMU_NPM := hil/pico_emu/node_modules/.package-lock.json
setup: $(VENV)/.installed native $(PICO_EMU_NPM)

# Re-run the bootstrap only when the stamp is missing or older than pyproject.toml.
$(VENV)/.installed: pyproject.toml
	PYTHON="$(PYTHON)" VENV="$(VENV)" bash scripts/bootstrap.sh

# The emulated Pico's runner (hil/pico_emu, the rig's pico-emu target): npm ci when its
# package-lock.json is newer than what is installed; a note when there is no npm.
$(PICO_EMU_NPM): hil/pico_emu/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix hil/pico_emu --no-audit --no-fund; \
	else echo "pico-emu: npm missing, its tests skip (scripts/bootstrap.sh installs nodejs and npm)"; fi

# The cffi extension (the editable install keeps it in native/): rebuilt when the C core or its
# build script changes, so tests never run a stale core after an edit or a pull. --force: setuptools
# compares only the .c files with the extension, so an edit to a private header (native/src/*.h)
# alone was "up to date" to it, and the touch below then hid the stale core from tests/conftest.py.
NATIVE_EXT := native/_gnc.abi3.so
native: $(NATIVE_EXT)

$(NATIVE_EXT): $(wildcard native/src/*.c native/src/*.h native/include/*.h) native/build_ffi.py | $(VENV)/.installed
	$(BIN)/python -W ignore setup.py -q build_ext --inplace --force
	@touch $@

# TARGET=pico-emu: the same session on emulated Picos, the real RPI_PICO firmware (python -m hil.pico_emu demo):
# the emulated Cortex-M0+ flies the apps at about 1.1-1.5x real time, so the two vehicles fly at once and the
# session takes about 40 minutes (docs/benchmarks.md); `python -m hil.pico_emu demo --short` is a 3-minute rover pass.
TARGET ?=
demo: setup
	$(if $(filter pico-emu,$(TARGET)),$(BIN)/python -m hil.pico_emu demo,$(BIN)/ground demo)

# The HIL suite's flight tests run on three targets: both SITL runtimes and the emulated Pico
# (hil/pico_emu: the real RPI_PICO firmware with the C core built in, in rp2040js), as CI has no
# board attached; the pico-emu runs add about 7 minutes on 2 cores. `make test-fast` leaves the
# slow campaigns, scenarios and emulator runs out.
test: setup native-check test-firmware
	$(BIN)/python -m pytest --target sitl-mpy --target sitl-py --target pico-emu $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The HIL suite's flight tests on the emulated Pico alone (`make test` runs them beside the SITL ones).
test-pico-emu: setup
	$(BIN)/python -m pytest tests/hil --target pico-emu -k pico-emu $(PYTEST_ARGS)

bench: setup
	mkdir -p out
	$(BIN)/python -m pytest tests/bench --benchmark-enable --benchmark-only --benchmark-json=out/bench.json $(PYTEST_ARGS)
	$(BIN)/python scripts/bench_report.py out/bench.json

# The C core must build warning-free for the host and both board cores (RP2040: Cortex-M0+;
# ESP32-class and mps2-an386: Cortex-M4F), and the MicroPython module must match native/api.py.
# Without arm-none-eabi-gcc (scripts/bootstrap.sh installs it) only the host build is checked.
NATIVE_SRC := $(wildcard native/src/*.c)
NATIVE_CFLAGS := -std=c99 -Wall -Wextra -Werror -Wdouble-promotion -Wconversion -Wshadow -Inative/include
ARM_M0 := arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os
ARM_M4 := arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os

# Compiles run in parallel; `wait $$pid` per job so any failure fails the target.
native-check:
	@pids=""; for f in $(NATIVE_SRC); do gcc -O2 $(NATIVE_CFLAGS) -c $$f -o /dev/null & pids="$$pids $$!"; done; \
		for p in $$pids; do wait $$p || exit 1; done
	@if command -v arm-none-eabi-gcc >/dev/null 2>&1; then \
		pids=""; for f in $(NATIVE_SRC); do \
			$(ARM_M0) $(NATIVE_CFLAGS) -c $$f -o /dev/null & pids="$$pids $$!"; \
			$(ARM_M4) $(NATIVE_CFLAGS) -c $$f -o /dev/null & pids="$$pids $$!"; \
		done; \
		for p in $$pids; do wait $$p || exit 1; done; \
		echo "native-check: $(words $(NATIVE_SRC)) sources warning-free on gcc, Cortex-M0+ and Cortex-M4F"; \
	else \
		echo "native-check: arm-none-eabi-gcc missing, host gcc only (scripts/bootstrap.sh installs gcc-arm-none-eabi)"; \
	fi
	@python3 native/mpy_module/gen_module.py --check

# MicroPython firmware with the C core built in (scripts/firmware.py): offline, from the vendor
# tarball (../shared/vendor/) or MICROPY_DIR, built under ~/.cache/mitra ($$MITRA_CACHE) and copied
# to build/firmware/BOARD/; a second run with unchanged inputs builds nothing. BOARD: unix,
# unix-f32 (single-precision floats, like the boards), unix-m32 (32-bit: a board's heap), rp2-pico (also builds it without the core),
# qemu-an385 / qemu-an386 (the qemu port on boards/qemu/: Cortex-M3 / Cortex-M4F, asyncio, littlefs, main.py;
# also without the core), mpy-ARCH (the core as a native .mpy: see native-mpy below).
BOARD ?= unix
firmware:
	$(PYTHON) scripts/firmware.py --board $(BOARD)

# The core as a native .mpy module for stock firmware (build/firmware/mpy-ARCH/gnc_native.mpy):
# ARCH x64 (unix port), armv6m (RP2040), armv7m (Cortex-M3), armv7emsp (Cortex-M4F), xtensawin (ESP32).
ARCH ?= x64
native-mpy:
	$(PYTHON) scripts/firmware.py --board mpy-$(ARCH)

# What `make test` runs on: both unix builds (cached); a note instead when there is no source.
test-firmware:
	$(PYTHON) scripts/firmware.py --board unix --if-available
	$(PYTHON) scripts/firmware.py --board unix-f32 --if-available
	$(PYTHON) scripts/firmware.py --board unix-m32 --if-available
	$(PYTHON) scripts/firmware.py --board mpy-x64 --if-available

# Processor in the loop (native/baremetal/README.md): the C core on emulated Cortex-M0 / M4F / M33
# under qemu-system-arm with the shared vectors. `make test` runs it through tests/hil/test_qemu_pil.py;
# `make pil` also runs a random stress set of the two steps, prints the budget tables, writes them into
# docs/benchmarks.md (between markers) and fails when a case or a Cortex-M0 budget does.
pil-build: setup
	$(BIN)/python native/baremetal/pil.py build

pil: setup
	$(BIN)/python native/baremetal/pil.py report --write docs/benchmarks.md

clean:
	rm -rf $(VENV) native/_gnc.*.so .pytest_cache .hypothesis .benchmarks build dist *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
