/* mitra GNC core: the composite 10 Hz control cycles (what one cycle costs on the boards).
 *
 * Each step only calls the public functions of gnc.h in the order a flight cycle runs them
 * (Markley & Crassidis 6.2: propagate, then the measurement updates; Wie 7.3 for the control
 * law that follows the estimator). Transactional: the state is worked on in a stack copy and
 * written back, with `out`, only when every sub-step succeeded, so an error leaves the
 * caller's buffers untouched (gnc.h: "outputs untouched").
 *
 * Conventions of these steps (not spelled out in gnc.h's layout lines):
 *  - a measured vector that is exactly zero (sun in eclipse, no magnetometer sample) skips
 *    its MEKF update; a zero b_field gives a zero dumping dipole;
 *  - star_valid, sun_fix_valid and the drilling flag are true when > 0.5;
 *  - inspector: the wheel momentum command h_cmd integrates -tau dt (wheels get -tau), cw holds
 *    the last rel_state, the step counter counts successful steps, mode is the caller's;
 *  - rover: s[12] (first spare) is the time since the last heading fix (the `elapsed` of
 *    gnc_rover_heading_fix); the survival heater is on while the Sun is below the horizon;
 *    while drilling the rover stands still (v = omega = 0) and the drill state machine runs
 *    (the app starts a hole by setting the drill mode s[7] to 1); mode is the caller's.
 */
#include <string.h>

#include "gnc.h"
#include "gnc_finite.h"

/* Inspector state s. */
#define S_MEKF 0
#define S_HCMD (GNC_MEKF_SIZE + GNC_BDOT_SIZE)
#define S_CW (S_HCMD + 3)
#define S_COUNTER (S_CW + GNC_CW_SIZE + 1)
/* Inspector in. */
#define I_GYRO 0
#define I_SUN_REF 3
#define I_SUN_MEAS 6
#define I_MAG_REF 9
#define I_MAG_MEAS 12
#define I_B 15
#define I_Q_STAR 18
#define I_STAR_VALID 22
#define I_Q_REF 23
#define I_W_REF 27
#define I_H_WHEELS 30
#define I_REL 33
#define I_DT 39
/* Inspector prm. */
#define P_J 0
#define P_KP 9
#define P_KD 10
#define P_TAU_MAX 11
#define P_K_DUMP 13
#define P_M_MAX 14
#define P_SIGMA_V 15
#define P_SIGMA_U 16
#define P_SIGMA_SUN 17
#define P_SIGMA_MAG 18
#define P_SIGMA_STAR 19
#define P_N 20
#define P_RADIUS 21
#define P_HORIZON 22
#define P_HORIZON_DT 23

/* Rover state s. */
#define RS_NAV 0
#define RS_SOC GNC_ROVER_NAV_SIZE
#define RS_DRILL (RS_SOC + 1)
#define RS_INDEX (RS_DRILL + GNC_DRILL_SIZE)
#define RS_SINCE_FIX (RS_INDEX + 2)
/* Rover in. */
#define RI_V_LEFT 0
#define RI_V_RIGHT 1
#define RI_GYRO_Z 2
#define RI_SUN_FIX_VALID 3
#define RI_PSI_SUN 4
#define RI_SUN_ELEV 5
#define RI_SUN_AZ_OFFSET 6
#define RI_SLOPE_AHEAD 7
#define RI_DRILL_MEAS 8
#define RI_DRILLING 11
#define RI_DT 12
/* Rover prm. */
#define RP_LIMITS 0
#define RP_SIGMA_GYRO 5
#define RP_VAR_SUN 6
#define RP_POWER 7
#define RP_HORIZON 13
#define RP_LOAD_W 14
#define RP_DRILL_LIMITS 15

