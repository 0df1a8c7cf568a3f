/* mitra GNC core: multiplicative extended Kalman filter (attitude + gyro bias) and the
 * Mahony complementary filter for the degraded mode.
 *
 * MEKF: F. L. Markley, J. L. Crassidis, "Fundamentals of Spacecraft Attitude Determination
 * and Control", Springer 2014, 6.2 (error state [dtheta, dbias], right-multiplicative
 * q = q_hat x dq(dtheta); transition 6.2.3 to first order; process noise eq. 6.93;
 * measurement sensitivity 6.2.4; reset 6.2.5). Sequential scalar processing of
 * uncorrelated measurement components: Bar-Shalom, Li, Kirubarajan, "Estimation with
 * Applications to Tracking and Navigation", 2001, 7.4.
 * Mahony: R. Mahony, T. Hamel, J.-M. Pflimlin, "Nonlinear complementary filters on the
 * special orthogonal group", IEEE TAC 53(5), 2008, explicit complementary filter with bias
 * (eq. 32).
 *
 * State buffer s (GNC_MEKF_SIZE): q[4] | bias[3] | P[36] (row-major, [dtheta, dbias]).
 */
#include <math.h>

#include "gnc.h"
#include "gnc_finite.h"
#include "gnc_vec.h"

#define P_(s, i, j) ((s)[7 + 6 * (i) + (j)])

/* Unit copy of a 3-vector; 0 when its norm is zero. The inputs are unit vectors in practice:
 * gnc_inv_norm_near1 then costs a few multiplications instead of sqrtf and a division. */
static int unit3(const float *v, float *out)
{
    float n2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    float inv;
    if (n2 < 1e-30f) {
        return 0;
    }
    inv = gnc_inv_norm_near1(n2);
    out[0] = v[0] * inv;
    out[1] = v[1] * inv;
    out[2] = v[2] * inv;
    return 1;
}

gnc_status gnc_mekf_init(float *s, const float *q0, const float *bias0, float sigma_att, float sigma_bias)
{
    float q[4];
    int i;
    if (!gnc_finite_n(q0, 4) || !gnc_finite_n(bias0, 3) || !gnc_finitef(sigma_att) || !gnc_finitef(sigma_bias)) {
        return GNC_ENAN;
    }
    if (sigma_att <= 0.0f || sigma_bias <= 0.0f) {
        return GNC_EINVAL;
    }
    for (i = 0; i < 4; i++) {
        q[i] = q0[i];
    }
    if (gnc_quat_normalize(q) != GNC_OK) {
        return GNC_EINVAL;
    }
    for (i = 0; i < 4; i++) {
        s[i] = q[i];
    }
    for (i = 0; i < 3; i++) {
        s[4 + i] = bias0[i];
    }
    for (i = 0; i < 36; i++) {
        s[7 + i] = 0.0f;
    }
    for (i = 0; i < 3; i++) {
        P_(s, i, i) = sigma_att * sigma_att;
        P_(s, i + 3, i + 3) = sigma_bias * sigma_bias;
    }
    return GNC_OK;
}

/* P <- Phi P Phi^T + Q with Phi = [[F, -dt I], [0, I]], F = I - [a x], a = w dt, by 3x3 blocks
 * P = [[A, B], [B^T, C]]:  A' = F A F^T - dt (F B + (F B)^T) + dt^2 C + Q11,
 * B' = F B - dt C + Q12,  C' = C + Q22 (Markley & Crassidis 6.2.3, Q from eq. 6.93).
 * Cost (what a soft-float Cortex-M0 pays per float operation, ~100 instructions): Phi is never
 * formed; F M for a 3x3 block M is M minus [a x] M, two products per entry (the cross-product
 * matrix has two non-zeros per row); F A F^T and A' are computed on the upper triangle only
 * (symmetric by construction, mirrored); C only gets Q22 on its diagonal. About 150 float
 * operations, no division. */
