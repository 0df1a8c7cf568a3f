# What our qemu boards (MITRA_AN385, MITRA_AN386) add to MicroPython's qemu port, from outside its
# tree: scripts/firmware.py runs `make -C ports/qemu BOARD=MITRA_AN38x BOARD_DIR=<this folder>/MITRA_AN38x`
# and each board's mpconfigboard.mk includes this file.
#   - asyncio (the C _asyncio module, mpconfig_mitra.h, and extmod/asyncio frozen, manifest.py);
#   - a writable littlefs filesystem on a RAM disk outside the heap (mitra_boot.c, modules/_boot.py),
#     mounted at / at every boot: its files survive a soft reset, not a restart of qemu;
#   - main.py run after boot when the filesystem has one, as on a board;
#   - the RPI_PICO firmware's heap (245888 B: gc.mem_free() + gc.mem_alloc() on the emulated Pico)
#     instead of the port's 143360 B, in which the flight apps' modules do not load
#     (tests/firmware/test_qemu_flight.py flies them); the mps2 boards have 4 MB of RAM.
MITRA_QEMU_DIR := $(abspath $(BOARD_DIR)/..)
MICROPY_HEAP_SIZE = 245888

CFLAGS += -DMP_CONFIGFILE='"$(MITRA_QEMU_DIR)/mpconfig_mitra.h"'
MICROPY_VFS_LFS2 = 1
FROZEN_MANIFEST = $(MITRA_QEMU_DIR)/manifest.py
SRC_C += $(MITRA_QEMU_DIR)/mitra_boot.c
