/* SysTick tick counter with wrap counting, see systick.h. */
#include "systick.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_MASK 0x00FFFFFFu

static volatile uint32_t wraps;

void pil_systick_handler(void)
{
    wraps++;
}

void pil_ticks_start(void)
{
    wraps = 0u;
    SYST_RVR = SYST_MASK;
    SYST_CVR = 0u;
    SYST_CSR = 0x7u; /* ENABLE | TICKINT | CLKSOURCE = processor clock */
}

/* The wrap count and the counter from the same wrap period: re-read when the interrupt came
 * in between (QEMU takes it at the instruction the counter wraps on). */
uint64_t pil_ticks(void)
{
    uint32_t w, c;
    do {
        w = wraps;
        c = SYST_CVR;
    } while (w != wraps);
    return ((uint64_t)w << 24) + (SYST_MASK - c);
}
