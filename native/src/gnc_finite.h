/* mitra GNC core (private header): the finiteness tests every function runs on its inputs.
 *
 * On the bits of the float (IEEE 754 binary32: an exponent of all ones is an infinity or a
 * NaN), so it is a few integer instructions everywhere. isfinite() on a soft-float target
 * (Cortex-M0, RP2040) becomes a library float compare, tens of instructions per value, and the
 * 10 Hz steps test well over a hundred inputs (measured under QEMU: native/baremetal, make pil).
 * One definition for every source file (static inline: no symbol, no call where it is inlined). */
#ifndef GNC_FINITE_H
#define GNC_FINITE_H

#include <stdint.h>
#include <string.h>

static inline int gnc_finitef(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x7F800000u) != 0x7F800000u;
}

/* 1 when all n floats of v are finite (n <= 0: 1). */
static inline int gnc_finite_n(const float *v, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (!gnc_finitef(v[i])) {
            return 0;
        }
    }
    return 1;
}

#endif
