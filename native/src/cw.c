/* mitra GNC core: relative guidance with the Clohessy-Wiltshire (Hill) equations.
 *
 * Hill / LVLH frame: x radial (away from Earth), y along-track, z cross-track, n the
 * target's mean motion (circular orbit):
 *     x'' = 3 n^2 x + 2 n y',   y'' = -2 n x',   z'' = -n^2 z.
 * Sources: D. A. Vallado, "Fundamentals of Astrodynamics and Applications", 4th ed., 6.8
 * (Hill's equations and their closed-form solution); H. D. Curtis, "Orbital Mechanics for
 * Engineering Students", 7.4-7.5 (CW state transition matrix and two-impulse rendezvous);
 * S. D'Amico, O. Montenbruck, "Proximity operations of formation-flying spacecraft using an
 * eccentricity/inclination vector separation", JGCD 29(3), 2006 (the e/i separation idea
 * behind the safety ellipse and the abort design).
 *
 * float32 care: with u = n t, 1 - cos u is evaluated as 2 sin^2(u/2) and sin u - u by its
 * Taylor series for |u| < 1, so the STM keeps its relative accuracy for short times.
 */
#include <math.h>

#include "gnc.h"
#include "gnc_finite.h"
#include "gnc_sweep.h"

/* Relative determinant guard of the position block: singular when
 * |det| < SING_TOL * (Frobenius norm)^2 (2x2 in-plane block), or |sin u| < SING_TOL
 * (cross-track); i.e. a condition number above 1/SING_TOL = 1000. */
#define SING_TOL 1e-3f
#define RESYNC 32        /* keep-out sin/cos recurrence: exact sinf/cosf every RESYNC samples */

/* sin u - u, accurate also for small |u| (Taylor series, nested; |u| < 1). */
static float sin_minus(float u)
{
    float u2;
    if (fabsf(u) >= 1.0f) {
        return sinf(u) - u;
    }
    u2 = u * u;
    return -u * u2 / 6.0f *
           (1.0f - u2 / 20.0f * (1.0f - u2 / 42.0f * (1.0f - u2 / 72.0f * (1.0f - u2 / 110.0f))));
}

/* 1 - cos u = 2 sin^2(u / 2) (no cancellation for small u). */
static float one_minus_cos(float u)
{
    float h = sinf(0.5f * u);
    return 2.0f * h * h;
}

gnc_status gnc_cw_stm(float n, float t, float *phi36)
{
    float u, s, c, omc, smx;
    int i;
    if (!gnc_finitef(n) || !gnc_finitef(t)) {
        return GNC_ENAN;
    }
    if (!(n > 0.0f)) {
        return GNC_EINVAL;
    }
    u = n * t;
    s = sinf(u);
    c = cosf(u);
    omc = one_minus_cos(u);
    smx = sin_minus(u);
    for (i = 0; i < 36; i++) {
        phi36[i] = 0.0f;
    }
    /* Vallado 6.8 / Curtis (7.53): rows x, y, z, vx, vy, vz. */
    phi36[0] = 1.0f + 3.0f * omc;                 /* 4 - 3 cos u */
    phi36[3] = s / n;
    phi36[4] = 2.0f * omc / n;
    phi36[6 + 0] = 6.0f * smx;                    /* 6 (sin u - u) */
    phi36[6 + 1] = 1.0f;
    phi36[6 + 3] = -2.0f * omc / n;
    phi36[6 + 4] = (u + 4.0f * smx) / n;          /* (4 sin u - 3 u) / n */
    phi36[12 + 2] = c;
    phi36[12 + 5] = s / n;
    phi36[18 + 0] = 3.0f * n * s;
    phi36[18 + 3] = c;
    phi36[18 + 4] = 2.0f * s;
    phi36[24 + 0] = -6.0f * n * omc;
    phi36[24 + 3] = -2.0f * s;
    phi36[24 + 4] = 1.0f - 4.0f * omc;            /* 4 cos u - 3 */
    phi36[30 + 2] = -n * s;
    phi36[30 + 5] = c;
    return GNC_OK;
}

