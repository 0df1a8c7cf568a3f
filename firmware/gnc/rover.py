# Rover GNC, pure MicroPython fallback of native/src/rover.c (gnc.h "Rover"): same names
# without the gnc_ prefix, same arguments and buffers; scalar outputs are returned, status
# codes raise GncError. Sources and the behaviour of each function: see rover.c.
import math

from micropython import const

from gnc.errors import EINVAL, ENAN, ERANGE, GncError

_MAX_PATH_POINTS = const(64)  # GNC_MAX_PATH_POINTS
_PURSUIT_WALK = const(4)  # GNC_PURSUIT_WALK: path points walked past per call (rover.c goal_point)
_PI = math.pi
_TWO_PI = 2.0 * math.pi
_HALF_PI = 0.5 * math.pi
_SOC_BAND = 0.2  # full speed from soc_reserve + _SOC_BAND up
_BIAS_MIN_ELAPSED = 60.0  # s: the bias is learnt only from fixes this far apart
_BIAS_GAIN = 0.25  # bias -= _BIAS_GAIN K nu / elapsed

_IDLE = const(0)
_DRILLING = const(1)
_RETRACTING = const(2)
_DONE = const(3)

_isfinite = math.isfinite


def _finite(v, n):
    for i in range(n):
        if not _isfinite(v[i]):
            return False
    return True


def _wrap(a):
    # a wrapped to (-pi, pi]
    a = math.fmod(a, _TWO_PI)
    if a > _PI:
        a -= _TWO_PI
    elif a <= -_PI:
        a += _TWO_PI
    return a


def _clamp(x, lo, hi):
    return lo if x < lo else (hi if x > hi else x)


def _goal_point(path, n_points, i, px, py, look):
    # Coulter sec. 3.2: first exit of the path from the lookahead circle after the rover's
    # closest point on segment i -> (segment, gx, gy)
    ax = path[2 * i]
    ay = path[2 * i + 1]
    dx = path[2 * i + 2] - ax
    dy = path[2 * i + 3] - ay
    len2 = dx * dx + dy * dy
    t0 = 0.0
    if len2 > 0.0:
        t0 = _clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0)
    cx = ax + t0 * dx - px
    cy = ay + t0 * dy - py
    look2 = look * look
    if cx * cx + cy * cy > look2:
        t = min(1.0, t0 + look / math.sqrt(len2)) if len2 > 0.0 else 1.0
        return i, ax + t * dx, ay + t * dy
    j = i
    while True:
        bx = path[2 * j + 2]
        by = path[2 * j + 3]
        ex = bx - px
        ey = by - py
        if ex * ex + ey * ey > look2:
            ax = path[2 * j]
            ay = path[2 * j + 1]
            dx = bx - ax
            dy = by - ay
            fx = ax - px
            fy = ay - py
            a = dx * dx + dy * dy
            b = 2.0 * (fx * dx + fy * dy)
            c = fx * fx + fy * fy - look2
            disc = math.sqrt(max(b * b - 4.0 * a * c, 0.0))
            t = -2.0 * c / (b + disc) if b > 0.0 else (disc - b) / (2.0 * a)
            t = _clamp(t, t0 if j == i else 0.0, 1.0)
            return j, ax + t * dx, ay + t * dy
        if j == n_points - 2:
            return j, bx, by
        if j - i + 1 >= _PURSUIT_WALK:  # bounded work: the next call walks on from this point
            return j + 1, bx, by
        j += 1


def pure_pursuit(pose, path, n_points, index, limits, cond, cmd):
    # -> (index, done); cmd[0:2] = [v, omega]
    if n_points > _MAX_PATH_POINTS:
        raise GncError(ERANGE, "pure_pursuit: n_points above GNC_MAX_PATH_POINTS")
    if n_points < 2 or index < 0 or index > n_points - 2:
        raise GncError(EINVAL, "pure_pursuit: n_points below 2 or index outside the path")
    if not (_finite(pose, 3) and _finite(path, 2 * n_points) and _finite(limits, 5) and _finite(cond, 2)):
        raise GncError(ENAN, "pure_pursuit: NaN or infinite input")
    v_max = limits[0]
    omega_max = limits[1]
    look = limits[2]
    slope_limit = limits[3]
    reserve = limits[4]
    slope = abs(cond[0])
    soc = cond[1]
    if (
        v_max < 0.0
        or omega_max < 0.0
        or look <= 0.0
        or slope_limit <= 0.0
        or slope_limit > _HALF_PI
        or reserve < 0.0
        or reserve > 1.0
        or soc < 0.0
        or soc > 1.0
    ):
        raise GncError(EINVAL, "pure_pursuit: limits or conditions outside their domain")
    px = pose[0]
    py = pose[1]
    seg, gx, gy = _goal_point(path, n_points, index, px, py, look)
    lx = path[2 * n_points - 2] - px
    ly = path[2 * n_points - 1] - py
    done = 1 if (seg == n_points - 2 and lx * lx + ly * ly <= 0.0625 * look * look) else 0
    dx = gx - px
    dy = gy - py
    cs = math.cos(pose[2])
    sn = math.sin(pose[2])
    xr = cs * dx + sn * dy
    yr = -sn * dx + cs * dy
    d2 = dx * dx + dy * dy
    kappa = 2.0 * yr / d2 if d2 > 0.0 else 0.0
    f_slope = 0.0 if slope >= slope_limit else min(1.0, 2.0 * (1.0 - slope / slope_limit))
    f_soc = 0.0 if soc <= reserve else min(1.0, (soc - reserve) / _SOC_BAND)
    if done or f_slope <= 0.0 or f_soc <= 0.0:
        v = 0.0
        omega = 0.0
    elif xr <= 0.0:
        v = 0.0
        omega = omega_max if yr >= 0.0 else -omega_max
    else:
        ak = abs(kappa)
        v = v_max * f_slope * f_soc / (1.0 + look * ak)
        if v * ak > omega_max:
            v = omega_max / ak
        omega = v * kappa
    cmd[0] = v
    cmd[1] = omega
    return seg, done


