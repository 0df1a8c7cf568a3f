/* mitra GNC core (private header): the keep-out prediction's samples, shared by
 * gnc_keepout_check (cw.c) and the inspector step's sweep (steps.c), so both give the same
 * minimum from the same state (static: each file gets its own copy, no symbols). */
#ifndef GNC_SWEEP_H
#define GNC_SWEEP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gnc.h"

/* Squared ranges compared as the bits of non-negative floats (IEEE 754: their order is the
 * order of the bit patterns): an integer compare instead of a library float compare. */
/* The keep-out prediction's domain and sample count (t = 0 .. horizon every dt, both ends
 * included), shared by gnc_keepout_check and the inspector step's sweep. */
static inline gnc_status gnc_sweep_count(float n, float horizon, float dt, float radius, int *count)
{
    float kf;
    int c;
    if (!(n > 0.0f) || horizon < 0.0f || !(dt > 0.0f) || radius < 0.0f) {
        return GNC_EINVAL;
    }
    kf = horizon / dt;
    if (!(kf <= (float)(GNC_KEEPOUT_MAX_SAMPLES - 1))) {
        return GNC_ERANGE;
    }
    c = (int)kf;
    if ((float)c < kf) {
        c++;
    }
    c++;
    if (c > GNC_KEEPOUT_MAX_SAMPLES) {
        return GNC_ERANGE;
    }
    *count = c;
    return GNC_OK;
}

static inline int less_nonneg(float a, float b)
{
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    return ua < ub;
}

/* sin and cos of a small angle x (|x| < 0.1: Taylor, truncation below 1e-10), else sinf, cosf. */
static inline void sincos_small(float x, float *sn, float *cs)
{
    float x2 = x * x;
    if (fabsf(x) < 0.1f) {
        *sn = x * (1.0f - x2 * (1.0f / 6.0f) * (1.0f - x2 * (1.0f / 20.0f)));
        *cs = 1.0f - x2 * 0.5f * (1.0f - x2 * (1.0f / 12.0f) * (1.0f - x2 * (1.0f / 30.0f)));
    } else {
        *sn = sinf(x);
        *cs = cosf(x);
    }
}

/* Samples k0 .. k1 - 1 (of count, at t_k = k dt, the last at t = horizon) of the keep-out
 * prediction of gnc_keepout_check (cw.c uses it too) for the free drift from x; returns the smaller of
 * best2 and the least squared range among them. (sn0, cs0) are sin and cos of u = n t at
 * sample k0. The CW position (Vallado 6.8), u = n t, (wx, wy, wz) = (vx, vy, vz) / n:
 *   px = (4 x0 + 2 wy) + [wx sin u - (3 x0 + 2 wy) cos u],
 *   py = (y0 - 2 wx) - (6 x0 + 3 wy) u + [(6 x0 + 4 wy) sin u + 2 wx cos u],
 *   pz = [wz sin u + z0 cos u],
 * coefficients formed once per call (one division). Each bracket is a sinusoid of u sampled
 * at equal steps du = n dt, so it follows V(k+1) = 2 cos(du) V(k) - V(k-1); in Reinsch's form
 * (D(k+1) = D(k) - lambda V(k), V(k+1) = V(k) + D(k+1), lambda = 4 sin^2(du / 2): stable for
 * small du; G. Goertzel 1958, C. Reinsch's modification as in J. Stoer, R. Bulirsch,
 * "Introduction to Numerical Analysis", 2.3.3) it is one product and two sums per sinusoid and
 * sample, no sin/cos. The secular term b0 + b3 u_k = b0 + e k is a running sum (one addition),
 * set exactly from k every SWEEP_ANCHOR samples so its rounding stays within SWEEP_ANCHOR / 2
 * ulp. With the squared range: 6 products, 11 sums and an integer compare per sample (one
 * product fewer than e k: ~6% of a sample on a soft-float MCU). The last sample (t = horizon)
 * is evaluated with sinf/cosf. */
#define SWEEP_ANCHOR 32
static float gnc_sweep_part(const float *x, float n, float horizon, float hdt, int count, int k0, int k1, float sn0,
                        float cs0, float best2)
{
    float inv_n = 1.0f / n;
    float wx = x[3] * inv_n, wy = x[4] * inv_n, wz = x[5] * inv_n;
    float a0 = 4.0f * x[0] + 2.0f * wy, a2 = -3.0f * x[0] - 2.0f * wy;
    float b0 = x[1] - 2.0f * wx, b1 = 6.0f * x[0] + 4.0f * wy, b2 = 2.0f * wx, b3 = -6.0f * x[0] - 3.0f * wy;
    float du = n * hdt, e = b3 * du, h, g, sd, lam, ds, dc;
    float vx, vy, vz, dx, dy, dz, lin = b0 + e * (float)k0, px, py, pz, r2;
    int k;
    sincos_small(0.5f * du, &h, &g);
    sd = 2.0f * h * g;    /* sin du */
    lam = 4.0f * h * h;   /* 2 - 2 cos du */
    ds = cs0 * sd - sn0 * (0.5f * lam); /* sin(u0 + du) - sin u0 */
    dc = -sn0 * sd - cs0 * (0.5f * lam); /* cos(u0 + du) - cos u0 */
    vx = wx * sn0 + a2 * cs0;
    vy = b1 * sn0 + b2 * cs0;
    vz = wz * sn0 + x[2] * cs0;
    dx = wx * ds + a2 * dc;
    dy = b1 * ds + b2 * dc;
    dz = wz * ds + x[2] * dc;
    for (k = k0; k < k1; k++) {
        if (k == count - 1) {
            float u = n * horizon, s = sinf(u), c = cosf(u);
            px = a0 + wx * s + a2 * c;
            py = b0 + b3 * u + b1 * s + b2 * c;
            pz = wz * s + x[2] * c;
        } else {
            px = a0 + vx;
            py = lin + vy;
            pz = vz;
        }
        r2 = px * px + py * py + pz * pz;
        if (less_nonneg(r2, best2)) {
            best2 = r2;
        }
        vx += dx;
        dx -= lam * vx;
        vy += dy;
        dy -= lam * vy;
        vz += dz;
        dz -= lam * vz;
        if ((k + 1) % SWEEP_ANCHOR == 0) {
            lin = b0 + e * (float)(k + 1);
        } else {
            lin += e;
        }
    }
    return best2;
}

#endif
