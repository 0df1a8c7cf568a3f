// Our qemu boards' configuration: the qemu port's own (mpconfigport.h), then what mitra.mk's
// boards change. MP_CONFIGFILE points here, so nothing in the MicroPython tree is edited.
#include <mpconfigport.h>

// asyncio (its Python part is frozen from extmod/asyncio by manifest.py)
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO (1)

// after mp_init at every (soft) boot: mount the RAM disk, then run main.py (mitra_boot.c)
void mitra_qemu_boot(void);
#define MICROPY_PORT_INIT_FUNC mitra_qemu_boot()