gnc_status gnc_mekf_propagate(float *s, const float *w_meas, float dt, float sigma_v, float sigma_u)
{
    float w[3], a0, a1, a2, fa[9], fb[9], x[6], dt2, q11, q12, q22, sv2, su2;
    int i, j, k;
    if (!gnc_finite_n(s, GNC_MEKF_SIZE) || !gnc_finite_n(w_meas, 3) || !gnc_finitef(dt) || !gnc_finitef(sigma_v) ||
        !gnc_finitef(sigma_u)) {
        return GNC_ENAN;
    }
    if (dt < 0.0f || sigma_v < 0.0f || sigma_u < 0.0f) {
        return GNC_EINVAL;
    }
    for (i = 0; i < 3; i++) {
        w[i] = w_meas[i] - s[4 + i];
    }
    if (gnc_attitude_propagate(s, w, dt) != GNC_OK) { /* zero q in the state */
        return GNC_EINVAL;
    }
    a0 = w[0] * dt;
    a1 = w[1] * dt;
    a2 = w[2] * dt;
    /* F A and F B, column by column: v -> v - a x v */
    for (j = 0; j < 3; j++) {
        for (k = 0; k < 2; k++) {
            float *out = k == 0 ? fa : fb;
            int c = j + 3 * k;
            float v0 = P_(s, 0, c), v1 = P_(s, 1, c), v2 = P_(s, 2, c);
            out[j] = v0 + a2 * v1 - a1 * v2;
            out[3 + j] = v1 - a2 * v0 + a0 * v2;
            out[6 + j] = v2 + a1 * v0 - a0 * v1;
        }
    }
    /* (F A) F^T, upper triangle: row r of F A -> r - a x r, entries j >= i */
    x[0] = fa[0] + a2 * fa[1] - a1 * fa[2];            /* (0, 0) */
    x[1] = fa[1] - a2 * fa[0] + a0 * fa[2];            /* (0, 1) */
    x[2] = fa[2] + a1 * fa[0] - a0 * fa[1];            /* (0, 2) */
    x[3] = fa[4] - a2 * fa[3] + a0 * fa[5];            /* (1, 1) */
    x[4] = fa[5] + a1 * fa[3] - a0 * fa[4];            /* (1, 2) */
    x[5] = fa[8] + a1 * fa[6] - a0 * fa[7];            /* (2, 2) */
    sv2 = sigma_v * sigma_v;
    su2 = sigma_u * sigma_u;
    dt2 = dt * dt;
    q11 = sv2 * dt + su2 * dt2 * dt * (1.0f / 3.0f);
    q12 = -0.5f * su2 * dt2;
    q22 = su2 * dt;
    k = 0;
    for (i = 0; i < 3; i++) {
        for (j = i; j < 3; j++) {
            float v = x[k++] - dt * (fb[3 * i + j] + fb[3 * j + i]) + dt2 * P_(s, i + 3, j + 3);
            if (i == j) {
                v += q11;
            }
            P_(s, i, j) = v;
            P_(s, j, i) = v;
        }
    }
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            float v = fb[3 * i + j] - dt * P_(s, i + 3, j + 3);
            if (i == j) {
                v += q12;
            }
            P_(s, i, j + 3) = v;
            P_(s, j + 3, i) = v;
        }
    }
    for (i = 3; i < 6; i++) {
        P_(s, i, i) += q22;
    }
    return GNC_OK;
}

/* The end of one scalar update, given ph = P h^T and sv = h P h^T + var, on the local copies
 * p (6x6) and x (6): K = ph / sv, x += K innov, P -= K ph^T (Bar-Shalom et al. 5.2). One
 * division (the reciprocal of sv); P is symmetric, so only its 21 upper-triangle entries are
 * computed (one product each) and mirrored. For a unit row h = e_ia (ia >= 0; -1 otherwise)
 * row ia of P is ph, and its update ph_j - ph_ia ph_j / sv is ph_j var / sv: written so, it
 * has no cancellation when a precise star tracker shrinks P by orders of magnitude (float32
 * would otherwise keep only a few digits of the new, tiny variances). 0 when sv <= 0. */
static int finish_update(float *p, float *x, const float *ph, float sv, float innov, int ia, float var)
{
    float inv, k, r;
    int i, j;
    if (!(sv > 0.0f)) {
        return 0;
    }
    inv = 1.0f / sv;
    r = var * inv;
    for (i = 0; i < 6; i++) {
        k = ph[i] * inv;
        x[i] += k * innov;
        for (j = i; j < 6; j++) {
            float v;
            if (i == ia) {
                v = ph[j] * r;
            } else if (j == ia) {
                v = ph[i] * r;
            } else {
                v = p[6 * i + j] - k * ph[j];
            }
            p[6 * i + j] = v;
            p[6 * j + i] = v;
        }
    }
    return 1;
}

/* Scalar update with a row of [b x]: h has two non-zeros, ha at ia and hb at ib (both in the
 * dtheta part), so P h^T is two products per row and h P h^T two more. */