#if GNC_INSPECTOR_IN != I_DT + 1 || GNC_ROVER_IN != RI_DT + 1 || GNC_INSPECTOR_PRM != P_HORIZON_DT + 1
#error "steps.c: layout offsets disagree with gnc.h"
#endif
#if GNC_ROVER_PRM != RP_DRILL_LIMITS + 5 || RS_SINCE_FIX >= GNC_ROVER_STEP_SIZE || S_COUNTER >= GNC_INSPECTOR_SIZE
#error "steps.c: layout offsets disagree with gnc.h"
#endif

static int is_zero3(const float *v)
{
    return v[0] == 0.0f && v[1] == 0.0f && v[2] == 0.0f;
}

gnc_status gnc_inspector_step(float *s, const float *in, const float *prm, float *out)
{
    float st[GNC_INSPECTOR_SIZE];
    float res[GNC_INSPECTOR_OUT];
    float w_est[3], limits[2];
    float dt = in[I_DT];
    gnc_status rc, keepout;
    int i;

    if (!gnc_finite_n(s, GNC_INSPECTOR_SIZE) || !gnc_finite_n(in, GNC_INSPECTOR_IN) ||
        !gnc_finite_n(prm, GNC_INSPECTOR_PRM)) {
        return GNC_ENAN;
    }
    memcpy(st, s, sizeof st);
    memset(res, 0, sizeof res);

    /* Estimation: propagate with the gyro, then sun, magnetometer and star updates. */
    rc = gnc_mekf_propagate(st + S_MEKF, in + I_GYRO, dt, prm[P_SIGMA_V], prm[P_SIGMA_U]);
    if (rc == GNC_OK && !is_zero3(in + I_SUN_MEAS)) {
        rc = gnc_mekf_update_vector(st + S_MEKF, in + I_SUN_REF, in + I_SUN_MEAS, prm[P_SIGMA_SUN]);
    }
    if (rc == GNC_OK && !is_zero3(in + I_MAG_MEAS)) {
        rc = gnc_mekf_update_vector(st + S_MEKF, in + I_MAG_REF, in + I_MAG_MEAS, prm[P_SIGMA_MAG]);
    }
    if (rc == GNC_OK && in[I_STAR_VALID] > 0.5f) {
        rc = gnc_mekf_update_quat(st + S_MEKF, in + I_Q_STAR, prm[P_SIGMA_STAR]);
    }
    if (rc != GNC_OK) {
        return rc;
    }

    /* Control: PD on the estimate with the bias-corrected rate; dumping dipole. */
    for (i = 0; i < 3; i++) {
        w_est[i] = in[I_GYRO + i] - st[S_MEKF + 4 + i];
    }
    limits[0] = prm[P_TAU_MAX];
    limits[1] = prm[P_TAU_MAX + 1];
    rc = gnc_pd_control(st + S_MEKF, w_est, in + I_Q_REF, in + I_W_REF, prm + P_J, in + I_H_WHEELS, prm[P_KP],
                        prm[P_KD], limits, res + 0);
    if (rc != GNC_OK) {
        return rc;
    }
    if (!is_zero3(in + I_B)) {
        rc = gnc_dump_dipole(in + I_B, in + I_H_WHEELS, prm[P_K_DUMP], prm[P_M_MAX], res + 3);
        if (rc != GNC_OK) {
            return rc;
        }
    }

    /* Guidance: keep-out check of the free drift; abort burn when it is violated. */
    keepout = gnc_keepout_check(in + I_REL, prm[P_N], prm[P_HORIZON], prm[P_HORIZON_DT], prm[P_RADIUS], res + 10);
    if (keepout != GNC_OK && keepout != GNC_EUNSAFE) {
        return keepout;
    }
    if (keepout == GNC_EUNSAFE) {
        res[11] = 1.0f;
        rc = gnc_abort_burn(in + I_REL, prm[P_N], prm[P_RADIUS], res + 12);
        if (rc != GNC_OK && rc != GNC_EUNSAFE) { /* EUNSAFE: the best burn found, still written */
            return rc;
        }
    }

    for (i = 0; i < 4; i++) {
        res[6 + i] = st[S_MEKF + i];
    }
    for (i = 0; i < 3; i++) {
        st[S_HCMD + i] -= res[i] * dt;
    }
    for (i = 0; i < GNC_CW_SIZE; i++) {
        st[S_CW + i] = in[I_REL + i];
    }
    st[S_COUNTER] += 1.0f;
    memcpy(s, st, sizeof st);
    memcpy(out, res, sizeof res);
    return keepout;
}