/* out = Phi(t) x without forming Phi (out may alias x). */
static void propagate(const float *x, float n, float t, float *out)
{
    float u = n * t;
    float s = sinf(u), c = cosf(u), omc = one_minus_cos(u), smx = sin_minus(u);
    float x0 = x[0], y0 = x[1], z0 = x[2], vx = x[3], vy = x[4], vz = x[5];
    out[0] = (1.0f + 3.0f * omc) * x0 + (s * vx + 2.0f * omc * vy) / n;
    out[1] = 6.0f * smx * x0 + y0 + (-2.0f * omc * vx + (u + 4.0f * smx) * vy) / n;
    out[2] = c * z0 + s * vz / n;
    out[3] = 3.0f * n * s * x0 + c * vx + 2.0f * s * vy;
    out[4] = -6.0f * n * omc * x0 - 2.0f * s * vx + (1.0f - 4.0f * omc) * vy;
    out[5] = -n * s * z0 + c * vz;
}

gnc_status gnc_cw_propagate(const float *x, float n, float t, float *out)
{
    if (!gnc_finite_n(x, 6) || !gnc_finitef(n) || !gnc_finitef(t)) {
        return GNC_ENAN;
    }
    if (!(n > 0.0f)) {
        return GNC_EINVAL;
    }
    propagate(x, n, t, out);
    return GNC_OK;
}

/* Curtis 7.5: dv1 = Phi_rv^-1 (r_f - Phi_rr r0) - v0, dv2 = v_f - (Phi_vr r0 + Phi_vv v0+).
 * Phi_rv is block diagonal: the in-plane 2x2 block (inverted by cofactors, guarded by its
 * relative determinant; singular at u = 2 pi k and, past one period, at the roots of
 * 8 (1 - cos u) = 3 u sin u) and the cross-track sin(u) / n, which vanishes at every half
 * period. At a cross-track singularity the free motion already gives z(t) = cos(u) z0; when
 * that meets r_f[2] (to SING_TOL relative) no cross-track burn is made, else ESINGULAR. So
 * half-period transfers (radial hops) in the orbit plane work. */
gnc_status gnc_cw_two_impulse(const float *x0, const float *r_f, const float *v_f, float n, float t, float *dv1,
                              float *dv2)
{
    float u, s, c, omc, smx, m00, m01, m10, m11, det, frob, bx, by, vx, vy, vz, zfree;
    if (!gnc_finite_n(x0, 6) || !gnc_finite_n(r_f, 3) || !gnc_finite_n(v_f, 3) || !gnc_finitef(n) || !gnc_finitef(t)) {
        return GNC_ENAN;
    }
    if (!(n > 0.0f) || !(t > 0.0f)) {
        return GNC_EINVAL;
    }
    u = n * t;
    s = sinf(u);
    c = cosf(u);
    omc = one_minus_cos(u);
    smx = sin_minus(u);
    /* n * Phi_rv (in-plane), dimensionless. */
    m00 = s;
    m01 = 2.0f * omc;
    m10 = -2.0f * omc;
    m11 = u + 4.0f * smx;
    det = m00 * m11 - m01 * m10;
    frob = m00 * m00 + m01 * m01 + m10 * m10 + m11 * m11;
    if (!(fabsf(det) >= SING_TOL * frob)) {
        return GNC_ESINGULAR;
    }
    zfree = c * x0[2];
    if (fabsf(s) < SING_TOL) {
        if (fabsf(r_f[2] - zfree) > SING_TOL * (fabsf(r_f[2]) + fabsf(x0[2]))) {
            return GNC_ESINGULAR;
        }
        vz = x0[5];
    } else {
        vz = n * (r_f[2] - zfree) / s;
    }
    bx = r_f[0] - (1.0f + 3.0f * omc) * x0[0];
    by = r_f[1] - (6.0f * smx * x0[0] + x0[1]);
    vx = n * (m11 * bx - m01 * by) / det;
    vy = n * (-m10 * bx + m00 * by) / det;
    dv1[0] = vx - x0[3];
    dv1[1] = vy - x0[4];
    dv1[2] = vz - x0[5];
    dv2[0] = v_f[0] - (3.0f * n * s * x0[0] + c * vx + 2.0f * s * vy);
    dv2[1] = v_f[1] - (-6.0f * n * omc * x0[0] - 2.0f * s * vx + (1.0f - 4.0f * omc) * vy);
    dv2[2] = v_f[2] - (-n * s * x0[2] + c * vz);
    return GNC_OK;
}