static int update_pair(float *p, float *x, int ia, float ha, int ib, float hb, float r, float var)
{
    float ph[6];
    int i;
    for (i = 0; i < 6; i++) {
        ph[i] = ha * p[6 * i + ia] + hb * p[6 * i + ib];
    }
    return finish_update(p, x, ph, ha * ph[ia] + hb * ph[ib] + var, r - (ha * x[ia] + hb * x[ib]), -1, var);
}

/* Scalar update with h the unit row e_ia (star tracker): P h^T is column ia of P. */
static int update_unit(float *p, float *x, int ia, float r, float var)
{
    float ph[6];
    int i;
    for (i = 0; i < 6; i++) {
        ph[i] = p[6 * i + ia];
    }
    return finish_update(p, x, ph, ph[ia] + var, r - x[ia], ia, var);
}

/* Reset (Markley & Crassidis 6.2.5): q <- q x [1, dtheta/2] normalised, bias += dbias;
 * P from the local copy. The product with [1, d] is q + q x [0, d] (12 products, not 16). */
static gnc_status commit(float *s, const float *p, const float *x)
{
    float q[4], d0 = 0.5f * x[0], d1 = 0.5f * x[1], d2 = 0.5f * x[2], n2, inv;
    int i;
    q[0] = s[0] - s[1] * d0 - s[2] * d1 - s[3] * d2;
    q[1] = s[1] + s[0] * d0 + s[2] * d2 - s[3] * d1;
    q[2] = s[2] + s[0] * d1 - s[1] * d2 + s[3] * d0;
    q[3] = s[3] + s[0] * d2 + s[1] * d1 - s[2] * d0;
    n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if (n2 < 1e-30f) {
        return GNC_EINVAL;
    }
    inv = gnc_inv_norm_near1(n2);
    for (i = 0; i < 4; i++) {
        s[i] = q[i] * inv;
    }
    for (i = 0; i < 3; i++) {
        s[4 + i] += x[3 + i];
    }
    for (i = 0; i < 36; i++) {
        s[7 + i] = p[i];
    }
    return GNC_OK;
}

/* Unit-vector update: b_hat = R(q)^T v_ref; with q = q_hat x dq, b_true = (I - [dtheta x]) b_hat,
 * so v_meas - b_hat = [b_hat x] dtheta and H = [[b_hat x], 0] (Markley & Crassidis 6.2.4).
 * Both vectors are normalised (EINVAL when zero); EINVAL for sigma <= 0. */
gnc_status gnc_mekf_update_vector(float *s, const float *v_ref, const float *v_meas, float sigma)
{
    float vr[3], vm[3], b[3], p[36], x[6], var;
    int i;
    if (!gnc_finite_n(s, GNC_MEKF_SIZE) || !gnc_finite_n(v_ref, 3) || !gnc_finite_n(v_meas, 3) || !gnc_finitef(sigma)) {
        return GNC_ENAN;
    }
    if (sigma <= 0.0f || !unit3(v_ref, vr) || !unit3(v_meas, vm)) {
        return GNC_EINVAL;
    }
    gnc_quat_rotate_inv(s, vr, b);
    var = sigma * sigma;
    for (i = 0; i < 36; i++) {
        p[i] = s[7 + i];
    }
    for (i = 0; i < 6; i++) {
        x[i] = 0.0f;
    }
    /* rows of [b x]: (0, -b2, b1), (b2, 0, -b0), (-b1, b0, 0) */
    if (!update_pair(p, x, 1, -b[2], 2, b[1], vm[0] - b[0], var) ||
        !update_pair(p, x, 0, b[2], 2, -b[0], vm[1] - b[1], var) ||
        !update_pair(p, x, 0, -b[1], 1, b[0], vm[2] - b[2], var)) {
        return GNC_ESINGULAR;
    }
    return commit(s, p, x);
}

/* Star-tracker update: residual 2 vec(q_hat* x q_meas) (scalar part made >= 0), H = [I 0]. */
gnc_status gnc_mekf_update_quat(float *s, const float *q_meas, float sigma)
{
    float qm[4], dq[4], p[36], x[6], var;
    int i;
    if (!gnc_finite_n(s, GNC_MEKF_SIZE) || !gnc_finite_n(q_meas, 4) || !gnc_finitef(sigma)) {
        return GNC_ENAN;
    }
    for (i = 0; i < 4; i++) {
        qm[i] = q_meas[i];
    }
    if (sigma <= 0.0f || gnc_quat_normalize(qm) != GNC_OK) {
        return GNC_EINVAL;
    }
    gnc_quat_error(s, qm, dq);
    var = sigma * sigma;
    for (i = 0; i < 36; i++) {
        p[i] = s[7 + i];
    }
    for (i = 0; i < 6; i++) {
        x[i] = 0.0f;
    }
    for (i = 0; i < 3; i++) {
        if (!update_unit(p, x, i, 2.0f * dq[1 + i], var)) {
            return GNC_ESINGULAR;
        }
    }
    return commit(s, p, x);
}

