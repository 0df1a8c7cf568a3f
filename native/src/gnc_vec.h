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

/* fminf / fmaxf (C99), defined here because MicroPython's own lib/libm, which the qemu, stm32
 * and other ports link instead of newlib, has neither. Same result as C99 for a NaN argument:
 * the other argument. */
static inline float gnc_minf(float a, float b)
{
    return (b < a || a != a) ? b : a;
}

static inline float gnc_maxf(float a, float b)
{
    return (b > a || a != a) ? b : a;
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

/* sin and cos of x together for |x| <= 4 (a heading, an elevation, an azimuth: the rover's
 * angles), else sinf and cosf: the nearest multiple q of pi/2 taken off in two parts (|q| <= 3,
 * so q times the leading part is exact or within half an ulp), then Taylor polynomials on
 * |r| <= pi/4 (truncation below 2e-9) and the quadrant. ~25 float operations whatever x (~15
 * for gnc_cosf): on a soft-float Cortex-M0 about half of newlib's sinf plus cosf, whose
 * argument reduction and kernels run twice. */
static inline int gnc_quadrant(float x, float *r)
{
    int q = (int)(x * 0.636619772f + (x >= 0.0f ? 0.5f : -0.5f));
    *r = (x - (float)q * 1.57079637f) + (float)q * 4.37113883e-8f; /* pi/2 = 1.57079637 - 4.37e-8 */
    return q & 3;
}

static inline float gnc_sin_poly(float r, float r2)
{
    return r + r * r2 * (-1.0f / 6.0f + r2 * (1.0f / 120.0f + r2 * (-1.0f / 5040.0f + r2 * (1.0f / 362880.0f))));
}

static inline float gnc_cos_poly(float r2)
{
    return 1.0f + r2 * (-0.5f + r2 * (1.0f / 24.0f + r2 * (-1.0f / 720.0f + r2 * (1.0f / 40320.0f +
                                                                                 r2 * (-1.0f / 3628800.0f)))));
}

static inline void gnc_sincosf(float x, float *sn, float *cs)
{
    float r, r2, s, c;
    int q;
    if (!(fabsf(x) <= 4.0f)) {
        *sn = sinf(x);
        *cs = cosf(x);
        return;
    }
    q = gnc_quadrant(x, &r);
    r2 = r * r;
    s = gnc_sin_poly(r, r2);
    c = gnc_cos_poly(r2);
    *sn = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
    *cs = q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
}

static inline float gnc_cosf(float x)
{
    float r;
    int q;
    if (!(fabsf(x) <= 4.0f)) {
        return cosf(x);
    }
    q = gnc_quadrant(x, &r);
    return q == 0 ? gnc_cos_poly(r * r) : q == 1 ? -gnc_sin_poly(r, r * r) : q == 2 ? -gnc_cos_poly(r * r)
                                                                                   : gnc_sin_poly(r, r * r);
}

#endif