/* Safety ellipse parameterisation, with the phase angle theta = n t + theta0 (the drift-free
 * CW solution, Vallado 6.8 with vy0 = -2 n x0):
 *     x = a sin(theta)              vx =  a n cos(theta)
 *     y = y_c + 2 a cos(theta)      vy = -2 a n sin(theta) = -2 n x
 *     z = c sin(theta + phase)      vz =  c n cos(theta + phase)
 * phase = pi/2 puts the cross-track motion in quadrature with the radial one (parallel
 * e and i vectors, D'Amico 2006): |(x, z)| >= min(a, c) at all times, so an along-track
 * error cannot bring the path onto the target. phase = 0 makes x and z vanish together.
 * The state written is the one at theta = 0. */
gnc_status gnc_safety_ellipse(float n, float a, float c, float phase, float y_c, float *x)
{
    if (!gnc_finitef(n) || !gnc_finitef(a) || !gnc_finitef(c) || !gnc_finitef(phase) || !gnc_finitef(y_c)) {
        return GNC_ENAN;
    }
    if (!(n > 0.0f) || a < 0.0f || c < 0.0f) {
        return GNC_EINVAL;
    }
    x[0] = 0.0f;
    x[1] = y_c + 2.0f * a;
    x[2] = c * sinf(phase);
    x[3] = a * n;
    x[4] = 0.0f;
    x[5] = c * n * cosf(phase);
    return GNC_OK;
}

/* Samples at t_k = min(k dt, horizon), k = 0..ceil(horizon / dt): the closed-form CW position
 * with its sinusoids by Reinsch's recurrence (gnc_sweep_part, gnc_sweep.h: no trigonometry, no
 * division, no sqrtf per sample; squared ranges compared, one sqrtf at the end), the same
 * samples as the inspector step's sweep. The recurrence restarts from sinf/cosf every RESYNC
 * samples (its float32 rounding grows with the number of steps). */
gnc_status gnc_keepout_check(const float *x, float n, float horizon, float dt, float radius, float *min_range)
{
    float best2 = 3.0e38f, best, u;
    int count, k0, k1;
    gnc_status rc;
    if (!gnc_finite_n(x, 6) || !gnc_finitef(n) || !gnc_finitef(horizon) || !gnc_finitef(dt) ||
        !gnc_finitef(radius)) {
        return GNC_ENAN;
    }
    rc = gnc_sweep_count(n, horizon, dt, radius, &count);
    if (rc != GNC_OK) {
        return rc;
    }
    for (k0 = 0; k0 < count; k0 = k1) {
        k1 = k0 + RESYNC < count ? k0 + RESYNC : count;
        u = n * ((float)k0 * dt);
        best2 = gnc_sweep_part(x, n, horizon, dt, count, k0, k1, k0 == 0 ? 0.0f : sinf(u), k0 == 0 ? 1.0f : cosf(u),
                               best2);
    }
    best = sqrtf(best2);
    *min_range = best;
    return best < radius ? GNC_EUNSAFE : GNC_OK;
}

