// Boot for our qemu boards (mitra.mk): a RAM disk for the littlefs filesystem, and the boot
// sequence a board has (_boot.py mounts /, then main.py runs), which the qemu port's main.c lacks.
#include <stdint.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "shared/runtime/pyexec.h"

#ifndef MITRA_RAMDISK_BYTES
#define MITRA_RAMDISK_BYTES (256 * 1024)
#endif

// In .bss, not on the heap: the files survive a soft reset (the heap does not).
static uint8_t mitra_ramdisk[MITRA_RAMDISK_BYTES] __attribute__((aligned(4)));

// _mitra_qemu.ramdisk() -> a bytearray over the RAM disk (no copy)
static mp_obj_t mitra_qemu_ramdisk(void) {
    return mp_obj_new_bytearray_by_ref(sizeof(mitra_ramdisk), mitra_ramdisk);
}
static MP_DEFINE_CONST_FUN_OBJ_0(mitra_qemu_ramdisk_obj, mitra_qemu_ramdisk);

static const mp_rom_map_elem_t mitra_qemu_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__mitra_qemu) },
    { MP_ROM_QSTR(MP_QSTR_ramdisk), MP_ROM_PTR(&mitra_qemu_ramdisk_obj) },
};
static MP_DEFINE_CONST_DICT(mitra_qemu_globals, mitra_qemu_globals_table);

const mp_obj_module_t mitra_qemu_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&mitra_qemu_globals,
};

MP_REGISTER_MODULE(MP_QSTR__mitra_qemu, mitra_qemu_module);

// littlefs stamps files with this (vfs_lfs.c); the MPS2 boards have no RTC: time since boot
uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mp_hal_ticks_us() * 1000u;
}

// MICROPY_PORT_INIT_FUNC (mpconfig_mitra.h): the last step of mp_init, at every boot
void mitra_qemu_boot(void) {
    pyexec_frozen_module("_boot.py", false);
    if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL) {
        pyexec_file_if_exists("main.py");
    }
}
