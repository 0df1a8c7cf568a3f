/* mitra GNC core: the one public header (cffi reads this file directly).
 *
 * Contract (ARCHITECTURE.md "The C core contract"): C99, float32, no malloc,
 * no globals, no I/O. Every function works on caller-owned float arrays and
 * returns a status code (gnc_status). State lives in the caller's buffers
 * (Python array('f')), so cffi, the MicroPython user C module and the pure
 * MicroPython fallback (firmware/gnc/) share one layout.
 *
 * Conventions (GNC.md):
 *  - Quaternions are scalar-first q = [q0, q1, q2, q3], Hamilton product (x),
 *    unit norm. R(q) is the active rotation matrix: R(a x b) = R(a) R(b);
 *    scipy: Rotation.from_quat([q1, q2, q3, q0]).as_matrix() == R(q).
 *  - Attitude q_bi ("body from inertial"): the rotation that carries the
 *    inertial axes onto the body axes. Components transform as
 *    v_body = R(q)^T v_inertial  (= q* x v x q), and
 *    q_dot = 1/2 q x [0, w_body]   (w: body rate w.r.t. inertial, body axes).
 *  - Attitude error of q against a reference: dq = q_ref* x q (so q = q_ref x dq;
 *    dq_v ~ dtheta / 2 in body axes).
 *  - Relative motion in Hill / LVLH: x radial (away from Earth), y along-track,
 *    z cross-track; n is the target's mean motion; state [x, y, z, vx, vy, vz].
 *  - Matrices are row-major. SI units everywhere (m, s, rad, N m, A m^2, T, W, J).
 *  - Any NaN or infinite input gives GNC_ENAN and leaves outputs untouched.
 */
#ifndef GNC_H
#define GNC_H

#include "gnc_config.h"

typedef int gnc_status;
#define GNC_OK 0
#define GNC_EINVAL 1     /* an argument outside its domain (negative dt, zero norm, ...) */
#define GNC_ENAN 2       /* a NaN or infinite input */
#define GNC_ESINGULAR 3  /* singular geometry (CW transfer time at a multiple of the orbit period, ...) */
#define GNC_ERANGE 4     /* a table or count beyond the config limits */
#define GNC_EUNSAFE 5    /* a keep-out prediction found a violation (outputs are still filled) */

/* Buffer sizes, in floats. */
#define GNC_MEKF_SIZE 43        /* q[4] | bias[3] | P[36] (6x6 row-major: dtheta[3], dbias[3]) */
#define GNC_BDOT_SIZE 4         /* previous B[3] | valid flag (0.0 or 1.0) */
#define GNC_BODY_SIZE 10        /* q[4] | w[3] | h_wheels[3]: rigid body with three wheels */
#define GNC_CW_SIZE 6           /* [x, y, z, vx, vy, vz] */
#define GNC_POSE_SIZE 3         /* rover [x, y, psi]; psi from +x toward +y (east of north is NOT used) */
#define GNC_ROVER_NAV_SIZE 5    /* [x, y, psi, gyro_bias, psi_variance] */
#define GNC_DRILL_SIZE 4        /* [depth m, mode, cycles in mode, last fault] */
/* GNC_INSPECTOR_SIZE: GNC_MEKF_SIZE | GNC_BDOT_SIZE | h_cmd[3] | cw[6] | mode | step counter | spare[8]
 * (cw and spare[0..7]: the keep-out sweep, see gnc_inspector_step) */
#define GNC_INSPECTOR_SIZE 66
#define GNC_ROVER_STEP_SIZE 14  /* nav[5] | soc | drill[4] | target index | mode | spare[2] */

