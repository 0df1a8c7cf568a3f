/* mitra GNC core (private header): the small 3-vector helpers several source files use,
 * defined once here (static inline: each file gets its own inlined copy, no symbols).
 *
 * gnc_inv_norm_near1 is for renormalising a quaternion or vector whose squared norm is
 * already close to 1 (after a product of unit quaternions, float32 rounding leaves
 * |n2 - 1| ~ 1e-7): one Newton step of 1/sqrt from 1, 1/sqrt(n2) ~ (3 - n2) / 2, relative
 * error (3/8) (n2 - 1)^2 < 4e-9 for |n2 - 1| < 1e-4 (below float32 rounding), instead of
 * sqrtf and a division (hundreds of instructions each with soft float on a Cortex-M0);
 * 1 / sqrtf(n2) otherwise. */
#ifndef GNC_VEC_H
#define GNC_VEC_H

#include <math.h>

/* out = a x b; out may alias a or b. */
static inline void gnc_cross3(const float *a, const float *b, float *out)
{
    float x = a[1] * b[2] - a[2] * b[1];
    float y = a[2] * b[0] - a[0] * b[2];
    float z = a[0] * b[1] - a[1] * b[0];
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

static inline float gnc_dot3(const float *a, const float *b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* 1 / sqrt(n2) for n2 > 0 (see above). */
static inline float gnc_inv_norm_near1(float n2)
{
    float d = n2 - 1.0f;
    if (fabsf(d) < 1e-4f) {
        return 1.0f - 0.5f * d;
    }
    return 1.0f / sqrtf(n2);
}

#endif