gnc_status gnc_rover_step(float *s, const float *in, const float *prm, const float *path, int n_points, float *out)
{
    float st[GNC_ROVER_STEP_SIZE];
    float res[GNC_ROVER_OUT];
    float cond[2], cmd[2];
    float dt = in[RI_DT];
    float soc, net_w;
    int index, done = 0, drilling;
    gnc_status rc;

    if (!gnc_finite_n(s, GNC_ROVER_STEP_SIZE) || !gnc_finite_n(in, GNC_ROVER_IN) || !gnc_finite_n(prm, GNC_ROVER_PRM)) {
        return GNC_ENAN;
    }
    if (n_points < 0 || n_points > GNC_MAX_PATH_POINTS) {
        return GNC_ERANGE;
    }
    if (!gnc_finite_n(path, 2 * n_points)) {
        return GNC_ENAN;
    }
    memcpy(st, s, sizeof st);
    drilling = in[RI_DRILLING] > 0.5f;

    /* Navigation: odometry, then the sun azimuth fix with the time since the last one. */
    rc = gnc_rover_odometry(st + RS_NAV, in[RI_V_LEFT], in[RI_V_RIGHT], in[RI_GYRO_Z], dt, prm[RP_SIGMA_GYRO]);
    if (rc != GNC_OK) {
        return rc;
    }
    st[RS_SINCE_FIX] += dt;
    if (in[RI_SUN_FIX_VALID] > 0.5f) {
        rc = gnc_rover_heading_fix(st + RS_NAV, in[RI_PSI_SUN], prm[RP_VAR_SUN], st[RS_SINCE_FIX]);
        if (rc != GNC_OK) {
            return rc;
        }
        st[RS_SINCE_FIX] = 0.0f;
    }

    /* Power, with the survival heater on while the Sun is below the local horizon. */
    soc = st[RS_SOC];
    net_w = 0.0f;
    rc = gnc_power_step(&soc, in[RI_SUN_ELEV], in[RI_SUN_AZ_OFFSET], prm[RP_HORIZON], prm[RP_LOAD_W],
                        in[RI_SUN_ELEV] < prm[RP_HORIZON] ? 1 : 0, prm + RP_POWER, dt, &net_w);
    if (rc != GNC_OK) {
        return rc;
    }
    st[RS_SOC] = soc;

    /* Path following (speed limited by slope and the state of charge just computed). */
    cond[0] = in[RI_SLOPE_AHEAD];
    cond[1] = soc;
    index = (int)st[RS_INDEX];
    rc = gnc_pure_pursuit(st + RS_NAV, path, n_points, &index, prm + RP_LIMITS, cond, cmd, &done);
    if (rc != GNC_OK) {
        return rc;
    }
    st[RS_INDEX] = (float)index;

    /* Drill: the rover stands still while it drills. */
    res[4] = 0.0f;
    res[5] = 0.0f;
    if (drilling) {
        cmd[0] = 0.0f;
        cmd[1] = 0.0f;
        rc = gnc_drill_step(st + RS_DRILL, in + RI_DRILL_MEAS, prm + RP_DRILL_LIMITS, dt, res + 4);
        if (rc != GNC_OK) {
            return rc;
        }
    }
    res[0] = cmd[0];
    res[1] = cmd[1];
    res[2] = (float)done;
    res[3] = net_w;
    memcpy(s, st, sizeof st);
    memcpy(out, res, sizeof res);
    return GNC_OK;
}