/* ---- Quaternion algebra and attitude propagation (quat.c) ------------------------ */
gnc_status gnc_quat_mul(const float *a, const float *b, float *out);          /* out = a x b (out may alias) */
gnc_status gnc_quat_conj(const float *q, float *out);                          /* q* */
gnc_status gnc_quat_normalize(float *q);                                       /* EINVAL for a zero quaternion */
gnc_status gnc_quat_rotate(const float *q, const float *v, float *out);        /* out = R(q) v (active) */
gnc_status gnc_quat_rotate_inv(const float *q, const float *v, float *out);    /* out = R(q)^T v (inertial -> body) */
gnc_status gnc_quat_to_dcm(const float *q, float *r9);                         /* R(q), row-major */
gnc_status gnc_dcm_to_quat(const float *r9, float *q);                         /* Shepperd; q0 >= 0 */
gnc_status gnc_quat_from_axis_angle(const float *axis, float angle, float *q); /* axis need not be unit; EINVAL if zero */
gnc_status gnc_quat_error(const float *q_ref, const float *q, float *dq);      /* dq = q_ref* x q, dq0 >= 0 */
gnc_status gnc_quat_angle(const float *a, const float *b, float *angle);       /* rotation angle between, 0..pi */
/* q <- q x exp(w dt / 2): exact for constant body rate w over dt; renormalised. */
gnc_status gnc_attitude_propagate(float *q, const float *w, float dt);

/* ---- MEKF (mekf.c): error state [dtheta(3), dbias(3)], right-multiplicative ------ */
/* Markley & Crassidis, Fundamentals of Spacecraft Attitude Determination and Control, 6.2.
 * Truth model: w_meas = w + bias + arw noise (sigma_v, rad/s/sqrt(Hz)), bias_dot = rrw noise
 * (sigma_u, rad/s^2/sqrt(Hz)). */
gnc_status gnc_mekf_init(float *s, const float *q0, const float *bias0, float sigma_att, float sigma_bias);
/* Propagate over dt with the gyro reading; uses the sparse transition
 * Phi = [[I - [w x] dt, -I dt], [0, I]] and Q from sigma_v, sigma_u; keeps P symmetric. */
gnc_status gnc_mekf_propagate(float *s, const float *w_meas, float dt, float sigma_v, float sigma_u);
/* A unit-vector observation: v_ref (inertial, unit), v_meas (body, unit), isotropic sigma (rad).
 * Three sequential scalar updates, then the reset. */
gnc_status gnc_mekf_update_vector(float *s, const float *v_ref, const float *v_meas, float sigma);
/* A star-tracker attitude q_meas (body from inertial), sigma per axis (rad): three scalar updates. */
gnc_status gnc_mekf_update_quat(float *s, const float *q_meas, float sigma);
/* Normalised estimation error squared of the attitude and bias against the truth
 * (for consistency checks): nees = e^T P^-1 e with e = [2 vec(q_est* x q_true), bias_true - bias_est]. */
gnc_status gnc_mekf_nees(const float *s, const float *q_true, const float *bias_true, float *nees);
/* Degraded mode: Mahony complementary filter. q and bias updated in place from the gyro and
 * up to two vector pairs (count 0..2; v_ref/v_meas hold count*3 floats). */
gnc_status gnc_mahony_update(float *q, float *bias, const float *w_meas, const float *v_ref, const float *v_meas,
                             int count, float kp, float ki, float dt);

/* ---- Control (control.c) -------------------------------------------------------- */
/* Quaternion-feedback PD (Wie): tau = -kp sign(dq0) dq_v - kd (w - w_ref) + w x (J w + h).
 * J: 9 floats (row-major inertia). limits: [tau_max (per axis, N m), h_max (per axis, N m s)].
 * The command is clipped per axis to tau_max, and to zero on an axis whose wheel momentum
 * is at h_max and would grow further. tau_cmd is the torque on the body (wheels get -tau). */
gnc_status gnc_pd_control(const float *q, const float *w, const float *q_ref, const float *w_ref, const float *J,
                          const float *h_wheels, float kp, float kd, const float *limits, float *tau_cmd);
/* Momentum dumping: m = k (h_err x B) / |B|^2 with h_err = h_wheels (target zero), so the
 * magnetic torque m x B = -k h_err (the part across B) unloads the wheels (k >= 0); each axis
 * saturated to m_max keeping the direction (scaled). EINVAL when |B| is zero. */
gnc_status gnc_dump_dipole(const float *b, const float *h_wheels, float k, float m_max, float *m);
/* B-dot with a finite-difference field rate: m = -k dB/dt, each axis saturated to m_max.
 * s: GNC_BDOT_SIZE. The first call after init (valid flag 0) stores B and commands zero.
 * Duty cycle: the caller measures while torquers are off; dt is between two measurements. */
gnc_status gnc_bdot_init(float *s);
gnc_status gnc_bdot(float *s, const float *b, float dt, float k, float m_max, float *m);
/* Target pointing: q_ref that puts body axis `boresight` (unit, body) on the direction `r_rel`
 * (target position relative to us, inertial), rotating about the smallest angle from q_now. */
