# mps2-an385: Cortex-M3, no FPU (single-precision floats in software), as the port's MPS2_AN385,
# plus asyncio, a littlefs RAM disk and main.py (../mitra.mk).
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M3"'

LDSCRIPT = mcu/arm/mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

MPY_CROSS_FLAGS += -march=armv7m

include $(BOARD_DIR)/../mitra.mk
