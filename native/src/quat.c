/* mitra GNC core: quaternion algebra and attitude propagation.
 *
 * Scalar-first Hamilton quaternions, R(q) active (gnc.h conventions).
 * Sources: F. L. Markley, J. L. Crassidis, "Fundamentals of Spacecraft Attitude
 * Determination and Control", Springer 2014, ch. 2.7 (quaternion product, attitude
 * matrix 2.125, Shepperd's method 2.9.3) and 3.1.1 (kinematics, 3.3); S. W. Shepperd,
 * "Quaternion from rotation matrix", J. Guidance and Control 1(3), 1978.
 */
#include <math.h>

#include "gnc.h"
#include "gnc_finite.h"
#include "gnc_vec.h"

/* out = a x b (Hamilton, scalar first); safe when out aliases a or b. */
static void qmul(const float *a, const float *b, float *out)
{
    float w = a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3];
    float x = a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2];
    float y = a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1];
    float z = a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0];
    out[0] = w;
    out[1] = x;
    out[2] = y;
    out[3] = z;
}

/* out = R(q) v for s = +1, R(q)^T v for s = -1: v + 2 q0 (s qv x v) + 2 s qv x (s qv x v). */
static void qrot(const float *q, const float *v, float s, float *out)
{
    float ux = s * q[1], uy = s * q[2], uz = s * q[3];
    float tx = 2.0f * (uy * v[2] - uz * v[1]);
    float ty = 2.0f * (uz * v[0] - ux * v[2]);
    float tz = 2.0f * (ux * v[1] - uy * v[0]);
    float ox = v[0] + q[0] * tx + (uy * tz - uz * ty);
    float oy = v[1] + q[0] * ty + (uz * tx - ux * tz);
    float oz = v[2] + q[0] * tz + (ux * ty - uy * tx);
    out[0] = ox;
    out[1] = oy;
    out[2] = oz;
}

gnc_status gnc_quat_mul(const float *a, const float *b, float *out)
{
    if (!gnc_finite_n(a, 4) || !gnc_finite_n(b, 4)) {
        return GNC_ENAN;
    }
    qmul(a, b, out);
    return GNC_OK;
}

gnc_status gnc_quat_conj(const float *q, float *out)
{
    if (!gnc_finite_n(q, 4)) {
        return GNC_ENAN;
    }
    out[0] = q[0];
    out[1] = -q[1];
    out[2] = -q[2];
    out[3] = -q[3];
    return GNC_OK;
}

gnc_status gnc_quat_normalize(float *q)
{
    float n2, inv;
    int i;
    if (!gnc_finite_n(q, 4)) {
        return GNC_ENAN;
    }
    n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
    if (n2 < 1e-30f) { /* zero, or so small the square underflows */
        return GNC_EINVAL;
    }
    inv = gnc_inv_norm_near1(n2); /* no sqrtf for an already (nearly) unit q: gnc_vec.h */
    for (i = 0; i < 4; i++) {
        q[i] *= inv;
    }
    return GNC_OK;
}

gnc_status gnc_quat_rotate(const float *q, const float *v, float *out)
{
    if (!gnc_finite_n(q, 4) || !gnc_finite_n(v, 3)) {
        return GNC_ENAN;
    }
    qrot(q, v, 1.0f, out);
    return GNC_OK;
}

gnc_status gnc_quat_rotate_inv(const float *q, const float *v, float *out)
{
    if (!gnc_finite_n(q, 4) || !gnc_finite_n(v, 3)) {
        return GNC_ENAN;
    }
    qrot(q, v, -1.0f, out);
    return GNC_OK;
}

/* Markley & Crassidis eq. 2.125 written for the active R(q) = A(q)^T. */
gnc_status gnc_quat_to_dcm(const float *q, float *r9)
{
    float w, x, y, z;
    if (!gnc_finite_n(q, 4)) {
        return GNC_ENAN;
    }
    w = q[0];
    x = q[1];
    y = q[2];
    z = q[3];
    r9[0] = 1.0f - 2.0f * (y * y + z * z);
    r9[1] = 2.0f * (x * y - w * z);
    r9[2] = 2.0f * (x * z + w * y);
    r9[3] = 2.0f * (x * y + w * z);
    r9[4] = 1.0f - 2.0f * (x * x + z * z);
    r9[5] = 2.0f * (y * z - w * x);
    r9[6] = 2.0f * (x * z - w * y);
    r9[7] = 2.0f * (y * z + w * x);
    r9[8] = 1.0f - 2.0f * (x * x + y * y);
    return GNC_OK;
}

/* Shepperd (1978): build q from the largest of 4 q0^2, 4 q1^2, 4 q2^2, 4 q3^2.
 * EINVAL unless r9 is a proper rotation to 1e-3 (R^T R = I, det R > 0). */