/* Minimum squared range over one orbit of the drift-free path from x's position with (vx, vz) =
 * n (w, q), vy = -2 n x0, in closed form instead of samples. The path is an ellipse,
 * r(tau) = C + P cos tau + Q sin tau with C = (0, y0 - 2 w, 0), P = (x0, 2 w, z0),
 * Q = (w, -2 x0, q) (Vallado 6.8), so the minimum of |r|^2 = |C|^2 + 2 g.u + u^T G u over unit
 * u = (cos tau, sin tau), G = [P Q]^T [P Q], g = [P Q]^T C, is a trust-region subproblem in two
 * dimensions (J. J. More, D. C. Sorensen, SIAM J. Sci. Stat. Comput. 4(3), 1983; J. Nocedal,
 * S. J. Wright, "Numerical Optimization", 2nd ed., 4.3; D. Eberly, "Distance from a point to an
 * ellipse", Geometric Tools, 2013, for the bracket). With G's eigenvalues l0 >= l1 (closed form,
 * 2x2) and b0, b1 the squared components of g on its eigenvectors, the dual function
 *     D(mu) = |C|^2 - mu - b0 / (l0 + mu) - b1 / (l1 + mu),   mu > -l1,
 * is concave and at most the minimum for every such mu (weak duality), and its maximum equals it
 * (S-lemma: no duality gap). Newton steps on D' = b0 / (l0 + mu)^2 + b1 / (l1 + mu)^2 - 1
 * (convex, decreasing) from Eberly's left end of the bracket, mu = max(-l1 + sqrt b1,
 * -l0 + sqrt b0), increase mu monotonically towards the maximum, so every D on the way is a
 * certified lower bound; ORBIT_ITER steps (relative error of the squared range below 4e-3 in
 * random tests, always from below: the keep-out decision errs on the safe side). About 100
 * float operations and three sqrtf, against 65 samples of the prediction before. */
#define ORBIT_ITER 4
static float orbit_min2(const float *x, float w, float q)
{
    float x0 = x[0], z0 = x[2], yc = x[1] - 2.0f * w;
    float a = x0 * x0 + 4.0f * w * w + z0 * z0, c = w * w + 4.0f * x0 * x0 + q * q, bb = z0 * q - 3.0f * x0 * w;
    float g0 = 2.0f * w * yc, g1 = -2.0f * x0 * yc, g2 = g0 * g0 + g1 * g1;
    float d = 0.5f * (a - c), h = sqrtf(d * d + bb * bb), l0 = 0.5f * (a + c) + h, l1, b0, b1, mu, m0, best;
    float cx = 2.0f * (w * q + x0 * z0), cy = z0 * w - x0 * q, cz = -2.0f * (x0 * x0 + w * w);
    int it;
    if (!(l0 > 0.0f)) {
        return yc * yc; /* no motion: the range stays |C| */
    }
    l1 = (cx * cx + cy * cy + cz * cz) / l0; /* det G = |P x Q|^2 */
    if (h > 0.0f) {                          /* eigenvector of l0: (d + h, bb) or (bb, h - d) */
        float ge = d >= 0.0f ? g0 * (d + h) + g1 * bb : g0 * bb + g1 * (h - d);
        b0 = ge * ge / (2.0f * h * (h + fabsf(d)));
    } else {
        b0 = g2;
    }
    b1 = g2 - b0 > 0.0f ? g2 - b0 : 0.0f;
    mu = -l1 + sqrtf(b1);
    m0 = -l0 + sqrtf(b0);
    if (m0 > mu) {
        mu = m0;
    }
    best = -3.0e38f;
    for (it = 0; it <= ORBIT_ITER; it++) {
        float i0 = l0 + mu > 0.0f ? 1.0f / (l0 + mu) : 0.0f, i1 = l1 + mu > 0.0f ? 1.0f / (l1 + mu) : 0.0f;
        float t0 = b0 * i0 * i0, t1 = b1 * i1 * i1, dv = yc * yc - mu - b0 * i0 - b1 * i1, s3;
        if (dv > best) {
            best = dv;
        }
        s3 = t0 * i0 + t1 * i1;
        if (it == ORBIT_ITER || !(t0 + t1 > 1.0f) || !(s3 > 0.0f)) {
            break; /* at (or past) the maximum of D */
        }
        mu += (t0 + t1 - 1.0f) / (2.0f * s3);
    }
    return best > 0.0f ? best : 0.0f;
}