gnc_status gnc_point_to(const float *q_now, const float *boresight, const float *r_rel, float *q_ref);

/* ---- Relative guidance (cw.c): Clohessy-Wiltshire / Hill ---------------------------- */
gnc_status gnc_cw_stm(float n, float t, float *phi36);                            /* 6x6 row-major */
gnc_status gnc_cw_propagate(const float *x, float n, float t, float *out);         /* out = Phi(t) x */
/* Two-impulse transfer from x0 to position r_f in time t: dv1 applied at t=0, dv2 at t
 * to arrive with velocity v_f. ESINGULAR when the position block of Phi is singular
 * (t near a multiple of the orbit period; guard |det| relative). Near a multiple of half
 * the period the cross-track block vanishes: no cross-track burn when the free motion
 * reaches r_f[2] there, else ESINGULAR. */
gnc_status gnc_cw_two_impulse(const float *x0, const float *r_f, const float *v_f, float n, float t, float *dv1,
                              float *dv2);
/* Drift-free safety ellipse: radial amplitude a (m) -> along-track 2a; cross-track amplitude c
 * phased by `phase` (rad) from the radial motion so radial and cross-track never vanish
 * together; y_c is the ellipse centre along-track. Writes the state at phase angle 0. */
gnc_status gnc_safety_ellipse(float n, float a, float c, float phase, float y_c, float *x);
/* Keep-out check on the predicted free-drift path over `horizon` s sampled every dt s:
 * min_range gets the minimum range; GNC_EUNSAFE when it falls below radius. */
gnc_status gnc_keepout_check(const float *x, float n, float horizon, float dt, float radius, float *min_range);
/* Abort burn: the delta-v (dv, 3) that puts x on a drift-free orbit (vy = -2 n x) with an e/i
 * separation (D'Amico 2006): with A = 1.5 radius and p0 = (x, z) the current radial and
 * cross-track offsets,
 *  - |p0| >= A: radial and cross-track oscillations in quadrature (parallel e/i vectors), both
 *    amplitudes >= A, centre of the path along-track on y's side and at least as far out (w y <= 0),
 *    the least |dv| such orbit: |(x, z)| >= A at all times, so no along-track drift (burn or
 *    navigation error) brings it inside `radius`. Returns GNC_OK.
 *  - |p0| < A (near the V-bar): no single burn reaches that separation (the drift-free path
 *    returns to p0 every orbit); the burn gives the largest one, |p0|, with the other semi-axis
 *    of the (x, z) ellipse >= A, and the path is checked over one orbit (CW); if it comes inside
 *    `radius`, radial burns sending it away along-track are tried. GNC_EUNSAFE (dv still
 *    written, the best path found) when no candidate clears `radius` over one orbit, e.g. when
 *    already inside it. Only in this case is the path not safe against along-track drift. */
gnc_status gnc_abort_burn(const float *x, float n, float radius, float *dv);

/* ---- Rover (rover.c) ------------------------------------------------------------- */
/* Pure pursuit (Coulter): path is n_points (x, y) pairs (2 * n_points floats, n_points <=
 * GNC_MAX_PATH_POINTS else ERANGE); *index is the segment being followed (in/out).
 * limits: [v_max, omega_max, lookahead, slope_limit (rad), soc_reserve (0..1)].
 * cond: [slope_ahead (rad), soc (0..1)]. Output cmd: [v, omega]. Speed falls with curvature
 * and battery; at or beyond the slope limit, or at the reserve, v = 0 (stop, never past it).
 * *done becomes 1 within `lookahead / 4` of the last point. The goal search walks past at most
 * GNC_PURSUIT_WALK path points inside the lookahead circle per call (bounded cost on a dense
 * path): the goal is then the last point reached, and *index moves to the segment starting
 * there, so successive calls reach the full lookahead. */
gnc_status gnc_pure_pursuit(const float *pose, const float *path, int n_points, int *index, const float *limits,
                            const float *cond, float *cmd, int *done);
/* Dead reckoning: nav (GNC_ROVER_NAV_SIZE) <- wheel speeds (m/s) and gyro z (rad/s) over dt;
 * heading from the bias-corrected gyro, position from mean wheel speed; psi variance grows
 * with sigma_gyro^2 dt. */
