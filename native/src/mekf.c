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

#define P_(s, i, j) ((s)[7 + 6 * (i) + (j)])

/* Unit copy of a 3-vector; 0 when its norm is zero. */
static int unit3(const float *v, float *out)
{
    float n2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    float inv;
    if (n2 < 1e-30f) {
        return 0;
    }
    inv = 1.0f / sqrtf(n2);
    out[0] = v[0] * inv;
    out[1] = v[1] * inv;
    out[2] = v[2] * inv;
    return 1;
}

/* out = v - dt (w x v) */
static void sub_cross(const float *w, const float *v, float dt, float *out)
{
    float x = v[0] - dt * (w[1] * v[2] - w[2] * v[1]);
    float y = v[1] - dt * (w[2] * v[0] - w[0] * v[2]);
    float z = v[2] - dt * (w[0] * v[1] - w[1] * v[0]);
    out[0] = x;
    out[1] = y;
    out[2] = z;
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

/* P <- Phi P Phi^T + Q with Phi = [[F, -dt I], [0, I]], F = I - dt [w x], by 3x3 blocks
 * P = [[A, B], [B^T, C]]:  A' = F A F^T - dt (F B + (F B)^T) + dt^2 C + Q11,
 * B' = F B - dt C + Q12,  C' = C + Q22 (Markley & Crassidis 6.2.3, Q from eq. 6.93). */
gnc_status gnc_mekf_propagate(float *s, const float *w_meas, float dt, float sigma_v, float sigma_u)
{
    float w[3], fa[9], x[9], fb[9], col[3];
    float q11, q12, q22, sv2, su2;
    int i, j;
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
    /* F A and F B: columns v -> v - dt w x v */
    for (j = 0; j < 3; j++) {
        col[0] = P_(s, 0, j);
        col[1] = P_(s, 1, j);
        col[2] = P_(s, 2, j);
        sub_cross(w, col, dt, col);
        for (i = 0; i < 3; i++) {
            fa[3 * i + j] = col[i];
        }
        col[0] = P_(s, 0, j + 3);
        col[1] = P_(s, 1, j + 3);
        col[2] = P_(s, 2, j + 3);
        sub_cross(w, col, dt, col);
        for (i = 0; i < 3; i++) {
            fb[3 * i + j] = col[i];
        }
    }
    /* (F A) F^T: rows r -> r - dt w x r */
    for (i = 0; i < 3; i++) {
        sub_cross(w, fa + 3 * i, dt, x + 3 * i);
    }
    sv2 = sigma_v * sigma_v;
    su2 = sigma_u * sigma_u;
    q11 = sv2 * dt + su2 * dt * dt * dt / 3.0f;
    q12 = -0.5f * su2 * dt * dt;
    q22 = su2 * dt;
    for (i = 0; i < 3; i++) {
        for (j = i; j < 3; j++) {
            float a = 0.5f * (x[3 * i + j] + x[3 * j + i]) - dt * (fb[3 * i + j] + fb[3 * j + i]) +
                      dt * dt * P_(s, i + 3, j + 3);
            if (i == j) {
                a += q11;
            }
            P_(s, i, j) = a;
            P_(s, j, i) = a;
        }
    }
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3; j++) {
            float b = fb[3 * i + j] - dt * P_(s, i + 3, j + 3);
            if (i == j) {
                b += q12;
            }
            P_(s, i, j + 3) = b;
            P_(s, j + 3, i) = b;
        }
    }
    for (i = 0; i < 3; i++) {
        for (j = i; j < 3; j++) {
            float c = 0.5f * (P_(s, i + 3, j + 3) + P_(s, j + 3, i + 3));
            if (i == j) {
                c += q22;
            }
            P_(s, i + 3, j + 3) = c;
            P_(s, j + 3, i + 3) = c;
        }
    }
    return GNC_OK;
}

/* One scalar update with h = [h3, 0 0 0] on the local copies p (6x6) and x (6):
 * S = h P h^T + var, K = P h^T / S, x += K (r - h x), P -= K (P h^T)^T, symmetric by
 * construction (upper triangle computed and mirrored). 0 when S is not positive. */
static int scalar_update(float *p, float *x, const float *h3, float r, float var)
{
    float ph[6], sv, innov;
    int i, j;
    for (i = 0; i < 6; i++) {
        ph[i] = p[6 * i] * h3[0] + p[6 * i + 1] * h3[1] + p[6 * i + 2] * h3[2];
    }
    sv = h3[0] * ph[0] + h3[1] * ph[1] + h3[2] * ph[2] + var;
    if (!(sv > 0.0f)) {
        return 0;
    }
    innov = r - (h3[0] * x[0] + h3[1] * x[1] + h3[2] * x[2]);
    for (i = 0; i < 6; i++) {
        x[i] += ph[i] / sv * innov;
    }
    for (i = 0; i < 6; i++) {
        for (j = i; j < 6; j++) {
            float v = p[6 * i + j] - ph[i] * ph[j] / sv;
            p[6 * i + j] = v;
            p[6 * j + i] = v;
        }
    }
    return 1;
}

/* Reset (Markley & Crassidis 6.2.5): q <- q x [1, dtheta/2] normalised, bias += dbias;
 * P from the local copy. */
static gnc_status commit(float *s, const float *p, const float *x)
{
    float dq[4], q[4];
    int i;
    dq[0] = 1.0f;
    dq[1] = 0.5f * x[0];
    dq[2] = 0.5f * x[1];
    dq[3] = 0.5f * x[2];
    if (gnc_quat_mul(s, dq, q) != GNC_OK || gnc_quat_normalize(q) != GNC_OK) {
        return GNC_EINVAL;
    }
    for (i = 0; i < 4; i++) {
        s[i] = q[i];
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
    float vr[3], vm[3], b[3], h[3], p[36], x[6], var;
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
    /* rows of [b x] */
    h[0] = 0.0f;
    h[1] = -b[2];
    h[2] = b[1];
    if (!scalar_update(p, x, h, vm[0] - b[0], var)) {
        return GNC_ESINGULAR;
    }
    h[0] = b[2];
    h[1] = 0.0f;
    h[2] = -b[0];
    if (!scalar_update(p, x, h, vm[1] - b[1], var)) {
        return GNC_ESINGULAR;
    }
    h[0] = -b[1];
    h[1] = b[0];
    h[2] = 0.0f;
    if (!scalar_update(p, x, h, vm[2] - b[2], var)) {
        return GNC_ESINGULAR;
    }
    return commit(s, p, x);
}

/* Star-tracker update: residual 2 vec(q_hat* x q_meas) (scalar part made >= 0), H = [I 0]. */
gnc_status gnc_mekf_update_quat(float *s, const float *q_meas, float sigma)
{
    float qm[4], dq[4], h[3], p[36], x[6], var;
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
        h[0] = 0.0f;
        h[1] = 0.0f;
        h[2] = 0.0f;
        h[i] = 1.0f;
        if (!scalar_update(p, x, h, 2.0f * dq[1 + i], var)) {
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