gnc_status gnc_dcm_to_quat(const float *r9, float *q)
{
    float tr, d[4], out[4], n2, inv;
    int i, j, k, best;
    if (!gnc_finite_n(r9, 9)) {
        return GNC_ENAN;
    }
    for (i = 0; i < 3; i++) {
        for (j = i; j < 3; j++) {
            float dot = 0.0f;
            for (k = 0; k < 3; k++) {
                dot += r9[3 * k + i] * r9[3 * k + j];
            }
            if (fabsf(dot - (i == j ? 1.0f : 0.0f)) > 1e-3f) {
                return GNC_EINVAL;
            }
        }
    }
    if (r9[0] * (r9[4] * r9[8] - r9[5] * r9[7]) - r9[1] * (r9[3] * r9[8] - r9[5] * r9[6]) +
            r9[2] * (r9[3] * r9[7] - r9[4] * r9[6]) <
        0.0f) {
        return GNC_EINVAL;
    }
    tr = r9[0] + r9[4] + r9[8];
    d[0] = 1.0f + tr;                         /* 4 q0^2 */
    d[1] = 1.0f + 2.0f * r9[0] - tr;          /* 4 q1^2 */
    d[2] = 1.0f + 2.0f * r9[4] - tr;          /* 4 q2^2 */
    d[3] = 1.0f + 2.0f * r9[8] - tr;          /* 4 q3^2 */
    best = 0;
    for (i = 1; i < 4; i++) {
        if (d[i] > d[best]) {
            best = i;
        }
    }
    /* 4 qi qj products from the symmetric / antisymmetric parts of R (active) */
    if (best == 0) {
        out[0] = d[0];
        out[1] = r9[7] - r9[5];
        out[2] = r9[2] - r9[6];
        out[3] = r9[3] - r9[1];
    } else if (best == 1) {
        out[0] = r9[7] - r9[5];
        out[1] = d[1];
        out[2] = r9[1] + r9[3];
        out[3] = r9[2] + r9[6];
    } else if (best == 2) {
        out[0] = r9[2] - r9[6];
        out[1] = r9[1] + r9[3];
        out[2] = d[2];
        out[3] = r9[5] + r9[7];
    } else {
        out[0] = r9[3] - r9[1];
        out[1] = r9[2] + r9[6];
        out[2] = r9[5] + r9[7];
        out[3] = d[3];
    }
    n2 = out[0] * out[0] + out[1] * out[1] + out[2] * out[2] + out[3] * out[3];
    inv = 1.0f / sqrtf(n2);
    if (out[0] < 0.0f) {
        inv = -inv;
    }
    for (i = 0; i < 4; i++) {
        q[i] = out[i] * inv;
    }
    return GNC_OK;
}

gnc_status gnc_quat_from_axis_angle(const float *axis, float angle, float *q)
{
    float n2, s;
    if (!gnc_finite_n(axis, 3) || !gnc_finitef(angle)) {
        return GNC_ENAN;
    }
    n2 = axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2];
    if (n2 < 1e-30f) {
        return GNC_EINVAL;
    }
    s = sinf(0.5f * angle) / sqrtf(n2);
    q[0] = cosf(0.5f * angle);
    q[1] = s * axis[0];
    q[2] = s * axis[1];
    q[3] = s * axis[2];
    return GNC_OK;
}

gnc_status gnc_quat_error(const float *q_ref, const float *q, float *dq)
{
    float c[4], e[4];
    int i;
    if (!gnc_finite_n(q_ref, 4) || !gnc_finite_n(q, 4)) {
        return GNC_ENAN;
    }
    c[0] = q_ref[0];
    c[1] = -q_ref[1];
    c[2] = -q_ref[2];
    c[3] = -q_ref[3];
    qmul(c, q, e);
    if (e[0] < 0.0f) {
        for (i = 0; i < 4; i++) {
            e[i] = -e[i];
        }
    }
    for (i = 0; i < 4; i++) {
        dq[i] = e[i];
    }
    return GNC_OK;
}

/* angle = 2 atan2(|vec(dq)|, |dq0|): accurate for small and large angles alike. */
gnc_status gnc_quat_angle(const float *a, const float *b, float *angle)
{
    float c[4], e[4];
    if (!gnc_finite_n(a, 4) || !gnc_finite_n(b, 4)) {
        return GNC_ENAN;
    }
    c[0] = a[0];
    c[1] = -a[1];
    c[2] = -a[2];
    c[3] = -a[3];
    qmul(c, b, e);
    *angle = 2.0f * atan2f(sqrtf(e[1] * e[1] + e[2] * e[2] + e[3] * e[3]), fabsf(e[0]));
    return GNC_OK;
}

/* Markley & Crassidis 3.1.1: for constant w over dt, q(t+dt) = q(t) x [cos(|w|dt/2), sin(|w|dt/2) w/|w|].
 * For a small rotation (|w| dt / 2 < 1e-3, the 10 Hz case: 1e-3 is 0.11 deg per step) cos and
 * sin(h)/|w| by their Taylor series in h^2 = |w|^2 dt^2 / 4 (truncation below 5e-14), so no
 * sqrtf, cosf, sinf or division (thousands of instructions with soft float); the renormalisation
 * of the product of two unit quaternions by gnc_inv_norm_near1. EINVAL for dt < 0 or a zero q. */
gnc_status gnc_attitude_propagate(float *q, const float *w, float dt)
{
    float wn, half, half2, c, s, e[4], out[4], n2, inv;
    int i;
    if (!gnc_finite_n(q, 4) || !gnc_finite_n(w, 3) || !gnc_finitef(dt)) {
        return GNC_ENAN;
    }
    if (dt < 0.0f) {
        return GNC_EINVAL;
    }
    half2 = 0.25f * (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]) * dt * dt;
    if (half2 < 1e-6f) {
        c = 1.0f - 0.5f * half2;
        s = 0.5f * dt * (1.0f - half2 * (1.0f / 6.0f)); /* sin(half) / wn */
    } else {
        wn = sqrtf(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
        half = 0.5f * wn * dt;
        c = cosf(half);
        s = sinf(half) / wn;
    }
    e[0] = c;
    e[1] = s * w[0];
    e[2] = s * w[1];
    e[3] = s * w[2];
    qmul(q, e, out);
    n2 = out[0] * out[0] + out[1] * out[1] + out[2] * out[2] + out[3] * out[3];
    if (n2 < 1e-30f) {
        return GNC_EINVAL;
    }
    inv = gnc_inv_norm_near1(n2);
    for (i = 0; i < 4; i++) {
        q[i] = out[i] * inv;
    }
    return GNC_OK;
}
