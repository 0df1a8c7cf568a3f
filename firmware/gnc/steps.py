# Composite 10 Hz cycles, pure-MicroPython fallback of native/src/steps.c (same layouts,
# same order of sub-steps, same conventions; see the comment at the top of steps.c).
# Transactional like the C: the state is worked on in module-level copies and written back,
# with `out`, only when every sub-step succeeded. No allocation per step beyond the floats
# the sub-steps return: scratch arrays are allocated once here. The sub-step modules are
# imported inside each step (a sys.modules lookup once loaded), so the rover app does not
# load the MEKF and the inspector app does not load the rover.
import math
from array import array

from micropython import const

from gnc.errors import EINVAL, ENAN, ERANGE, GncError

_MEKF = const(43)
_BDOT = const(4)
_INSPECTOR_SIZE = const(66)
_INSPECTOR_IN = const(40)
_INSPECTOR_PRM = const(24)
_INSPECTOR_OUT = const(15)
_S_HCMD = const(47)  # MEKF | BDOT | h_cmd
_S_CW = const(50)
_S_COUNTER = const(57)
_S_SWEEP_K = const(58)  # spare[0..7]: keep-out sweep (steps.c)
_S_SWEEP_MIN2 = const(59)
_S_MIN_RANGE = const(60)
_S_SWEEP_SN = const(61)
_S_SWEEP_CS = const(62)
_S_SWEEP_SP = const(63)
_S_SWEEP_CP = const(64)
_S_SWEEP_U = const(65)  # spare[7]: the angle n per hdt that spare[5..6] rotate by
_SWEEP_SAMPLE_CYCLES = const(9)  # SWEEP_SAMPLE_CYCLES of steps.c (then one decision cycle)
_COUNTER_WRAP = 12582912.0  # COUNTER_WRAP of steps.c (3 * 2^22)
_KEEPOUT_MAX_SAMPLES = const(4096)
_ROVER_SIZE = const(14)
_ROVER_IN = const(13)
_ROVER_PRM = const(20)
_ROVER_OUT = const(6)
_RS_SOC = const(5)
_RS_DRILL = const(6)
_RS_INDEX = const(10)
_RS_SINCE_FIX = const(12)
_MAX_PATH_POINTS = const(64)


def _f(n):
    return array("f", bytes(4 * n))


_st = _f(_INSPECTOR_SIZE)
_res = _f(_INSPECTOR_OUT)
_mekf = _f(_MEKF)
_a3 = _f(3)
_b3 = _f(3)
_w3 = _f(3)
_h3 = _f(3)
_wr3 = _f(3)
_q4 = _f(4)
_J = _f(9)
_lim = _f(2)
_tau = _f(3)
_m = _f(3)
_dv = _f(3)
_rel = _f(6)
_rst = _f(_ROVER_SIZE)
_nav = _f(5)
_drill = _f(4)
_meas = _f(3)
_pp_lim = _f(5)
_dr_lim = _f(5)
_pw = _f(6)
_cond = _f(2)
_cmd = _f(2)
_dcmd = _f(2)


def _take(dst, src, off):
    # dst[:] = src[off:off + len(dst)] without a slice object
    for i in range(len(dst)):
        dst[i] = src[off + i]


def _finite(v, n):
    for i in range(n):
        x = v[i]
        if not x - x == 0.0:  # False for NaN and +-inf
            return False
    return True


def _zero3(v, off):
    return v[off] == 0.0 and v[off + 1] == 0.0 and v[off + 2] == 0.0


