/* mitra GNC core: rover path following, dead reckoning, heading fixes, power and drill
 * (gnc.h "Rover"; GNC.md "Rover").
 *
 * Sources:
 *  - Pure pursuit: R. C. Coulter, "Implementation of the Pure Pursuit Path Tracking
 *    Algorithm", CMU-RI-TR-92-01, 1992, sec. 2 (goal point at the lookahead distance l,
 *    curvature 2 x / l^2 = 2 sin(alpha) / l) and sec. 3.2 (goal point search along the path).
 *  - Speed regulation by curvature: S. Macenski et al., "Regulated Pure Pursuit for Robot Path
 *    Tracking", Autonomous Robots 47, 2023, sec. 3 (scale the speed down with curvature).
 *  - Odometry: R. Siegwart, I. Nourbakhsh, D. Scaramuzza, "Introduction to Autonomous Mobile
 *    Robots", 2nd ed., MIT Press 2011, sec. 5.2.4 (position update along the mean heading),
 *    with the exact chord of a constant-rate arc, 2 v sin(w dt / 2) / w.
 *  - Heading fix: scalar Kalman measurement update, D. Simon, "Optimal State Estimation",
 *    Wiley 2006, sec. 5.1 (K = P / (P + R), P+ = (1 - K) P).
 *  - Drill: a finite state machine with limit checks every control cycle.
 *
 * Angles are wrapped to (-pi, pi]. No double, no globals, no malloc.
 */
#include <math.h>
#include <stddef.h>

#include "gnc.h"
#include "gnc_finite.h"
#include "gnc_rover.h"
#include "gnc_vec.h"

#define ROVER_PI 3.14159265358979f
#define ROVER_TWO_PI 6.28318530717959f
#define ROVER_HALF_PI 1.57079632679490f

/* Battery speed regulation: full speed from soc_reserve + SOC_BAND up, linear to 0 at the reserve. */
#define SOC_BAND 0.2f
/* The gyro bias is learnt only from fixes at least this far apart (s): the innovation of a fix
 * read as a rate (innovation / elapsed) is too noisy over a shorter baseline. */
#define BIAS_MIN_ELAPSED 60.0f
/* Fraction of the heading gain K applied to the bias: bias -= BIAS_GAIN K nu / elapsed. */
#define BIAS_GAIN 0.25f

/* Drill modes and faults (s[1], s[3]). */
#define DRILL_IDLE 0
#define DRILL_DRILLING 1
#define DRILL_RETRACTING 2
#define DRILL_DONE 3
#define FAULT_NONE 0.0f
#define FAULT_TORQUE 1.0f
#define FAULT_CURRENT 2.0f
#define FAULT_TEMPERATURE 3.0f

/* a wrapped to (-pi, pi]. fmodf only when |a| >= 2 pi (it returns a itself below that,
 * and it is a long integer loop on small MCUs). */
static float wrap_pi(float a)
{
    if (!(fabsf(a) < ROVER_TWO_PI)) {
        a = fmodf(a, ROVER_TWO_PI);
    }
    if (a > ROVER_PI) {
        a -= ROVER_TWO_PI;
    } else if (a <= -ROVER_PI) {
        a += ROVER_TWO_PI;
    }
    return a;
}

/* sin(h) / h: its Taylor series, nested, for |h| < 0.25 (truncation below 1e-10 relative:
 * the rover turns far less than that in one step, and sinf costs thousands of instructions on
 * a soft-float MCU), else sinf. */
static float sinc(float h)
{
    float h2 = h * h;
    if (fabsf(h) < 0.25f) {
        return 1.0f - h2 * (1.0f / 6.0f) * (1.0f - h2 * (1.0f / 20.0f) * (1.0f - h2 * (1.0f / 42.0f)));
    }
    return sinf(h) / h;
}

