# mps2-an386: Cortex-M4 with its single-precision FPU (fpv4-sp-d16, hard-float ABI), the class of
# an STM32F4 or nRF52; the qemu port has no such board, the MPS2 SoC support is the AN385's. Plus
# asyncio, a littlefs RAM disk and main.py (../mitra.mk).
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an386

CFLAGS += -mthumb -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M4F"'

LDSCRIPT = mcu/arm/mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o

MPY_CROSS_FLAGS += -march=armv7emsp

MICROPY_FLOAT_IMPL = float
SUPPORTS_HARDWARE_FP_SINGLE = 1

include $(BOARD_DIR)/../mitra.mk