def inspector_step(s, in_, prm, out):
    # Inspector ADCS + GNC cycle; fills out; returns unsafe (keep-out violation at a sweep's end)
    # the largest modules first (compiling one needs the most heap while the fewest are loaded)
    from gnc.mekf import mekf_propagate, mekf_update_quat, mekf_update_vector
    from gnc.cw import abort_burn
    from gnc.control import dump_dipole, pd_control
    from gnc.sweep import pick_sensor, sweep_part, unit_pair

    if not (_finite(s, _INSPECTOR_SIZE) and _finite(in_, _INSPECTOR_IN) and _finite(prm, _INSPECTOR_PRM)):
        raise GncError(ENAN, "inspector_step: NaN or infinite input")
    n, radius, horizon, hdt = prm[20], prm[21], prm[22], prm[23]
    if not n > 0.0 or horizon < 0.0 or not hdt > 0.0 or radius < 0.0:
        raise GncError(EINVAL, "inspector_step: keep-out n, horizon, dt or radius outside its domain")
    kf = horizon / hdt
    if not kf <= _KEEPOUT_MAX_SAMPLES - 1:
        raise GncError(ERANGE, "inspector_step: more than GNC_KEEPOUT_MAX_SAMPLES keep-out samples")
    count = int(kf)
    if count < kf:
        count += 1
    count += 1
    if count > _KEEPOUT_MAX_SAMPLES:
        raise GncError(ERANGE, "inspector_step: more than GNC_KEEPOUT_MAX_SAMPLES keep-out samples")
    st = _st
    res = _res
    _take(st, s, 0)
    for i in range(_INSPECTOR_OUT):
        res[i] = 0.0
    dt = in_[39]
    counter = st[_S_COUNTER]
    # where this cycle is in the keep-out sweep: spare[0] the next sample (0: a new sweep), or
    # count once every sample is taken: the decision cycle (steps.c)
    per = (count + _SWEEP_SAMPLE_CYCLES - 1) // _SWEEP_SAMPLE_CYCLES
    k0 = int(st[_S_SWEEP_K]) if 1.0 <= st[_S_SWEEP_K] <= count else 0
    decide = k0 == count
    # estimation: propagate with the gyro every cycle, then one measurement update (none in the
    # sweep's decision cycle)
    _take(_mekf, st, 0)
    _take(_w3, in_, 0)
    mekf_propagate(_mekf, _w3, dt, prm[15], prm[16])
    sensor = -1 if decide else pick_sensor(counter, in_, _COUNTER_WRAP)
    if sensor == 0:
        _take(_q4, in_, 18)
        mekf_update_quat(_mekf, _q4, prm[19])
    elif sensor > 0:
        _take(_a3, in_, 3 if sensor == 1 else 9)
        _take(_b3, in_, 6 if sensor == 1 else 12)
        mekf_update_vector(_mekf, _a3, _b3, prm[17] if sensor == 1 else prm[18])
    # control: PD on the estimate with the bias-corrected rate; dumping dipole
    for i in range(3):
        _w3[i] = in_[i] - _mekf[4 + i]
    _take(_q4, in_, 23)
    _take(_wr3, in_, 27)
    _take(_h3, in_, 30)
    _take(_J, prm, 0)
    _lim[0] = prm[11]
    _lim[1] = prm[12]
    pd_control(_mekf, _w3, _q4, _wr3, _J, _h3, prm[9], prm[10], _lim, _tau)
    if not _zero3(in_, 15):
        _take(_b3, in_, 15)
        dump_dipole(_b3, _h3, prm[13], prm[14], _m)
    else:
        _m[0] = _m[1] = _m[2] = 0.0
    # guidance: this cycle's part of the keep-out sweep; in its decision cycle no samples, the
    # minimum declared and, below the radius, the abort burn from the current state (steps.c)
    unsafe = valid = False
    if decide:
        st[_S_SWEEP_K] = 0.0
        st[_S_MIN_RANGE] = math.sqrt(st[_S_SWEEP_MIN2])
        if st[_S_MIN_RANGE] < radius:
            unsafe = True
            _take(_rel, in_, 33)
            abort_burn(_rel, n, radius, _dv)
    else:
        # the part rotation kept with its angle (spare[5..7]); not valid -> a setup cycle (the
        # pair, no samples); a sweep whose next sin, cos are not a unit pair starts over (steps.c)
        u = n * (per * hdt)
        valid = unit_pair(st[_S_SWEEP_SP], st[_S_SWEEP_CP]) and abs(st[_S_SWEEP_U] - u) <= 1e-6 * u
        if k0 != 0 and not (valid and unit_pair(st[_S_SWEEP_SN], st[_S_SWEEP_CS])):
            k0 = 0
    if not decide and k0 == 0 and not valid:  # setup cycle
        st[_S_SWEEP_SP] = math.sin(u)
        st[_S_SWEEP_CP] = math.cos(u)
        st[_S_SWEEP_U] = u
        st[_S_SWEEP_K] = 0.0
    elif not decide:
        if k0 == 0:
            for i in range(6):
                st[_S_CW + i] = in_[33 + i]
            min2 = 3.0e38
            sn0, cs0 = 0.0, 1.0
        else:
            min2 = st[_S_SWEEP_MIN2]
            sn0, cs0 = st[_S_SWEEP_SN], st[_S_SWEEP_CS]
        k1 = min(k0 + per, count)
        min2 = sweep_part(st, _S_CW, n, horizon, hdt, count, k0, k1, sn0, cs0, min2)
        st[_S_SWEEP_MIN2] = min2
        sp, cp = st[_S_SWEEP_SP], st[_S_SWEEP_CP]
        st[_S_SWEEP_SN] = sn0 * cp + cs0 * sp
        st[_S_SWEEP_CS] = cs0 * cp - sn0 * sp
        st[_S_SWEEP_K] = k1  # count: the next cycle is the decision cycle
    # commit
    for i in range(3):
        res[i] = _tau[i]
        res[3 + i] = _m[i]
        res[12 + i] = _dv[i] if unsafe else 0.0
        st[_S_HCMD + i] -= _tau[i] * dt
    for i in range(4):
        res[6 + i] = _mekf[i]
    res[10] = st[_S_MIN_RANGE]
    res[11] = 1.0 if unsafe else 0.0
    for i in range(_MEKF):
        st[i] = _mekf[i]
    st[_S_COUNTER] = 0.0 if counter + 1.0 >= _COUNTER_WRAP else counter + 1.0
    for i in range(_INSPECTOR_SIZE):
        s[i] = st[i]
    for i in range(_INSPECTOR_OUT):
        out[i] = res[i]
    return unsafe


