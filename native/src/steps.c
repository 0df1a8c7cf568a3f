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
 *    the rel_state latched at the start of the keep-out sweep in progress, the step counter
 *    counts successful steps (modulo COUNTER_WRAP), mode is the caller's;
 *  - inspector schedule (gnc.h states it; the Cortex-M0 budget of 150k instructions per 10 Hz
 *    step with libgcc soft float, ~100 instructions per float operation, is the reason):
 *    * one MEKF measurement update per cycle, round-robin star / sun / magnetometer on the step
 *      counter, except in a keep-out sweep's decision cycle (below), which only propagates.
 *      Flight filters schedule sensor updates the same way (update rates per sensor, not every
 *      sensor every cycle: Markley & Crassidis 6.2 process measurements when they come); with
 *      9 updates in every 10 cycles each sensor still updates at >= 3 Hz (a 10-cycle sweep
 *      skips the slot that has four turns in its 10 counter values: 3 + 3 + 3). Three updates in
 *      one cycle cost ~100k instructions on the M0 (three MEKF updates at 31-41k each).
 *    * the keep-out prediction over the horizon (301 samples in the configured case, ~1.1M
 *      instructions when done in one cycle with the old per-sample cost) is spread over the
 *      first SWEEP_SAMPLE_CYCLES = 9 cycles of a sweep, ceil(count / 9) samples per cycle from
 *      the state latched at the sweep's start, at ~1.7k instructions per sample (sweep_part:
 *      Reinsch recurrence, no trigonometry, no division, no sqrtf); the cycle after the last
 *      samples is the sweep's decision cycle: no samples, no measurement update, it declares
 *      the result and computes the abort burn, so a violation is reported within one 1 Hz
 *      guidance cycle of the state it was predicted from (GNC.md A1: abort within one guidance
 *      cycle).
 *    * the abort burn runs only in a decision cycle whose sweep found a violation. Its cost is
 *      the one of gnc_abort_burn (cw.c): a few thousand instructions off the V-bar or inside the
 *      sphere; up to ~75k on the M0 for a start near the V-bar outside the sphere (four
 *      closed-form one-orbit minima). The decision slot keeps that cycle within the step budget
 *      (propagation, PD, dump and the abort: ~116k instead of ~210k when the abort shared a
 *      cycle with the last samples and a vector update).
 *  - rover: odometry, power, pure pursuit, then the sun heading fix: pure pursuit steers on
 *    the odometry heading and the fix steers from the next cycle (0.1 s later; fixes come every
 *    tens of seconds), so the cycle needs one sinf/cosf pair (odometry's, rotated by the half
 *    step: gnc_rover.h) whatever the correction. The Cortex-M0 budget (30k) is the reason:
 *    each pair costs ~3.5k. s[12] (first spare) is the time since the last heading fix (the `elapsed` of
 *    gnc_rover_heading_fix); the survival heater is on while the Sun is below the horizon;
 *    while drilling the rover stands still (v = omega = 0) and the drill state machine runs
 *    (the app starts a hole by setting the drill mode s[7] to 1); mode is the caller's.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gnc.h"
#include "gnc_finite.h"
#include "gnc_rover.h"
#include "gnc_sweep.h"

/* Inspector state s. */
#define S_MEKF 0
#define S_HCMD (GNC_MEKF_SIZE + GNC_BDOT_SIZE)
#define S_CW (S_HCMD + 3)
#define S_COUNTER (S_CW + GNC_CW_SIZE + 1)
#define S_SWEEP_K (S_COUNTER + 1)     /* spare[0] */
#define S_SWEEP_MIN2 (S_COUNTER + 2)  /* spare[1] */
#define S_MIN_RANGE (S_COUNTER + 3)   /* spare[2] */
#define S_SWEEP_SN (S_COUNTER + 4)    /* spare[3] */
#define S_SWEEP_CS (S_COUNTER + 5)    /* spare[4] */
#define S_SWEEP_SP (S_COUNTER + 6)    /* spare[5] */
#define S_SWEEP_CP (S_COUNTER + 7)    /* spare[6] */
#define S_SWEEP_U (S_COUNTER + 8)     /* spare[7]: the angle n per hdt that spare[5..6] rotate by */
/* Inspector schedule (gnc.h): a keep-out sweep takes at most SWEEP_SAMPLE_CYCLES cycles of
 * samples, then one decision cycle (10 in all); the step counter runs 0 .. WRAP - 1
 * (3 * 2^22: exact in float32 and a multiple of the three sensor slots; 14.6 days at 10 Hz). */
#define SWEEP_SAMPLE_CYCLES 9
#define COUNTER_WRAP 12582912
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
#if GNC_ROVER_PRM != RP_DRILL_LIMITS + 5 || RS_SINCE_FIX >= GNC_ROVER_STEP_SIZE || S_SWEEP_CP >= GNC_INSPECTOR_SIZE
#error "steps.c: layout offsets disagree with gnc.h"
#endif

static int is_zero3(const float *v)
{
    return v[0] == 0.0f && v[1] == 0.0f && v[2] == 0.0f;
}

