/* mitra bare-metal runner: the two ARM semihosting calls it needs (no newlib syscalls).
 *
 * "Semihosting for AArch32 and AArch64", ARM IHI 0074 (operation numbers and argument
 * blocks); on M-profile the trap is `bkpt 0xab` with r0 = operation, r1 = argument.
 * QEMU serves them with `-semihosting-config enable=on,target=native`. SYS_ELAPSED is not
 * used: QEMU 7.2 answers it from the host clock (systick.h counts instructions instead). */
#ifndef MITRA_SEMIHOST_H
#define MITRA_SEMIHOST_H

#include <stdint.h>

void sh_write0(const char *s);          /* SYS_WRITE0 (0x04): a NUL-terminated string to the console */
void sh_exit(int failed) __attribute__((noreturn)); /* SYS_EXIT (0x18): QEMU exits 0, or 1 when failed */

#endif
