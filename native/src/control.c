/* mitra GNC core: attitude control (quaternion-feedback PD, momentum dumping, B-dot,
 * target pointing).
 *
 * Sources: B. Wie, "Space Vehicle Dynamics and Control", 2nd ed., AIAA 2008, 7.3
 * (quaternion feedback with gyroscopic decoupling); Markley & Crassidis, "Fundamentals of
 * Spacecraft Attitude Determination and Control", 2014, 7.4.1 (magnetic momentum unloading,
 * m = B x tau / |B|^2) and 7.5 (B-dot, m = -k dB/dt); A. C. Stickler, K. T. Alfriend,
 * "Elementary magnetic attitude control system", J. Spacecraft 13(5), 1976 (B-dot);
 * shortest-arc quaternion between two unit vectors: Markley & Crassidis 2.7 (q = [1 + u.v,
 * u x v] normalised).
 */
#include <math.h>

#include "gnc.h"
#include "gnc_finite.h"
#include "gnc_vec.h"

static float clip(float v, float lim)
{
    return v > lim ? lim : (v < -lim ? -lim : v);
}

/* Wie 7.3: tau = -kp sign(dq0) dq_v - kd (w - w_ref) + w x (J w + h), dq = q_ref* x q.
 * Per-axis clip to tau_max; an axis whose wheel is at |h| >= h_max gets zero when the
 * wheel torque -tau would grow |h| further. EINVAL: kp, kd < 0; tau_max, h_max <= 0. */
gnc_status gnc_pd_control(const float *q, const float *w, const float *q_ref, const float *w_ref, const float *J,
                          const float *h_wheels, float kp, float kd, const float *limits, float *tau_cmd)
{
    float c[4], dq[4], hs[3], gyro[3], tau[3], sgn;
    int i;
    if (!gnc_finite_n(q, 4) || !gnc_finite_n(w, 3) || !gnc_finite_n(q_ref, 4) || !gnc_finite_n(w_ref, 3) ||
        !gnc_finite_n(J, 9) || !gnc_finite_n(h_wheels, 3) || !gnc_finitef(kp) || !gnc_finitef(kd) ||
        !gnc_finite_n(limits, 2)) {
        return GNC_ENAN;
    }
    if (kp < 0.0f || kd < 0.0f || limits[0] <= 0.0f || limits[1] <= 0.0f) {
        return GNC_EINVAL;
    }
    c[0] = q_ref[0];
    c[1] = -q_ref[1];
    c[2] = -q_ref[2];
    c[3] = -q_ref[3];
    gnc_quat_mul(c, q, dq);
    sgn = dq[0] < 0.0f ? -1.0f : 1.0f;
    for (i = 0; i < 3; i++) {
        hs[i] = J[3 * i] * w[0] + J[3 * i + 1] * w[1] + J[3 * i + 2] * w[2] + h_wheels[i];
    }
    gnc_cross3(w, hs, gyro);
    for (i = 0; i < 3; i++) {
        float t = -kp * sgn * dq[1 + i] - kd * (w[i] - w_ref[i]) + gyro[i];
        t = clip(t, limits[0]);
        /* the wheel gets -t: it grows when h and -t share a sign */
        if (fabsf(h_wheels[i]) >= limits[1] && h_wheels[i] * t < 0.0f) {
            t = 0.0f;
        }
        tau[i] = t;
    }
    for (i = 0; i < 3; i++) {
        tau_cmd[i] = tau[i];
    }
    return GNC_OK;
}

/* Markley & Crassidis 7.4.1: the torque wanted is tau = -k h; m = B x tau / |B|^2 = k (h x B) / |B|^2
 * gives m x B = -k h_perp (the part of h across B; the along-B part cannot be dumped now).
 * Scaled as a vector so no axis exceeds m_max. EINVAL: |B| zero, k < 0, m_max <= 0. */
gnc_status gnc_dump_dipole(const float *b, const float *h_wheels, float k, float m_max, float *m)
{
    float n2, out[3], big, scale;
    int i;
    if (!gnc_finite_n(b, 3) || !gnc_finite_n(h_wheels, 3) || !gnc_finitef(k) || !gnc_finitef(m_max)) {
        return GNC_ENAN;
    }
    n2 = b[0] * b[0] + b[1] * b[1] + b[2] * b[2];
    if (n2 < 1e-30f || k < 0.0f || m_max <= 0.0f) {
        return GNC_EINVAL;
    }
    gnc_cross3(h_wheels, b, out);
    big = 0.0f;
    for (i = 0; i < 3; i++) {
        out[i] *= k / n2;
        if (fabsf(out[i]) > big) {
            big = fabsf(out[i]);
        }
    }
    scale = big > m_max ? m_max / big : 1.0f;
    for (i = 0; i < 3; i++) {
        m[i] = out[i] * scale;
    }
    return GNC_OK;
}