/* Abort burn. Sources: S. D'Amico, O. Montenbruck, JGCD 29(3), 2006 (e/i vector separation:
 * parallel relative e and i vectors put the radial and cross-track oscillations in quadrature,
 * so the separation normal to the flight direction never vanishes and an along-track drift,
 * the main effect of burn and navigation errors, cannot bring the path onto the target);
 * the drift-free CW solution of Vallado 6.8.
 * Parameterisation: after the burn vy = -2 n x0 (drift-free) and, with tau = n t, w = vx / n,
 * q = vz / n (the burn sets w, q; dv = n (w - wc, ., q - qc) with wc, qc the current values):
 *     x = x0 cos tau + w sin tau,   z = z0 cos tau + q sin tau,
 *     y = y_c + 2 w cos tau - 2 x0 sin tau,   y_c = y0 - 2 w (ellipse centre),
 * radial amplitude a = |(x0, w)|, cross-track amplitude c = |(z0, q)|. Quadrature (parallel
 * e/i) is x0 z0 + w q = 0; then (x / a)^2 + (z / c)^2 = 1, so |(x, z)| >= min(a, c) always.
 * With A = ABORT_SEP * radius:
 *  1. |(x0, z0)| >= A: quadrature with a >= A and c >= A, i.e. the hyperbola w q = -x0 z0
 *     with |w| >= sqrt(A^2 - x0^2) and |q| >= sqrt(A^2 - z0^2) (non-empty exactly when
 *     |(x0, z0)| >= A, since x0^2 / a^2 + z0^2 / c^2 = 1). The branch with w y0 <= 0 is
 *     taken (centre at least as far from the target as y0, on its side; w = 0 and both signs
 *     of q when x0 z0 = 0 and |x0| >= |z0|; both branches when y0 = 0), and on it the point
 *     nearest (wc, qc), i.e. the least |dv| (abort_hyperbola). Range >= min(a, c) >= A >
 *     radius at all times: safe by construction, no sampling.
 *  2. |(x0, z0)| < A (near the V-bar): no single burn gives that separation: the drift-free
 *     path returns to (x0, y0 + drift, z0) every orbit, and in quadrature min(a, c) <= |(x0, z0)|.
 *     The largest separation reachable is |(x0, z0)|, with (w, q) = L u, u perpendicular to
 *     (x0, z0) (the (x, z) path is then an ellipse with semi-axes |(x0, z0)| and L; in the orbit
 *     plane that is w = 0, a = |x0|, c = L, in quadrature); L = max(A, current component along
 *     u), sign of u for w y0 <= 0. Its minimum range over one orbit: when |(x0, z0)| >= radius
 *     it clears (|(x, z)| >= |(x0, z0)| at all times, in quadrature), else orbit_min2 (closed
 *     form, no samples); below radius, radial impulses sending the path
 *     away along-track (w = -sign(y0) {1, 2, 4} A, same q) are tried in that order: the first
 *     that clears wins, else the largest minimum. Already inside the sphere no path can clear it: the
 *     e/i burn is returned without sampling.
 * GNC_EUNSAFE (dv written) when the chosen path comes below radius within one period (case 2
 * only; e.g. when already inside the sphere). Cost: case 1 is at most a few hundred float
 * operations and no trigonometry; case 2 at most four orbit_min2 (Cortex-M0: 75k instructions
 * with all four, was 352k with 65 keep-out samples each). */
#define ABORT_SEP 1.5f

static float sign1(float v)
{
    return v < 0.0f ? -1.0f : 1.0f;
}

