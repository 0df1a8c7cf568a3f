/* mitra bare-metal runner: SysTick as the instruction counter.
 *
 * QEMU's semihosting SYS_ELAPSED reads the host clock (two runs of one image differ), so the
 * count comes from SysTick (ARMv7-M ARM B3.3; optional on ARMv6-M but modelled by QEMU on
 * every M-profile machine) on the CPU clock. Under `-icount shift=S` QEMU's virtual clock
 * advances 2^S ns per executed instruction, so SysTick advances clock_hz * 2^S / 1e9 ticks
 * per instruction, deterministically. The runner converts with PIL_TICKS_NUM / PIL_TICKS_DEN
 * (that ratio, exact; pil.py sets it per machine) and checks it on a block of nops.
 * The 24-bit counter wraps every 2^24 ticks (1 M instructions on the micro:bit at shift=10); its
 * interrupt counts the wraps, so pil_ticks() is a 64-bit count. */
#ifndef MITRA_SYSTICK_H
#define MITRA_SYSTICK_H

#include <stdint.h>

void pil_ticks_start(void);  /* free-running, reload 2^24 - 1, wrap interrupt on */
uint64_t pil_ticks(void);    /* ticks since pil_ticks_start() */
void pil_systick_handler(void);

#endif
