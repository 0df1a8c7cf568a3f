/* mitra GNC core: plant propagators for the emulated hardware.
 *
 * Rigid body with three reaction wheels (Euler's equations with the wheel momentum h, body
 * axes; Markley & Crassidis, "Fundamentals of Spacecraft Attitude Determination and
 * Control", 3.3 (3.147) and 7.2 (wheels); B. Wie, "Space Vehicle Dynamics and Control",
 * 2nd ed., 7.2):
 *     J w' = -w x (J w + h) + tau_wheel + tau_ext,   h' = -tau_wheel,
 *     q'   = 1/2 q x [0, w]   (gnc.h: q body from inertial, w in body axes).
 * CW relative motion with a constant acceleration (Vallado 6.8):
 *     x'' = 3 n^2 x + 2 n y' + ax,  y'' = -2 n x' + ay,  z'' = -n^2 z + az.
 * Both by the classical fourth-order Runge-Kutta method (Press et al., "Numerical Recipes",
 * 3rd ed., 17.1), `substeps` equal sub-steps over dt.
 * Rover: unicycle kinematics x' = v cos psi, y' = v sin psi, psi' = omega, integrated
 * exactly (a circular arc; as a chord of length v dt sinc(omega dt / 2) along the mean
 * heading psi + omega dt / 2, which also covers omega = 0 without a special case).
 */
#include <math.h>

#include "gnc.h"
#include "gnc_finite.h"

#define PI_F 3.14159265359f

/* Body model constants for one call: inverse inertia and the torques. */
struct body_model {
    const float *j;
    float jinv[9];
    const float *tau_w;
    const float *tau_e;
};

/* d/dt of the 10-float body state y (q, w, h) into dy. */
static void body_deriv(const struct body_model *m, const float *y, float *dy)
{
    const float *q = y, *w = y + 4, *h = y + 7;
    const float *j = m->j;
    float l0 = j[0] * w[0] + j[1] * w[1] + j[2] * w[2] + h[0];
    float l1 = j[3] * w[0] + j[4] * w[1] + j[5] * w[2] + h[1];
    float l2 = j[6] * w[0] + j[7] * w[1] + j[8] * w[2] + h[2];
    float t0 = -(w[1] * l2 - w[2] * l1) + m->tau_w[0] + m->tau_e[0];
    float t1 = -(w[2] * l0 - w[0] * l2) + m->tau_w[1] + m->tau_e[1];
    float t2 = -(w[0] * l1 - w[1] * l0) + m->tau_w[2] + m->tau_e[2];
    /* q x [0, w] / 2 */
    dy[0] = 0.5f * (-q[1] * w[0] - q[2] * w[1] - q[3] * w[2]);
    dy[1] = 0.5f * (q[0] * w[0] + q[2] * w[2] - q[3] * w[1]);
    dy[2] = 0.5f * (q[0] * w[1] + q[3] * w[0] - q[1] * w[2]);
    dy[3] = 0.5f * (q[0] * w[2] + q[1] * w[1] - q[2] * w[0]);
    dy[4] = m->jinv[0] * t0 + m->jinv[1] * t1 + m->jinv[2] * t2;
    dy[5] = m->jinv[3] * t0 + m->jinv[4] * t1 + m->jinv[5] * t2;
    dy[6] = m->jinv[6] * t0 + m->jinv[7] * t1 + m->jinv[8] * t2;
    dy[7] = -m->tau_w[0];
    dy[8] = -m->tau_w[1];
    dy[9] = -m->tau_w[2];
}

/* 3x3 inverse by cofactors; 0 when |det| is below 1e-6 of |J|_F^3 (singular inertia). */
static int inv3(const float *a, float *out)
{
    float c00 = a[4] * a[8] - a[5] * a[7];
    float c01 = a[5] * a[6] - a[3] * a[8];
    float c02 = a[3] * a[7] - a[4] * a[6];
    float det = a[0] * c00 + a[1] * c01 + a[2] * c02;
    float f2 = 0.0f, f;
    int i;
    for (i = 0; i < 9; i++) {
        f2 += a[i] * a[i];
    }
    f = sqrtf(f2);
    if (!(fabsf(det) > 1e-6f * f2 * f)) {
        return 0;
    }
    out[0] = c00 / det;
    out[1] = (a[2] * a[7] - a[1] * a[8]) / det;
    out[2] = (a[1] * a[5] - a[2] * a[4]) / det;
    out[3] = c01 / det;
    out[4] = (a[0] * a[8] - a[2] * a[6]) / det;
    out[5] = (a[2] * a[3] - a[0] * a[5]) / det;
    out[6] = c02 / det;
    out[7] = (a[1] * a[6] - a[0] * a[7]) / det;
    out[8] = (a[0] * a[4] - a[1] * a[3]) / det;
    return 1;
}