/* |(p, k / p) - (pc, oc)|^2 */
static float hyp_cost(float p, float k, float pc, float oc)
{
    float dp = p - pc, d_o = k / p - oc;
    return dp * dp + d_o * d_o;
}

/* Point p = sg s, s in [lo, hi] (hi < 0: no upper end; lo > 0), of the hyperbola p o = k
 * nearest (pc, oc): minimises F(s) = f(sg s), f(p) = (p - pc)^2 + (k / p - oc)^2. With p^3 f'/2
 * = p^4 - pc p^3 + oc k p - k^2, dF/ds has the sign of the quartic
 *     R(s) = s^4 + A s^3 + B s - k^2,   A = -sg pc,  B = sg oc k   (s > 0),
 * so F's minima are the ends of [lo, hi] and the upward zero crossings of R (at most two: the
 * distance to a hyperbola branch can have two local minima). Newton steps on R (a polynomial:
 * one division per step, none for R itself) from the vertex s = sqrt|k| and from s for p = pc
 * and for o = oc, each step kept within [s / 2, 2 s] and [lo, hi] (a step where R' <= 0 moves
 * toward descent: right when R < 0, else left), at most HYP_ITER steps, stopping when a step is
 * below 1e-6 s; the best of those and the two ends by F. In 20000 random double-precision
 * cases (1.5 x 20 m separation, states within 400 m and 0.3 m/s) this found the global minimum
 * of np.roots of the quartic to 7e-8 relative (4 steps: 1.4e-4). Cost on a Cortex-M0: at most 18
 * steps of ~15 float operations and 5 evaluations of F (the previous safeguarded Newton on f',
 * with line search from five starts, took ~100k instructions on typical states). Returns p;
 * *cost gets F. */
#define HYP_ITER 6
/* s into [lo, hi]; hi < 0: no upper end */
static float clamp_s(float s, float lo, float hi)
{
    return s < lo ? lo : (hi >= 0.0f && s > hi ? hi : s);
}

static float hyp_nearest(float k, float pc, float oc, float sg, float lo, float hi, float *cost)
{
    float cand[5], best_s = lo, best_f = -1.0f, a = -sg * pc, b = sg * oc * k, c = -k * k;
    int nc = 0, i, it, ends;
    if (hi >= 0.0f && hi < lo) {
        hi = lo;
    }
    cand[nc++] = lo;
    if (hi >= 0.0f) {
        cand[nc++] = hi;
    }
    ends = nc; /* evaluated, not iterated from */
    cand[nc++] = sqrtf(fabsf(k));
    cand[nc++] = sg * pc;
    if (oc != 0.0f) {
        cand[nc++] = sg * k / oc;
    }
    for (i = 0; i < nc; i++) {
        float s = clamp_s(cand[i], lo, hi), f;
        for (it = 0; i >= ends && it < HYP_ITER; it++) {
            float s2 = s * s, r = s2 * (s2 + a * s) + b * s + c, d = s2 * (4.0f * s + 3.0f * a) + b, sn;
            int done;
            if (d > 0.0f) {
                sn = s - r / d;
            } else {
                sn = r < 0.0f ? 2.0f * s : 0.5f * s;
            }
            if (sn < 0.5f * s) {
                sn = 0.5f * s;
            } else if (sn > 2.0f * s) {
                sn = 2.0f * s;
            }
            sn = clamp_s(sn, lo, hi);
            done = fabsf(sn - s) <= 1e-6f * s;
            s = sn;
            if (done) {
                break;
            }
        }
        f = hyp_cost(sg * s, k, pc, oc);
        if (best_f < 0.0f || f < best_f) {
            best_f = f;
            best_s = s;
        }
    }
    *cost = best_f;
    return sg * best_s;
}

/* Case 1 of gnc_abort_burn: (w, q) in quadrature with a, c >= amin, centre away, least |dv|.
 * The coordinate of the larger of |x0|, |z0| pairs with the free one: when |x0| >= |z0| the
 * parameter is q (w = k / q, and w = 0 in the orbit plane), else w (q = k / w). */