/* The sensor the MEKF updates with in this cycle (at most one update per cycle, see the top of
 * this file): slot counter mod 3 (0 star tracker, 1 sun, 2 magnetometer), or the next available
 * one after it; -1 when none is available. */
static int pick_sensor(float counter, const float *in)
{
    int avail[3], slot = 0, i;
    avail[0] = in[I_STAR_VALID] > 0.5f;
    avail[1] = !is_zero3(in + I_SUN_MEAS);
    avail[2] = !is_zero3(in + I_MAG_MEAS);
    if (counter >= 0.0f && counter < (float)COUNTER_WRAP) {
        slot = (int)counter % 3;
    }
    for (i = 0; i < 3; i++) {
        if (avail[(slot + i) % 3]) {
            return (slot + i) % 3;
        }
    }
    return -1;
}

/* (sn, cs) of a stored rotation, or 0 when they are not a unit pair (a damaged or hand-made
 * sweep state): the sweep then starts over. */
static int unit_pair(float sn, float cs)
{
    float d = sn * sn + cs * cs - 1.0f;
    return fabsf(d) < 1e-3f;
}

gnc_status gnc_inspector_step(float *s, const float *in, const float *prm, float *out)
{
    float st[GNC_INSPECTOR_SIZE];
    float res[GNC_INSPECTOR_OUT];
    float w_est[3], limits[2];
    float dt = in[I_DT], n = prm[P_N], horizon = prm[P_HORIZON], hdt = prm[P_HORIZON_DT], radius = prm[P_RADIUS];
    float min2, counter, sn0, cs0, u = 0.0f;
    gnc_status rc, keepout = GNC_OK;
    int i, count, per, k0, k1, decide, valid = 0;

    if (!gnc_finite_n(s, GNC_INSPECTOR_SIZE) || !gnc_finite_n(in, GNC_INSPECTOR_IN) ||
        !gnc_finite_n(prm, GNC_INSPECTOR_PRM)) {
        return GNC_ENAN;
    }
    /* the keep-out prediction's domain, as gnc_keepout_check */
    rc = gnc_sweep_count(n, horizon, hdt, radius, &count);
    if (rc != GNC_OK) {
        return rc;
    }
    memcpy(st, s, sizeof st);
    memset(res, 0, sizeof res);
    counter = st[S_COUNTER];

    /* Where this cycle is in the keep-out sweep: spare[0] is the next sample (0: a new sweep
     * starts), or count once every sample is taken: the sweep's decision cycle. */
    per = (count + SWEEP_SAMPLE_CYCLES - 1) / SWEEP_SAMPLE_CYCLES;
    k0 = 0;
    if (st[S_SWEEP_K] >= 1.0f && st[S_SWEEP_K] <= (float)count) {
        k0 = (int)st[S_SWEEP_K];
    }
    decide = k0 == count;

    /* Estimation: propagate with the gyro every cycle, then one measurement update (none in
     * the sweep's decision cycle). */
    rc = gnc_mekf_propagate(st + S_MEKF, in + I_GYRO, dt, prm[P_SIGMA_V], prm[P_SIGMA_U]);
    if (rc == GNC_OK && !decide) {
        switch (pick_sensor(counter, in)) {
        case 0:
            rc = gnc_mekf_update_quat(st + S_MEKF, in + I_Q_STAR, prm[P_SIGMA_STAR]);
            break;
        case 1:
            rc = gnc_mekf_update_vector(st + S_MEKF, in + I_SUN_REF, in + I_SUN_MEAS, prm[P_SIGMA_SUN]);
            break;
        case 2:
            rc = gnc_mekf_update_vector(st + S_MEKF, in + I_MAG_REF, in + I_MAG_MEAS, prm[P_SIGMA_MAG]);
            break;
        default:
            break;
        }
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

    /* Guidance: this cycle's part of the keep-out sweep; in its decision cycle, no samples: the
     * minimum range is declared and, when it is below the radius, the abort burn computed from
     * the current state. */
    if (decide) {
        st[S_SWEEP_K] = 0.0f;
        st[S_MIN_RANGE] = sqrtf(st[S_SWEEP_MIN2]);
        if (st[S_MIN_RANGE] < radius) {
            keepout = GNC_EUNSAFE;
            res[11] = 1.0f;
            rc = gnc_abort_burn(in + I_REL, n, radius, res + 12);
            if (rc != GNC_OK && rc != GNC_EUNSAFE) { /* EUNSAFE: the best burn found, still written */
                return rc;
            }
        }
    } else {
        /* The rotation from one part's first sample to the next's, sin and cos of u = n per hdt,
         * is kept in the state with u (spare[5..7]): a sweep needs no sinf/cosf while it is
         * valid. When it is not (the first sweep after a start, a changed n, horizon or dt, a
         * damaged state) this cycle is a SETUP cycle: it computes the pair and takes no samples;
         * the sweep starts in the next cycle. A sweep whose sin, cos at its next part are not a
         * unit pair is damaged (or hand-made): it starts over rather than trust its running
         * minimum. So no sample cycle pays for trigonometry: with 34 samples and a vector update
         * a first part with sinf/cosf cost up to ~151k instructions on the Cortex-M0. */
        u = n * ((float)per * hdt);
        valid = unit_pair(st[S_SWEEP_SP], st[S_SWEEP_CP]) && fabsf(st[S_SWEEP_U] - u) <= 1e-6f * u;
        if (k0 != 0 && (!valid || !unit_pair(st[S_SWEEP_SN], st[S_SWEEP_CS]))) {
            k0 = 0;
        }
    }
    if (!decide && k0 == 0 && !valid) { /* setup cycle */
        st[S_SWEEP_SP] = sinf(u);
        st[S_SWEEP_CP] = cosf(u);
        st[S_SWEEP_U] = u;
        st[S_SWEEP_K] = 0.0f;
    } else if (!decide) {
        if (k0 == 0) { /* a new sweep: from the relative state of this cycle */
            for (i = 0; i < GNC_CW_SIZE; i++) {
                st[S_CW + i] = in[I_REL + i];
            }
            min2 = 3.0e38f;
            sn0 = 0.0f;
            cs0 = 1.0f;
        } else {
            min2 = st[S_SWEEP_MIN2];
            sn0 = st[S_SWEEP_SN];
            cs0 = st[S_SWEEP_CS];
        }
        k1 = k0 + per < count ? k0 + per : count;
        min2 = gnc_sweep_part(st + S_CW, n, horizon, hdt, count, k0, k1, sn0, cs0, min2);
        st[S_SWEEP_MIN2] = min2;
        /* sin, cos at the next part's first sample: one rotation (at most SWEEP_SAMPLE_CYCLES
         * per sweep, so the rounding stays near float32 epsilon) */
        st[S_SWEEP_SN] = sn0 * st[S_SWEEP_CP] + cs0 * st[S_SWEEP_SP];
        st[S_SWEEP_CS] = cs0 * st[S_SWEEP_CP] - sn0 * st[S_SWEEP_SP];
        st[S_SWEEP_K] = (float)k1; /* count: the next cycle is the decision cycle */
    }
    res[10] = st[S_MIN_RANGE];

    for (i = 0; i < 4; i++) {
        res[6 + i] = st[S_MEKF + i];
    }
    for (i = 0; i < 3; i++) {
        st[S_HCMD + i] -= res[i] * dt;
    }
    st[S_COUNTER] = counter + 1.0f >= (float)COUNTER_WRAP ? 0.0f : counter + 1.0f;
    memcpy(s, st, sizeof st);
    memcpy(out, res, sizeof res);
    return keepout;
}

gnc_status gnc_rover_step(float *s, const float *in, const float *prm, const float *path, int n_points, float *out)
{
    float st[GNC_ROVER_STEP_SIZE];
    float res[GNC_ROVER_OUT];
    float cond[2], cmd[2], heading_cs[2];
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

    /* Navigation: odometry (with cos, sin of the new heading for the steering below). */
    rc = gnc_rover_odometry_cs(st + RS_NAV, in[RI_V_LEFT], in[RI_V_RIGHT], in[RI_GYRO_Z], dt, prm[RP_SIGMA_GYRO],
                               heading_cs);
    if (rc != GNC_OK) {
        return rc;
    }
    st[RS_SINCE_FIX] += dt;

    /* Power, with the survival heater on while the Sun is below the local horizon. */
    soc = st[RS_SOC];
    net_w = 0.0f;
    rc = gnc_power_step(&soc, in[RI_SUN_ELEV], in[RI_SUN_AZ_OFFSET], prm[RP_HORIZON], prm[RP_LOAD_W],
                        in[RI_SUN_ELEV] < prm[RP_HORIZON] ? 1 : 0, prm + RP_POWER, dt, &net_w);
    if (rc != GNC_OK) {
        return rc;
    }
    st[RS_SOC] = soc;

    /* Path following (speed limited by slope and the state of charge just computed), on the
     * odometry heading. */
    cond[0] = in[RI_SLOPE_AHEAD];
    cond[1] = soc;
    index = (int)st[RS_INDEX];
    rc = gnc_pure_pursuit_cs(st + RS_NAV, path, n_points, &index, prm + RP_LIMITS, cond, heading_cs[0], heading_cs[1],
                             1, cmd, &done);
    if (rc != GNC_OK) {
        return rc;
    }
    st[RS_INDEX] = (float)index;

    /* The sun azimuth fix, with the time since the last one: after the steering, so a large
     * correction costs no second sinf/cosf pair; it steers from the next cycle (0.1 s later). */
    if (in[RI_SUN_FIX_VALID] > 0.5f) {
        rc = gnc_rover_heading_fix(st + RS_NAV, in[RI_PSI_SUN], prm[RP_VAR_SUN], st[RS_SINCE_FIX]);
        if (rc != GNC_OK) {
            return rc;
        }
        st[RS_SINCE_FIX] = 0.0f;
    }

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