gnc_status gnc_rover_odometry(float *nav, float v_left, float v_right, float gyro_z, float dt, float sigma_gyro);
/* Sun / star azimuth fix: measured heading psi_meas (rad) with variance var_meas; a scalar
 * Kalman update of psi, and of the gyro bias through the elapsed time since the last fix. */
gnc_status gnc_rover_heading_fix(float *nav, float psi_meas, float var_meas, float elapsed);
/* Power: vertical panels get area * eff * flux * cos(elevation) * max(0, cos(azimuth offset)),
 * sun-blocked when elevation < horizon. p: [panel_area, efficiency, solar_flux, capacity_J,
 * heater_W, base_load_W]. *soc in 0..1 integrates (generation - load - heater_on*heater_W) dt. */
gnc_status gnc_power_step(float *soc, float sun_elev, float sun_az_offset, float horizon, float load_w,
                          int heater_on, const float *p, float dt, float *net_w);
/* Drill: s (GNC_DRILL_SIZE); meas [torque, current, temperature]; limits [torque_max,
 * current_max, temp_max, target_depth, feed_rate (m/s)]; out cmd [feed (m/s, <0 retract), spin (0/1)].
 * Modes: 0 idle, 1 drilling, 2 retracting, 3 done. A stall (torque or current past its limit)
 * or over-temperature switches to retracting in the same call. */
gnc_status gnc_drill_step(float *s, const float *meas, const float *limits, float dt, float *cmd);

/* ---- Plant propagators for the emulated hardware (plant.c) ---------------------- */
/* Rigid body with three reaction wheels, RK4 with `substeps` sub-steps over dt:
 * x (GNC_BODY_SIZE); J 9 floats; tau_wheel_cmd: torque on the body from the wheels
 * (wheel momentum changes by -tau); tau_ext: external torque (body axes). */
gnc_status gnc_body_step(float *x, const float *J, const float *tau_wheel_cmd, const float *tau_ext, float dt,
                         int substeps);
/* CW relative motion with a constant acceleration (LVLH) over dt, RK4 sub-stepped. */
gnc_status gnc_cw_step(float *x, float n, const float *accel, float dt, int substeps);
/* Rover kinematics: pose <- unicycle motion with v, omega over dt (exact arc). */
gnc_status gnc_rover_kinematics(float *pose, float v, float omega, float dt);

