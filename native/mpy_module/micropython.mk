# mitra GNC core as the MicroPython user C module `gnc_native` (make-based ports: unix, stm32, ...).
#   make -C ports/unix USER_C_MODULES=/path/to/mitra/native
# (make ports take the folder that holds module folders; this file is native/mpy_module/micropython.mk.)
GNC_MOD_DIR := $(USERMOD_DIR)
GNC_DIR := $(GNC_MOD_DIR)/..

# The binding is scanned for MP_QSTR_ names; the C core is plain C99 (no MicroPython API).
SRC_USERMOD_C += $(GNC_MOD_DIR)/modgnc.c
SRC_USERMOD_LIB_C += $(wildcard $(GNC_DIR)/src/*.c)
CFLAGS_USERMOD += -I$(GNC_DIR)/include