def rover_odometry(nav, v_left, v_right, gyro_z, dt, sigma_gyro):
    if not (
        _finite(nav, 5)
        and _isfinite(v_left)
        and _isfinite(v_right)
        and _isfinite(gyro_z)
        and _isfinite(dt)
        and _isfinite(sigma_gyro)
    ):
        raise GncError(ENAN, "rover_odometry: NaN or infinite input")
    if dt < 0.0 or sigma_gyro < 0.0 or nav[4] < 0.0:
        raise GncError(EINVAL, "rover_odometry: negative dt, sigma_gyro or psi variance")
    w = gyro_z - nav[3]
    v = 0.5 * (v_left + v_right)
    half = 0.5 * w * dt
    chord = v * dt * math.sin(half) / half if abs(half) > 1e-4 else v * dt
    heading = nav[2] + half
    nav[0] += chord * math.cos(heading)
    nav[1] += chord * math.sin(heading)
    nav[2] = _wrap(nav[2] + w * dt)
    nav[4] += sigma_gyro * sigma_gyro * dt


def rover_heading_fix(nav, psi_meas, var_meas, elapsed):
    if not (_finite(nav, 5) and _isfinite(psi_meas) and _isfinite(var_meas) and _isfinite(elapsed)):
        raise GncError(ENAN, "rover_heading_fix: NaN or infinite input")
    if var_meas <= 0.0 or elapsed < 0.0 or nav[4] < 0.0:
        raise GncError(EINVAL, "rover_heading_fix: var_meas not positive, or negative elapsed or variance")
    p = nav[4]
    k = p / (p + var_meas)
    nu = _wrap(psi_meas - nav[2])
    nav[2] = _wrap(nav[2] + k * nu)
    nav[4] = p * var_meas / (p + var_meas)
    if elapsed >= _BIAS_MIN_ELAPSED:
        nav[3] -= _BIAS_GAIN * k * nu / elapsed


def power_step(soc, sun_elev, sun_az_offset, horizon, load_w, heater_on, p, dt):
    # -> (soc, net_w)
    if not (
        _isfinite(soc)
        and _isfinite(sun_elev)
        and _isfinite(sun_az_offset)
        and _isfinite(horizon)
        and _isfinite(load_w)
        and _isfinite(dt)
        and _finite(p, 6)
    ):
        raise GncError(ENAN, "power_step: NaN or infinite input")
    if (
        soc < 0.0
        or soc > 1.0
        or abs(sun_elev) > _HALF_PI
        or abs(horizon) > _HALF_PI
        or load_w < 0.0
        or (heater_on != 0 and heater_on != 1)
        or dt < 0.0
        or p[0] < 0.0
        or p[1] < 0.0
        or p[1] > 1.0
        or p[2] < 0.0
        or p[3] <= 0.0
        or p[4] < 0.0
        or p[5] < 0.0
    ):
        raise GncError(EINVAL, "power_step: argument outside its domain")
    gen = 0.0
    if sun_elev >= horizon:
        gen = p[0] * p[1] * p[2] * math.cos(sun_elev) * max(0.0, math.cos(sun_az_offset))
    net = gen - p[5] - load_w - (p[4] if heater_on else 0.0)
    return _clamp(soc + net * dt / p[3], 0.0, 1.0), net


def drill_step(s, meas, limits, dt, cmd):
    if not (_finite(s, 4) and _finite(meas, 3) and _finite(limits, 5) and _isfinite(dt)):
        raise GncError(ENAN, "drill_step: NaN or infinite input")
    m = s[1]
    if (
        s[0] < 0.0
        or m < 0.0
        or m > 3.0
        or int(m) != m
        or s[2] < 0.0
        or limits[0] <= 0.0
        or limits[1] <= 0.0
        or limits[3] <= 0.0
        or limits[4] <= 0.0
        or dt < 0.0
    ):
        raise GncError(EINVAL, "drill_step: state or limits outside their domain")
    mode = int(m)
    depth = s[0]
    fault = s[3]
    target = limits[3]
    feed = limits[4]
    nxt = mode
    cmd[0] = 0.0
    cmd[1] = 0.0
    if mode == _DRILLING:
        new_fault = 0.0
        if meas[0] > limits[0]:
            new_fault = 1.0  # torque stall
        elif meas[1] > limits[1]:
            new_fault = 2.0  # current stall
        elif meas[2] > limits[2]:
            new_fault = 3.0  # over-temperature
        if new_fault != 0.0:
            fault = new_fault
            nxt = _RETRACTING
            cmd[0] = -feed
            depth = max(0.0, depth - feed * dt)
        else:
            cmd[0] = feed
            cmd[1] = 1.0
            depth = min(target, depth + feed * dt)
            if depth >= target:
                fault = 0.0
                nxt = _RETRACTING
    elif mode == _RETRACTING:
        if depth <= 0.0:
            nxt = _DONE if fault == 0.0 else _IDLE
        else:
            cmd[0] = -feed
            depth = max(0.0, depth - feed * dt)
    s[0] = depth
    s[2] = s[2] + 1.0 if nxt == mode else 0.0
    s[1] = float(nxt)
    s[3] = fault
    return None