/* e^T P^-1 e by Cholesky P = L L^T and forward substitution (Golub & Van Loan 4.2).
 * ESINGULAR when P is not positive definite. */
gnc_status gnc_mekf_nees(const float *s, const float *q_true, const float *bias_true, float *nees)
{
    float l[36], e[6], dq[4], y[6], sum;
    int i, j, k;
    if (!gnc_finite_n(s, GNC_MEKF_SIZE) || !gnc_finite_n(q_true, 4) || !gnc_finite_n(bias_true, 3)) {
        return GNC_ENAN;
    }
    gnc_quat_error(s, q_true, dq);
    for (i = 0; i < 3; i++) {
        e[i] = 2.0f * dq[1 + i];
        e[3 + i] = bias_true[i] - s[4 + i];
    }
    for (j = 0; j < 6; j++) {
        sum = P_(s, j, j);
        for (k = 0; k < j; k++) {
            sum -= l[6 * j + k] * l[6 * j + k];
        }
        if (!(sum > 0.0f)) {
            return GNC_ESINGULAR;
        }
        l[6 * j + j] = sqrtf(sum);
        for (i = j + 1; i < 6; i++) {
            sum = P_(s, i, j);
            for (k = 0; k < j; k++) {
                sum -= l[6 * i + k] * l[6 * j + k];
            }
            l[6 * i + j] = sum / l[6 * j + j];
        }
    }
    sum = 0.0f;
    for (i = 0; i < 6; i++) {
        float v = e[i];
        for (k = 0; k < i; k++) {
            v -= l[6 * i + k] * y[k];
        }
        y[i] = v / l[6 * i + i];
        sum += y[i] * y[i];
    }
    *nees = sum;
    return GNC_OK;
}

/* Mahony explicit complementary filter: w_mes = sum v_meas_i x R(q)^T v_ref_i,
 * q <- q x exp((w_meas - bias + kp w_mes) dt / 2), bias <- bias - ki w_mes dt.
 * count 0..2 (ERANGE beyond); kp, ki, dt >= 0 (EINVAL); vectors normalised (EINVAL if zero). */
gnc_status gnc_mahony_update(float *q, float *bias, const float *w_meas, const float *v_ref, const float *v_meas,
                             int count, float kp, float ki, float dt)
{
    float corr[3] = {0.0f, 0.0f, 0.0f};
    float w[3], vr[3], vm[3], vh[3], qn[4];
    int i, k;
    if (count < 0 || count > 2) {
        return GNC_ERANGE;
    }
    if (!gnc_finite_n(q, 4) || !gnc_finite_n(bias, 3) || !gnc_finite_n(w_meas, 3) || !gnc_finitef(kp) ||
        !gnc_finitef(ki) || !gnc_finitef(dt)) {
        return GNC_ENAN;
    }
    if (count > 0 && (!gnc_finite_n(v_ref, 3 * count) || !gnc_finite_n(v_meas, 3 * count))) {
        return GNC_ENAN;
    }
    if (kp < 0.0f || ki < 0.0f || dt < 0.0f) {
        return GNC_EINVAL;
    }
    for (i = 0; i < 4; i++) {
        qn[i] = q[i];
    }
    if (gnc_quat_normalize(qn) != GNC_OK) {
        return GNC_EINVAL;
    }
    for (k = 0; k < count; k++) {
        if (!unit3(v_ref + 3 * k, vr) || !unit3(v_meas + 3 * k, vm)) {
            return GNC_EINVAL;
        }
        gnc_quat_rotate_inv(qn, vr, vh);
        corr[0] += vm[1] * vh[2] - vm[2] * vh[1];
        corr[1] += vm[2] * vh[0] - vm[0] * vh[2];
        corr[2] += vm[0] * vh[1] - vm[1] * vh[0];
    }
    for (i = 0; i < 3; i++) {
        w[i] = w_meas[i] - bias[i] + kp * corr[i];
    }
    gnc_attitude_propagate(qn, w, dt);
    for (i = 0; i < 4; i++) {
        q[i] = qn[i];
    }
    for (i = 0; i < 3; i++) {
        bias[i] -= ki * corr[i] * dt;
    }
    return GNC_OK;
}
