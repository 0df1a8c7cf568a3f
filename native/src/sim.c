/* mitra GNC core: host-side simulation loops, whole runs kept in C for Monte Carlo campaigns
 * (the per-call cost of a binding is paid once per run, not once per step).
 *
 * gnc_detumble_run is the D1 scenario's loop (GNC.md "Closed-loop scenarios"): B-dot
 * detumbling, Stickler & Alfriend, "Elementary magnetic attitude control system",
 * J. Spacecraft 13(5), 1976, and Markley & Crassidis, "Fundamentals of Spacecraft Attitude
 * Determination and Control", 2014, 7.5 (m = -k dB/dt, torque m x B); the rigid body is
 * gnc_body_step (RK4, plant.c). It only calls the public functions of gnc.h, so the same run
 * stepped from Python over the bindings gives the same numbers.
 *
 * Work is done on stack copies of the plant and B-dot state, written back only when every
 * step succeeded (gnc.h: errors leave the caller's state untouched). rate_out is filled step
 * by step: after a mid-run error (a float32 overflow of the body, ERANGE) it holds the steps done.
 */
#include <math.h>

#include "gnc.h"
#include "gnc_finite.h"

static int all_finite(const float *v, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (!gnc_finitef(v[i])) { /* false for NaN and +-inf */
            return 0;
        }
    }
    return 1;
}

gnc_status gnc_detumble_run(float *x, const float *J, float *bdot_s, const float *b_inertial, int n_steps, float dt,
                            float k, float m_max, int substeps, float *rate_out)
{
    const float zero[3] = {0.0f, 0.0f, 0.0f};
    float xs[GNC_BODY_SIZE], bs[GNC_BDOT_SIZE], b_body[3], m[3], tau[3], h;
    gnc_status rc;
    int i, j;

    if (n_steps < 0 || substeps < 1) {
        return GNC_EINVAL;
    }
    if (n_steps > 0x7fffffff / 3) {
        return GNC_ERANGE;
    }
    if (!all_finite(x, GNC_BODY_SIZE) || !all_finite(J, 9) || !all_finite(bdot_s, GNC_BDOT_SIZE) ||
        !all_finite(b_inertial, 3 * n_steps) || !all_finite(&dt, 1) || !all_finite(&k, 1) ||
        !all_finite(&m_max, 1)) {
        return GNC_ENAN;
    }
    if (!(dt > 0.0f) || k < 0.0f || !(m_max > 0.0f)) {
        return GNC_EINVAL;
    }
    if (substeps > GNC_MAX_SUBSTEPS) {
        return GNC_ERANGE;
    }
    for (i = 0; i < GNC_BODY_SIZE; i++) {
        xs[i] = x[i];
    }
    for (i = 0; i < GNC_BDOT_SIZE; i++) {
        bs[i] = bdot_s[i];
    }
    h = dt / (float)substeps;
    for (i = 0; i < n_steps; i++) {
        const float *b_i = b_inertial + 3 * i;
        /* measure: the field in the body with the true attitude, then the B-dot dipole */
        rc = gnc_quat_rotate_inv(xs, b_i, b_body);
        if (rc == GNC_OK) {
            rc = gnc_bdot(bs, b_body, dt, k, m_max, m);
        }
        /* actuate: dipole held, torque m x B with the field turning in the body */
        for (j = 0; j < substeps && rc == GNC_OK; j++) {
            rc = gnc_quat_rotate_inv(xs, b_i, b_body);
            tau[0] = m[1] * b_body[2] - m[2] * b_body[1];
            tau[1] = m[2] * b_body[0] - m[0] * b_body[2];
            tau[2] = m[0] * b_body[1] - m[1] * b_body[0];
            if (rc == GNC_OK) {
                rc = gnc_body_step(xs, J, zero, tau, h, 1);
            }
        }
        if (rc != GNC_OK) {
            return rc;
        }
        rate_out[i] = sqrtf(xs[4] * xs[4] + xs[5] * xs[5] + xs[6] * xs[6]);
    }
    for (i = 0; i < GNC_BODY_SIZE; i++) {
        x[i] = xs[i];
    }
    for (i = 0; i < GNC_BDOT_SIZE; i++) {
        bdot_s[i] = bs[i];
    }
    return GNC_OK;
}
