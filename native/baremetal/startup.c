/* mitra bare-metal runner: vector table and reset handler for Cortex-M0 / M4F / M33.
 *
 * Reset: copy .data from flash, zero .bss, enable the FPU when the build has one (CPACR,
 * ARMv7-M ARM B3.2.20), run main, leave through semihosting SYS_EXIT with main's result.
 * A fault prints a line and exits with a failure, so a crash never hangs QEMU. */
#include <stdint.h>

#include "semihost.h"
#include "systick.h"

int main(void);

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];

void reset_handler(void) __attribute__((noreturn));
static void fault_handler(void) __attribute__((noreturn));

void reset_handler(void)
{
    uint32_t *src = __data_load, *dst = __data_start;
    while (dst < __data_end) {
        *dst++ = *src++;
    }
    for (dst = __bss_start; dst < __bss_end; dst++) {
        *dst = 0u;
    }
#if defined(__ARM_FP)
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    sh_exit(main() != 0);
}

static void fault_handler(void)
{
    sh_write0("PIL FAULT: hard fault or unexpected exception\n");
    sh_exit(1);
}

/* Initial SP, reset, then NMI .. PendSV to the fault handler; SysTick counts its wraps. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top, reset_handler, fault_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler, pil_systick_handler,
};