def rover_step(s, in_, prm, path, n_points, out):
    # Rover cycle: odometry, power, pure pursuit, heading fix (steers from the next cycle), drill
    from gnc.rover import drill_step, power_step, pure_pursuit, rover_heading_fix, rover_odometry

    if not (_finite(s, _ROVER_SIZE) and _finite(in_, _ROVER_IN) and _finite(prm, _ROVER_PRM)):
        raise GncError(ENAN, "rover_step: NaN or infinite input")
    if n_points < 0 or n_points > _MAX_PATH_POINTS:
        raise GncError(ERANGE, "rover_step: n_points outside 0..GNC_MAX_PATH_POINTS")
    if not _finite(path, 2 * n_points):
        raise GncError(ENAN, "rover_step: NaN or infinite input")
    st = _rst
    _take(st, s, 0)
    dt = in_[12]
    drilling = in_[11] > 0.5
    # navigation: odometry
    _take(_nav, st, 0)
    rover_odometry(_nav, in_[0], in_[1], in_[2], dt, prm[5])
    st[_RS_SINCE_FIX] += dt
    # power, with the survival heater on while the Sun is below the local horizon
    _take(_pw, prm, 7)
    heater = 1 if in_[5] < prm[13] else 0
    soc, net_w = power_step(st[_RS_SOC], in_[5], in_[6], prm[13], prm[14], heater, _pw, dt)
    # path following, speed limited by slope and the state of charge just computed
    _cond[0] = in_[7]
    _cond[1] = soc
    _take(_pp_lim, prm, 0)
    index, done = pure_pursuit(_nav, path, n_points, int(st[_RS_INDEX]), _pp_lim, _cond, _cmd)
    # the sun azimuth fix with the time since the last one, after the steering (steps.c: no
    # second sin/cos of the heading there); it steers from the next cycle
    if in_[3] > 0.5:
        rover_heading_fix(_nav, in_[4], prm[6], st[_RS_SINCE_FIX])
        st[_RS_SINCE_FIX] = 0.0
    # drill: the rover stands still while it drills
    _dcmd[0] = _dcmd[1] = 0.0
    _take(_drill, st, _RS_DRILL)
    if drilling:
        _cmd[0] = _cmd[1] = 0.0
        _take(_meas, in_, 8)
        _take(_dr_lim, prm, 15)
        drill_step(_drill, _meas, _dr_lim, dt, _dcmd)
    # commit
    for i in range(5):
        st[i] = _nav[i]
    for i in range(4):
        st[_RS_DRILL + i] = _drill[i]
    st[_RS_SOC] = soc
    st[_RS_INDEX] = index
    for i in range(_ROVER_SIZE):
        s[i] = st[i]
    out[0] = _cmd[0]
    out[1] = _cmd[1]
    out[2] = 1.0 if done else 0.0
    out[3] = net_w
    out[4] = _dcmd[0]
    out[5] = _dcmd[1]