static void abort_hyperbola(const float *x, float wc, float qc, float amin, float *w, float *q)
{
    float x0 = x[0], z0 = x[2], k = -x[0] * x[2], a2 = amin * amin;
    float w0 = a2 > x0 * x0 ? sqrtf(a2 - x0 * x0) : 0.0f;
    float q0 = a2 > z0 * z0 ? sqrtf(a2 - z0 * z0) : 0.0f;
    float lo, hi, pc, oc, sg, p, p2, cost, cost2;
    int by_q = fabsf(x0) >= fabsf(z0), both;
    if (by_q) {
        pc = qc;
        oc = wc;
        lo = q0;
        hi = w0 > 0.0f ? fabsf(k) / w0 : -1.0f;
    } else {
        pc = wc;
        oc = qc;
        lo = w0;
        hi = q0 > 0.0f ? fabsf(k) / q0 : -1.0f;
    }
    if (lo < 1e-3f * amin) {
        lo = 1e-3f * amin;
    }
    /* sign of w for w y0 <= 0; q = k / w carries sign(k) sign(w) */
    sg = -sign1(x[1]);
    both = x[1] == 0.0f;
    if (by_q) {
        both = both || k == 0.0f;
        sg *= sign1(k);
    }
    p = hyp_nearest(k, pc, oc, sg, lo, hi, &cost);
    if (both) {
        p2 = hyp_nearest(k, pc, oc, -sg, lo, hi, &cost2);
        if (cost2 < cost) {
            p = p2;
        }
    }
    if (by_q) {
        *q = p;
        *w = k / p;
    } else {
        *w = p;
        *q = k / p;
    }
}

gnc_status gnc_abort_burn(const float *x, float n, float radius, float *dv)
{
    float amin, wc, qc, rp, r0, w, q, m, ux, uz, sg, l, s_away;
    int i;
    if (!gnc_finite_n(x, 6) || !gnc_finitef(n) || !gnc_finitef(radius)) {
        return GNC_ENAN;
    }
    if (!(n > 0.0f) || !(radius > 0.0f)) {
        return GNC_EINVAL;
    }
    amin = ABORT_SEP * radius;
    wc = x[3] / n;
    qc = x[5] / n;
    rp = sqrtf(x[0] * x[0] + x[2] * x[2]);
    m = radius; /* case 1: safe by construction */
    if (rp >= amin) {
        abort_hyperbola(x, wc, qc, amin, &w, &q);
    } else {
        s_away = -sign1(x[1]);
        if (rp > 1e-3f * amin) {
            ux = -x[2] / rp;
            uz = x[0] / rp;
        } else {
            ux = 1.0f;
            uz = 0.0f;
        }
        if (ux != 0.0f && x[1] != 0.0f) {
            sg = s_away * sign1(ux);
        } else {
            sg = sign1(ux * wc + uz * qc);
        }
        l = sg * (ux * wc + uz * qc);
        if (l < amin) {
            l = amin;
        }
        w = sg * l * ux;
        q = sg * l * uz;
        r0 = sqrtf(rp * rp + x[1] * x[1]);
        if (r0 < radius) {
            m = r0; /* inside already: nothing can clear */
        } else if (rp >= radius) {
            m = radius; /* |(x, z)| >= rp >= radius at all times: clears, no minimum needed */
        } else {
            m = sqrtf(orbit_min2(x, w, q));
        }
        for (i = 1; i <= 4 && m < radius && r0 >= radius; i *= 2) {
            float wr = s_away * amin * (float)i; /* cheapest first; the first that clears wins */
            float mr = sqrtf(orbit_min2(x, wr, q));
            if (mr > m) {
                m = mr;
                w = wr;
            }
        }
    }
    dv[0] = n * (w - wc);
    dv[1] = -2.0f * n * x[0] - x[4];
    dv[2] = n * (q - qc);
    return m < radius ? GNC_EUNSAFE : GNC_OK;
}
