/* ARM semihosting calls (ARM IHI 0074), see semihost.h. */
#include "semihost.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u  /* QEMU: exit status 0 */
#define ADP_STOPPED_RUNTIME_ERROR 0x20023u     /* QEMU: exit status 1 */

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_write0(const char *s)
{
    semihost(SYS_WRITE0, s);
}

void sh_exit(int failed)
{
    /* AArch32 SYS_EXIT takes the reason code itself in r1, not a pointer. */
    semihost(SYS_EXIT, (const void *)(failed ? ADP_STOPPED_RUNTIME_ERROR : ADP_STOPPED_APPLICATION_EXIT));
    for (;;) {
    }
}