gnc_status gnc_bdot_init(float *s)
{
    int i;
    for (i = 0; i < GNC_BDOT_SIZE; i++) {
        s[i] = 0.0f;
    }
    return GNC_OK;
}

/* Stickler & Alfriend / Markley & Crassidis 7.5: m = -k dB/dt, dB/dt by the backward
 * difference of two measurements dt apart; per-axis clip to m_max. The first call after
 * init stores B and commands zero. EINVAL: dt <= 0, k < 0, m_max <= 0. */
gnc_status gnc_bdot(float *s, const float *b, float dt, float k, float m_max, float *m)
{
    float out[3];
    int i;
    if (!gnc_finite_n(s, GNC_BDOT_SIZE) || !gnc_finite_n(b, 3) || !gnc_finitef(dt) || !gnc_finitef(k) ||
        !gnc_finitef(m_max)) {
        return GNC_ENAN;
    }
    if (dt <= 0.0f || k < 0.0f || m_max <= 0.0f) {
        return GNC_EINVAL;
    }
    for (i = 0; i < 3; i++) {
        out[i] = s[3] != 0.0f ? clip(-k * (b[i] - s[i]) / dt, m_max) : 0.0f;
    }
    for (i = 0; i < 3; i++) {
        s[i] = b[i];
        m[i] = out[i];
    }
    s[3] = 1.0f;
    return GNC_OK;
}

/* q_ref = q_rot x q_now where q_rot is the shortest-arc rotation (inertial axes) carrying
 * the current boresight direction R(q_now) bs onto r_rel / |r_rel|; for opposite
 * directions, a half turn about an axis perpendicular to the boresight. EINVAL: zero
 * boresight or r_rel, or a zero q_now. */
gnc_status gnc_point_to(const float *q_now, const float *boresight, const float *r_rel, float *q_ref)
{
    float qn[4], u[3], v[3], qr[4], out[4], n2, inv;
    int i;
    if (!gnc_finite_n(q_now, 4) || !gnc_finite_n(boresight, 3) || !gnc_finite_n(r_rel, 3)) {
        return GNC_ENAN;
    }
    for (i = 0; i < 4; i++) {
        qn[i] = q_now[i];
    }
    n2 = r_rel[0] * r_rel[0] + r_rel[1] * r_rel[1] + r_rel[2] * r_rel[2];
    u[0] = boresight[0] * boresight[0] + boresight[1] * boresight[1] + boresight[2] * boresight[2];
    if (n2 < 1e-30f || u[0] < 1e-30f || gnc_quat_normalize(qn) != GNC_OK) {
        return GNC_EINVAL;
    }
    inv = 1.0f / sqrtf(n2);
    for (i = 0; i < 3; i++) {
        v[i] = r_rel[i] * inv;
    }
    gnc_quat_rotate(qn, boresight, u);
    inv = 1.0f / sqrtf(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
    for (i = 0; i < 3; i++) {
        u[i] *= inv;
    }
    qr[0] = 1.0f + u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    gnc_cross3(u, v, qr + 1);
    n2 = qr[0] * qr[0] + qr[1] * qr[1] + qr[2] * qr[2] + qr[3] * qr[3];
    if (qr[0] < 1e-6f) {
        /* (nearly) opposite: half turn about u x e, e the axis least aligned with u */
        float e[3] = {0.0f, 0.0f, 0.0f};
        int k = 0;
        for (i = 1; i < 3; i++) {
            if (fabsf(u[i]) < fabsf(u[k])) {
                k = i;
            }
        }
        e[k] = 1.0f;
        qr[0] = 0.0f;
        gnc_cross3(u, e, qr + 1);
        n2 = qr[1] * qr[1] + qr[2] * qr[2] + qr[3] * qr[3];
    }
    inv = 1.0f / sqrtf(n2);
    for (i = 0; i < 4; i++) {
        qr[i] *= inv;
    }
    gnc_quat_mul(qr, qn, out);
    gnc_quat_normalize(out);
    for (i = 0; i < 4; i++) {
        q_ref[i] = out[i];
    }
    return GNC_OK;
}