static float clampf(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* Goal point search (Coulter sec. 3.2): from the rover's closest point on segment `i`, walk
 * forward along the path to the first point where it leaves the lookahead circle. If the path
 * ends inside the circle the goal is the last point; if the rover is farther than the lookahead
 * from segment i, the goal is its closest point moved one lookahead along the segment.
 * At most GNC_PURSUIT_WALK path points are walked past per call (a dense path would otherwise
 * cost ~350 instructions per point on a Cortex-M0, 64 points ~22k: over the rover step's
 * budget): when the walk stops inside the circle, the goal is the last point reached and the
 * returned segment starts there, so the next call walks on from it (at 10 Hz the goal moves
 * 40 points a second, far ahead of a rover at 0.2 m/s on points 1 cm apart).
 * Returns the segment of the goal point (>= i). */
static int goal_point(const float *path, int n_points, int i, float px, float py, float look, float *gx, float *gy)
{
    float ax = path[2 * i], ay = path[2 * i + 1];
    float dx = path[2 * i + 2] - ax, dy = path[2 * i + 3] - ay;
    float len2 = dx * dx + dy * dy;
    float t0 = 0.0f, cx, cy;
    float look2 = look * look;
    int j;

    if (len2 > 0.0f) {
        t0 = clampf(((px - ax) * dx + (py - ay) * dy) / len2, 0.0f, 1.0f);
    }
    cx = ax + t0 * dx - px;
    cy = ay + t0 * dy - py;
    if (cx * cx + cy * cy > look2) {
        float t = len2 > 0.0f ? gnc_minf(1.0f, t0 + look / sqrtf(len2)) : 1.0f;
        *gx = ax + t * dx;
        *gy = ay + t * dy;
        return i;
    }
    for (j = i;; j++) {
        float bx = path[2 * j + 2], by = path[2 * j + 3];
        float ex = bx - px, ey = by - py;
        if (ex * ex + ey * ey > look2) {
            /* |A + t d - p|^2 = l^2: the larger root, written without cancellation. */
            float fx, fy, a, b, c, disc, t;
            ax = path[2 * j];
            ay = path[2 * j + 1];
            dx = bx - ax;
            dy = by - ay;
            fx = ax - px;
            fy = ay - py;
            a = dx * dx + dy * dy;
            b = 2.0f * (fx * dx + fy * dy);
            c = fx * fx + fy * fy - look2;
            disc = sqrtf(gnc_maxf(b * b - 4.0f * a * c, 0.0f));
            t = b > 0.0f ? -2.0f * c / (b + disc) : (disc - b) / (2.0f * a);
            t = clampf(t, j == i ? t0 : 0.0f, 1.0f);
            *gx = ax + t * dx;
            *gy = ay + t * dy;
            return j;
        }
        if (j == n_points - 2) {
            *gx = bx;
            *gy = by;
            return j;
        }
        if (j - i + 1 >= GNC_PURSUIT_WALK) { /* bounded work: resume from this point next call */
            *gx = bx;
            *gy = by;
            return j + 1;
        }
    }
}

/* Pure pursuit with regulated speed. Speed factors: slope (full up to half the limit, linear to
 * 0 at it), battery (full from reserve + SOC_BAND, linear to 0 at the reserve), curvature
 * (1 / (1 + lookahead |kappa|)), then capped so |omega| <= omega_max. At or beyond the slope
 * limit (|slope_ahead|, up or down), at or below the reserve, and once done: v = omega = 0 (no turn in place
 * either: the simple safe stop). A goal point abeam or behind the rover: turn in place toward
 * it at omega_max (v = 0). */
gnc_status gnc_pure_pursuit(const float *pose, const float *path, int n_points, int *index, const float *limits,
                            const float *cond, float *cmd, int *done)
{
    float cs, sn;
    if (pose == NULL) {
        return GNC_EINVAL;
    }
    gnc_sincosf(pose[2], &sn, &cs);
    return gnc_pure_pursuit_cs(pose, path, n_points, index, limits, cond, cs, sn, 0, cmd, done);
}

gnc_status gnc_pure_pursuit_cs(const float *pose, const float *path, int n_points, int *index, const float *limits,
                               const float *cond, float cs, float sn, int path_checked, float *cmd, int *done)
{
    float v_max, omega_max, look, slope_limit, reserve, slope, soc;
    float gx, gy, dx, dy, xr, yr, d2, kappa, f_slope, f_soc, v, omega, lx, ly;
    int seg, is_done;

    if (pose == NULL || path == NULL || index == NULL || limits == NULL || cond == NULL || cmd == NULL ||
        done == NULL) {
        return GNC_EINVAL;
    }
    if (n_points > GNC_MAX_PATH_POINTS) {
        return GNC_ERANGE;
    }
    if (n_points < 2 || *index < 0 || *index > n_points - 2) {
        return GNC_EINVAL;
    }
    if (!gnc_finite_n(pose, GNC_POSE_SIZE) || (!path_checked && !gnc_finite_n(path, 2 * n_points)) ||
        !gnc_finite_n(limits, 5) || !gnc_finite_n(cond, 2)) {
        return GNC_ENAN;
    }
    v_max = limits[0];
    omega_max = limits[1];
    look = limits[2];
    slope_limit = limits[3];
    reserve = limits[4];
    slope = fabsf(cond[0]);
    soc = cond[1];
    if (v_max < 0.0f || omega_max < 0.0f || look <= 0.0f || slope_limit <= 0.0f || slope_limit > ROVER_HALF_PI ||
        reserve < 0.0f || reserve > 1.0f || soc < 0.0f || soc > 1.0f) {
        return GNC_EINVAL;
    }

    seg = goal_point(path, n_points, *index, pose[0], pose[1], look, &gx, &gy);
    lx = path[2 * n_points - 2] - pose[0];
    ly = path[2 * n_points - 1] - pose[1];
    is_done = seg == n_points - 2 && lx * lx + ly * ly <= 0.0625f * look * look;

    /* Goal point in the rover frame (x forward, y left); Coulter eq. 1-2: kappa = 2 y / l^2. */
    dx = gx - pose[0];
    dy = gy - pose[1];
    xr = cs * dx + sn * dy;
    yr = -sn * dx + cs * dy;
    d2 = dx * dx + dy * dy;
    kappa = d2 > 0.0f ? 2.0f * yr / d2 : 0.0f;

    /* full speed up to half the limit without the division (2 (1 - slope / limit) >= 1 there) */
    f_slope = slope >= slope_limit ? 0.0f
              : slope <= 0.5f * slope_limit ? 1.0f : gnc_minf(1.0f, 2.0f * (1.0f - slope / slope_limit));
    f_soc = soc <= reserve ? 0.0f : gnc_minf(1.0f, (soc - reserve) * (1.0f / SOC_BAND));

    if (is_done || f_slope <= 0.0f || f_soc <= 0.0f) {
        v = 0.0f;
        omega = 0.0f;
    } else if (xr <= 0.0f) {
        v = 0.0f;
        omega = yr >= 0.0f ? omega_max : -omega_max;
    } else {
        v = v_max * f_slope * f_soc / (1.0f + look * fabsf(kappa));
        if (v * fabsf(kappa) > omega_max) {
            v = omega_max / fabsf(kappa);
        }
        omega = v * kappa;
    }
    cmd[0] = v;
    cmd[1] = omega;
    *index = seg;
    *done = is_done;
    return GNC_OK;
}

gnc_status gnc_rover_odometry(float *nav, float v_left, float v_right, float gyro_z, float dt, float sigma_gyro)
{
    float cs_sn[2];
    return gnc_rover_odometry_cs(nav, v_left, v_right, gyro_z, dt, sigma_gyro, cs_sn);
}

gnc_status gnc_rover_odometry_cs(float *nav, float v_left, float v_right, float gyro_z, float dt, float sigma_gyro,
                                 float *cs_sn)
{
    float w, v, half, sc, chord, c, s, h2, ch, sh;

    if (nav == NULL) {
        return GNC_EINVAL;
    }
    if (!gnc_finite_n(nav, GNC_ROVER_NAV_SIZE) || !gnc_finitef(v_left) || !gnc_finitef(v_right) ||
        !gnc_finitef(gyro_z) || !gnc_finitef(dt) || !gnc_finitef(sigma_gyro)) {
        return GNC_ENAN;
    }
    if (dt < 0.0f || sigma_gyro < 0.0f || nav[4] < 0.0f) {
        return GNC_EINVAL;
    }
    w = gyro_z - nav[3];
    v = 0.5f * (v_left + v_right);
    half = 0.5f * w * dt;
    sc = sinc(half);
    chord = v * dt * sc;
    gnc_sincosf(nav[2] + half, &s, &c); /* the mean heading over the step */
    nav[0] += chord * c;
    nav[1] += chord * s;
    nav[2] = wrap_pi(nav[2] + w * dt);
    nav[4] += sigma_gyro * sigma_gyro * dt;
    /* cos, sin of the new heading (mid-step heading + half): the pair rotated by half, with
     * sin(half) = half sinc(half) (sinc as above) and cos(half) by its Taylor series (|half| <
     * 0.25: truncation below 4e-10). */
    if (fabsf(half) < 0.25f) {
        h2 = half * half;
        sh = half * sc;
        ch = 1.0f - h2 * 0.5f * (1.0f - h2 * (1.0f / 12.0f) * (1.0f - h2 * (1.0f / 30.0f)));
    } else {
        gnc_sincosf(half, &sh, &ch);
    }
    cs_sn[0] = c * ch - s * sh;
    cs_sn[1] = s * ch + c * sh;
    return GNC_OK;
}

/* Scalar Kalman update of psi with the wrapped innovation nu = psi_meas - psi: K = P / (P + R).
 * Bias model (nav keeps no bias covariance): the heading error built up since the last fix is
 * read as a bias error, (b_est - b_true) = -nu / elapsed, and corrected with a quarter of the heading
 * gain, bias -= BIAS_GAIN K nu / elapsed, only when elapsed >= BIAS_MIN_ELAPSED (60 s). With the
 * errors (p, u = bias error * elapsed) the fix-to-fix map has determinant 1 - K and trace
 * 2 - K (1 + BIAS_GAIN): it converges for 0 < K < 1 and 0 < BIAS_GAIN < 2. The quarter keeps one
 * fix's noise from being taken as a rate (with the full K the residual error doubled in the R2
 * scenario, tests/gnc/test_rover.py). */
gnc_status gnc_rover_heading_fix(float *nav, float psi_meas, float var_meas, float elapsed)
{
    float p, k, nu;

    if (nav == NULL) {
        return GNC_EINVAL;
    }
    if (!gnc_finite_n(nav, GNC_ROVER_NAV_SIZE) || !gnc_finitef(psi_meas) || !gnc_finitef(var_meas) ||
        !gnc_finitef(elapsed)) {
        return GNC_ENAN;
    }
    if (var_meas <= 0.0f || elapsed < 0.0f || nav[4] < 0.0f) {
        return GNC_EINVAL;
    }
    p = nav[4];
    k = p / (p + var_meas);
    nu = wrap_pi(psi_meas - nav[2]);
    nav[2] = wrap_pi(nav[2] + k * nu);
    nav[4] = k * var_meas; /* P R / (P + R), one division fewer */
    if (elapsed >= BIAS_MIN_ELAPSED) {
        nav[3] -= BIAS_GAIN * k * nu / elapsed;
    }
    return GNC_OK;
}

/* Generation of one vertical panel facing sun_az_offset away from the Sun: flux on the panel
 * normal (horizontal) is cos(elevation) cos(azimuth offset); zero behind the panel and below the
 * local horizon. net = generation - base_load - load_w - heater_on heater_W; soc += net dt / capacity,
 * clamped to [0, 1]. net_w is the unclamped power balance. */
gnc_status gnc_power_step(float *soc, float sun_elev, float sun_az_offset, float horizon, float load_w,
                          int heater_on, const float *p, float dt, float *net_w)
{
    float gen = 0.0f, net;

    if (soc == NULL || p == NULL || net_w == NULL) {
        return GNC_EINVAL;
    }
    if (!gnc_finitef(*soc) || !gnc_finitef(sun_elev) || !gnc_finitef(sun_az_offset) || !gnc_finitef(horizon) ||
        !gnc_finitef(load_w) || !gnc_finitef(dt) || !gnc_finite_n(p, 6)) {
        return GNC_ENAN;
    }
    if (*soc < 0.0f || *soc > 1.0f || fabsf(sun_elev) > ROVER_HALF_PI || fabsf(horizon) > ROVER_HALF_PI ||
        load_w < 0.0f || (heater_on != 0 && heater_on != 1) || dt < 0.0f || p[0] < 0.0f || p[1] < 0.0f ||
        p[1] > 1.0f || p[2] < 0.0f || p[3] <= 0.0f || p[4] < 0.0f || p[5] < 0.0f) {
        return GNC_EINVAL;
    }
    if (sun_elev >= horizon) {
        float c_az = gnc_cosf(sun_az_offset);
        if (c_az > 0.0f) { /* facing away from the Sun: no power, no second cosine */
            gen = p[0] * p[1] * p[2] * gnc_cosf(sun_elev) * c_az;
        }
    }
    net = gen - p[5] - load_w - (heater_on ? p[4] : 0.0f);
    *soc = clampf(*soc + net * dt / p[3], 0.0f, 1.0f);
    *net_w = net;
    return GNC_OK;
}

/* Drill state machine, one transition per call. s = [depth, mode, cycles in mode, last fault].
 *  idle (0), done (3): cmd [0, 0]. Start (or re-command after a fault) by writing mode 1.
 *  drilling (1): a stall (torque > torque_max: fault 1; current > current_max: fault 2) or
 *    over-temperature (temperature > temp_max: fault 3) switches to retracting in the same call:
 *    cmd [-feed_rate, 0] and the depth already moves up. Otherwise cmd [feed_rate, 1] and the
 *    depth integrates feed_rate dt, clipped at the target; at the target the fault is cleared
 *    (nominal run) and the mode becomes retracting.
 *  retracting (2): at depth 0 the mode becomes done (no fault) or idle (after a fault, so no
 *    drilling until re-commanded) with cmd [0, 0]; otherwise cmd [-feed_rate, 0] (spin off) and
 *    the depth decreases, clipped at 0.
 * cycles counts the calls that stayed in the mode (0 after a change). */
gnc_status gnc_drill_step(float *s, const float *meas, const float *limits, float dt, float *cmd)
{
    float depth, feed, target, fault;
    int mode, next;

    if (s == NULL || meas == NULL || limits == NULL || cmd == NULL) {
        return GNC_EINVAL;
    }
    if (!gnc_finite_n(s, GNC_DRILL_SIZE) || !gnc_finite_n(meas, 3) || !gnc_finite_n(limits, 5) || !gnc_finitef(dt)) {
        return GNC_ENAN;
    }
    if (s[1] < 0.0f || s[1] > (float)DRILL_DONE) {
        return GNC_EINVAL;
    }
    mode = (int)s[1];
    if (s[0] < 0.0f || (float)mode != s[1] || s[2] < 0.0f ||
        limits[0] <= 0.0f || limits[1] <= 0.0f || limits[3] <= 0.0f || limits[4] <= 0.0f || dt < 0.0f) {
        return GNC_EINVAL;
    }
    depth = s[0];
    fault = s[3];
    target = limits[3];
    feed = limits[4];
    next = mode;
    cmd[0] = 0.0f;
    cmd[1] = 0.0f;

    if (mode == DRILL_DRILLING) {
        float new_fault = FAULT_NONE;
        if (meas[0] > limits[0]) {
            new_fault = FAULT_TORQUE;
        } else if (meas[1] > limits[1]) {
            new_fault = FAULT_CURRENT;
        } else if (meas[2] > limits[2]) {
            new_fault = FAULT_TEMPERATURE;
        }
        if (new_fault != FAULT_NONE) {
            fault = new_fault;
            next = DRILL_RETRACTING;
            cmd[0] = -feed;
            depth = gnc_maxf(0.0f, depth - feed * dt);
        } else {
            cmd[0] = feed;
            cmd[1] = 1.0f;
            depth = gnc_minf(target, depth + feed * dt);
            if (depth >= target) {
                fault = FAULT_NONE;
                next = DRILL_RETRACTING;
            }
        }
    } else if (mode == DRILL_RETRACTING) {
        if (depth <= 0.0f) {
            next = fault == FAULT_NONE ? DRILL_DONE : DRILL_IDLE;
        } else {
            cmd[0] = -feed;
            depth = gnc_maxf(0.0f, depth - feed * dt);
        }
    }
    s[0] = depth;
    s[2] = next == mode ? s[2] + 1.0f : 0.0f;
    s[1] = (float)next;
    s[3] = fault;
    return GNC_OK;
}