/* ---- Composite steps (steps.c): what one control cycle costs ------------------------ */
/* Inspector ADCS + GNC, 10 Hz. s: GNC_INSPECTOR_SIZE. in (GNC_INSPECTOR_IN floats):
 * [gyro 3 | sun_ref 3 | sun_meas 3 | mag_ref 3 | mag_meas 3 | b_field 3 | q_star 4 | star_valid |
 *  q_ref 4 | w_ref 3 | h_wheels 3 | rel_state 6 | dt]. prm (GNC_INSPECTOR_PRM): [J 9 | kp | kd |
 *  tau_max | h_max | k_dump | m_max | sigma_v | sigma_u | sigma_sun | sigma_mag | sigma_star | n |
 *  keepout_radius | horizon | horizon_dt]. out (GNC_INSPECTOR_OUT): [tau 3 | m 3 | q_est 4 |
 *  min_range | unsafe flag | abort dv 3].
 * Schedule (what keeps the step within its 150k-instruction Cortex-M0 budget, ARCHITECTURE.md;
 * docs/benchmarks.md has the measured counts):
 *  - MEKF: propagation with the gyro every cycle, then at most ONE measurement update per cycle,
 *    round-robin on the step counter: counter mod 3 = 0 star tracker, 1 sun, 2 magnetometer; an
 *    unavailable sensor (star_valid <= 0.5, a zero sun or magnetometer vector) passes its turn to
 *    the next available one. No update in a keep-out sweep's decision cycle (below): 9 updates
 *    in every 10 cycles, so with all three available each updates at >= 3 Hz, above the
 *    star tracker's own 1-10 Hz and ample for the slowly varying sun and field directions; in
 *    eclipse without a star fix the magnetometer updates in 9 cycles of 10. The step counter
 *    counts successful steps modulo 12582912 (3 * 2^22, exact in float32; 14.6 days at 10 Hz).
 *  - Keep-out: one prediction (gnc_keepout_check's samples: t_k = k horizon_dt up to horizon)
 *    is spread over a sweep of at most 10 cycles (one 1 Hz guidance cycle): at most 9 cycles of
 *    ceil(count / 9) samples each (count = ceil(horizon / horizon_dt) + 1; 301 -> 34 per cycle,
 *    9 cycles; fewer cycles only for a prediction of at most 64 samples), all from the relative
 *    state latched in cw[6] at the sweep's first cycle, then one DECISION cycle: no samples and
 *    no MEKF measurement update (propagation, PD and dump as always). min_range (out) is the
 *    minimum of the last completed sweep (0 until the first ends); the decision cycle declares
 *    it, and when it is below keepout_radius that same cycle sets the unsafe flag, computes the
 *    abort burn (gnc_abort_burn) from the current rel_state and returns GNC_EUNSAFE: a violation
 *    is reported at most 10 cycles (1 s, one guidance cycle) after the state it was predicted
 *    from, and the abort never shares a cycle with samples or a measurement update. Other
 *    cycles return GNC_OK with a zero flag and dv. A new sweep starts in the cycle after.
 *    The rotation from one part's first sample to the next's (sin, cos of u = n per horizon_dt)
 *    is kept with u; when it is missing or stale (a zero-filled spare, a changed n, horizon or
 *    horizon_dt, a damaged state) the cycle that would start a sweep is a SETUP cycle instead:
 *    it computes the rotation, takes no samples, and the sweep starts in the next cycle (so the
 *    first declaration after a start comes after 11 cycles); a sweep whose stored sin, cos are
 *    not unit pairs starts over. No sample cycle calls sinf/cosf.
 *    spare[0] next sample of the sweep (0: a new sweep starts; count: its decision cycle),
 *    [1] its running minimum squared range, [2] min_range of the last sweep, [3..4] sin, cos
 *    of n t at the next part's first sample, [5..6] sin, cos of the part rotation, [7] its u.
 *    EINVAL / ERANGE for the keep-out parameters as gnc_keepout_check, checked every cycle. */
#define GNC_INSPECTOR_IN 40
#define GNC_INSPECTOR_PRM 24
#define GNC_INSPECTOR_OUT 15
gnc_status gnc_inspector_step(float *s, const float *in, const float *prm, float *out);
/* Rover, 10 Hz. s: GNC_ROVER_STEP_SIZE. in (GNC_ROVER_IN): [v_left | v_right | gyro_z | sun_fix_valid |
 * psi_sun | sun_elev | sun_az_offset | slope_ahead | drill meas 3 | drilling flag | dt].
 * prm (GNC_ROVER_PRM): [limits 5 | sigma_gyro | var_sun | power p 6 | horizon | load_w | drill limits 5].
 * path / n_points as gnc_pure_pursuit. out (GNC_ROVER_OUT): [v | omega | done | net_w | feed | spin].
 * Order: odometry, power, pure pursuit (on the odometry heading), the sun heading fix when
 * sun_fix_valid (it steers from the next cycle), drill. */
#define GNC_ROVER_IN 13
#define GNC_ROVER_PRM 20
#define GNC_ROVER_OUT 6
gnc_status gnc_rover_step(float *s, const float *in, const float *prm, const float *path, int n_points,
                          float *out);

/* ---- Simulation loops (sim.c): whole host-side runs kept in C (Monte Carlo) --------- */
/* D1 B-dot detumbling, n_steps control periods of dt s. Each step: the field b_inertial[3i..3i+2]
 * (inertial axes, T; one value per step from the caller's table) is rotated into the body with
 * the plant's true attitude x[0..3] and fed to gnc_bdot (state bdot_s, gain k, per-axis m_max);
 * the dipole m is held over the step while the torque m x B (B re-rotated with the current
 * attitude at each of `substeps` sub-intervals) drives the rigid body through gnc_body_step
 * (no wheel torque); rate_out[i] = |w| (rad/s) at the end of step i. x (GNC_BODY_SIZE) and
 * bdot_s (GNC_BDOT_SIZE) are updated in place when the whole run succeeded. */
gnc_status gnc_detumble_run(float *x, const float *J, float *bdot_s, const float *b_inertial, int n_steps, float dt,
                            float k, float m_max, int substeps, float *rate_out);

#endif