gnc_status gnc_body_step(float *x, const float *J, const float *tau_wheel_cmd, const float *tau_ext, float dt,
                         int substeps)
{
    struct body_model m;
    float y[10], k1[10], k2[10], k3[10], k4[10], tmp[10], h, qn;
    int i, k;
    if (!gnc_finite_n(x, GNC_BODY_SIZE) || !gnc_finite_n(J, 9) || !gnc_finite_n(tau_wheel_cmd, 3) ||
        !gnc_finite_n(tau_ext, 3) || !gnc_finitef(dt)) {
        return GNC_ENAN;
    }
    if (dt < 0.0f || substeps < 1) {
        return GNC_EINVAL;
    }
    if (substeps > GNC_MAX_SUBSTEPS) {
        return GNC_ERANGE;
    }
    qn = x[0] * x[0] + x[1] * x[1] + x[2] * x[2] + x[3] * x[3];
    if (!(qn > 0.0f)) {
        return GNC_EINVAL;
    }
    m.j = J;
    m.tau_w = tau_wheel_cmd;
    m.tau_e = tau_ext;
    if (!inv3(J, m.jinv)) {
        return GNC_EINVAL;
    }
    for (i = 0; i < 10; i++) {
        y[i] = x[i];
    }
    h = dt / (float)substeps;
    for (k = 0; k < substeps; k++) {
        body_deriv(&m, y, k1);
        for (i = 0; i < 10; i++) {
            tmp[i] = y[i] + 0.5f * h * k1[i];
        }
        body_deriv(&m, tmp, k2);
        for (i = 0; i < 10; i++) {
            tmp[i] = y[i] + 0.5f * h * k2[i];
        }
        body_deriv(&m, tmp, k3);
        for (i = 0; i < 10; i++) {
            tmp[i] = y[i] + h * k3[i];
        }
        body_deriv(&m, tmp, k4);
        for (i = 0; i < 10; i++) {
            y[i] += h / 6.0f * (k1[i] + 2.0f * k2[i] + 2.0f * k3[i] + k4[i]);
        }
        qn = sqrtf(y[0] * y[0] + y[1] * y[1] + y[2] * y[2] + y[3] * y[3]);
        for (i = 0; i < 4; i++) {
            y[i] /= qn;
        }
    }
    if (!gnc_finite_n(y, 10)) {
        return GNC_ERANGE; /* the rates overflowed float32: nothing written */
    }
    for (i = 0; i < 10; i++) {
        x[i] = y[i];
    }
    return GNC_OK;
}

static void cw_deriv(const float *y, float n, const float *a, float *dy)
{
    dy[0] = y[3];
    dy[1] = y[4];
    dy[2] = y[5];
    dy[3] = 3.0f * n * n * y[0] + 2.0f * n * y[4] + a[0];
    dy[4] = -2.0f * n * y[3] + a[1];
    dy[5] = -n * n * y[2] + a[2];
}

gnc_status gnc_cw_step(float *x, float n, const float *accel, float dt, int substeps)
{
    float y[6], k1[6], k2[6], k3[6], k4[6], tmp[6], h;
    int i, k;
    if (!gnc_finite_n(x, GNC_CW_SIZE) || !gnc_finitef(n) || !gnc_finite_n(accel, 3) || !gnc_finitef(dt)) {
        return GNC_ENAN;
    }
    if (n < 0.0f || dt < 0.0f || substeps < 1) {
        return GNC_EINVAL;
    }
    if (substeps > GNC_MAX_SUBSTEPS) {
        return GNC_ERANGE;
    }
    for (i = 0; i < 6; i++) {
        y[i] = x[i];
    }
    h = dt / (float)substeps;
    for (k = 0; k < substeps; k++) {
        cw_deriv(y, n, accel, k1);
        for (i = 0; i < 6; i++) {
            tmp[i] = y[i] + 0.5f * h * k1[i];
        }
        cw_deriv(tmp, n, accel, k2);
        for (i = 0; i < 6; i++) {
            tmp[i] = y[i] + 0.5f * h * k2[i];
        }
        cw_deriv(tmp, n, accel, k3);
        for (i = 0; i < 6; i++) {
            tmp[i] = y[i] + h * k3[i];
        }
        cw_deriv(tmp, n, accel, k4);
        for (i = 0; i < 6; i++) {
            y[i] += h / 6.0f * (k1[i] + 2.0f * k2[i] + 2.0f * k3[i] + k4[i]);
        }
    }
    if (!gnc_finite_n(y, 6)) {
        return GNC_ERANGE;
    }
    for (i = 0; i < 6; i++) {
        x[i] = y[i];
    }
    return GNC_OK;
}

/* Heading wrapped to [-pi, pi). */
static float wrap_pi(float a)
{
    float w = fmodf(a + PI_F, 2.0f * PI_F);
    if (w < 0.0f) {
        w += 2.0f * PI_F;
    }
    return w - PI_F;
}

gnc_status gnc_rover_kinematics(float *pose, float v, float omega, float dt)
{
    float half, sinc, chord, mid;
    if (!gnc_finite_n(pose, GNC_POSE_SIZE) || !gnc_finitef(v) || !gnc_finitef(omega) || !gnc_finitef(dt)) {
        return GNC_ENAN;
    }
    if (dt < 0.0f) {
        return GNC_EINVAL;
    }
    half = 0.5f * omega * dt;
    if (fabsf(half) < 1e-3f) {
        float h2 = half * half;
        sinc = 1.0f - h2 / 6.0f * (1.0f - h2 / 20.0f);
    } else {
        sinc = sinf(half) / half;
    }
    chord = v * dt * sinc;
    mid = pose[2] + half;
    pose[0] += chord * cosf(mid);
    pose[1] += chord * sinf(mid);
    pose[2] = wrap_pi(pose[2] + omega * dt);
    return GNC_OK;
}
