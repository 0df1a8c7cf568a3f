# Helpers of the inspector step's schedule (firmware/gnc/steps.py; native/src/steps.c is the
# reference and says why): the MEKF sensor round-robin and one part of the keep-out sweep.
# A module of its own so that importing gnc.steps on a 100 KiB MicroPython heap (ESP32) never
# holds the parse tree of all of it at once; only the inspector loads it.
import math


def pick_sensor(counter, in_, wrap):
    # at most one MEKF update per cycle: slot counter mod 3 (0 star, 1 sun, 2 magnetometer)
    # or the next available one after it; -1 when none is available (as steps.c)
    avail = (in_[22] > 0.5, in_[6] != 0.0 or in_[7] != 0.0 or in_[8] != 0.0,
             in_[12] != 0.0 or in_[13] != 0.0 or in_[14] != 0.0)
    slot = int(counter) % 3 if 0.0 <= counter < wrap else 0
    for i in range(3):
        if avail[(slot + i) % 3]:
            return (slot + i) % 3
    return -1


def _sincos_small(x):
    # sin, cos of x: Taylor for |x| < 0.1 (as steps.c), else math
    x2 = x * x
    if abs(x) < 0.1:
        return (x * (1.0 - x2 * (1.0 / 6.0) * (1.0 - x2 * (1.0 / 20.0))),
                1.0 - x2 * 0.5 * (1.0 - x2 * (1.0 / 12.0) * (1.0 - x2 * (1.0 / 30.0))))
    return math.sin(x), math.cos(x)


def sweep_part(x, off, n, horizon, hdt, count, k0, k1, sn0, cs0, best2):
    # samples k0..k1-1 of the keep-out prediction from x[off:off+6], squared ranges; the CW
    # position as constant + secular + three sinusoids, the sinusoids by Reinsch's recurrence
    # (see steps.c sweep_part)
    x0, y0, z0 = x[off], x[off + 1], x[off + 2]
    inv_n = 1.0 / n
    wx, wy, wz = x[off + 3] * inv_n, x[off + 4] * inv_n, x[off + 5] * inv_n
    a0, a2 = 4.0 * x0 + 2.0 * wy, -3.0 * x0 - 2.0 * wy
    b0, b1, b2, b3 = y0 - 2.0 * wx, 6.0 * x0 + 4.0 * wy, 2.0 * wx, -6.0 * x0 - 3.0 * wy
    du = n * hdt
    e = b3 * du
    h, g = _sincos_small(0.5 * du)
    sd = 2.0 * h * g
    lam = 4.0 * h * h
    ds = cs0 * sd - sn0 * (0.5 * lam)
    dc = -sn0 * sd - cs0 * (0.5 * lam)
    vx, vy, vz = wx * sn0 + a2 * cs0, b1 * sn0 + b2 * cs0, wz * sn0 + z0 * cs0
    dx, dy, dz = wx * ds + a2 * dc, b1 * ds + b2 * dc, wz * ds + z0 * dc
    lin = b0 + e * k0  # the secular term, a running sum set exactly every 32 samples (gnc_sweep.h)
    for k in range(k0, k1):
        if k == count - 1:
            u = n * horizon
            s = math.sin(u)
            c = math.cos(u)
            px = a0 + wx * s + a2 * c
            py = b0 + b3 * u + b1 * s + b2 * c
            pz = wz * s + z0 * c
        else:
            px = a0 + vx
            py = lin + vy
            pz = vz
        r2 = px * px + py * py + pz * pz
        if r2 < best2:
            best2 = r2
        vx += dx
        dx -= lam * vx
        vy += dy
        dy -= lam * vy
        vz += dz
        dz -= lam * vz
        if (k + 1) % 32 == 0:
            lin = b0 + e * (k + 1)
        else:
            lin += e
    return best2


def unit_pair(sn, cs):
    return abs(sn * sn + cs * cs - 1.0) < 1e-3


def orbit_min2(x, w, q):
    # minimum squared range over one orbit of the drift-free path from x with (vx, vz) = n (w, q):
    # the abort candidates of gnc.cw.abort_burn; trust-region dual, 4 Newton steps from Eberly's
    # bracket (orbit_min2 in cw.c says why)
    x0, z0 = x[0], x[2]
    yc = x[1] - 2.0 * w
    a = x0 * x0 + 4.0 * w * w + z0 * z0
    c = w * w + 4.0 * x0 * x0 + q * q
    bb = z0 * q - 3.0 * x0 * w
    g0 = 2.0 * w * yc
    g1 = -2.0 * x0 * yc
    g2 = g0 * g0 + g1 * g1
    d = 0.5 * (a - c)
    h = math.sqrt(d * d + bb * bb)
    l0 = 0.5 * (a + c) + h
    if not l0 > 0.0:
        return yc * yc
    cx = 2.0 * (w * q + x0 * z0)
    cy = z0 * w - x0 * q
    cz = -2.0 * (x0 * x0 + w * w)
    l1 = (cx * cx + cy * cy + cz * cz) / l0
    if h > 0.0:
        ge = g0 * (d + h) + g1 * bb if d >= 0.0 else g0 * bb + g1 * (h - d)
        b0 = ge * ge / (2.0 * h * (h + abs(d)))
    else:
        b0 = g2
    b1 = max(g2 - b0, 0.0)
    mu = max(-l1 + math.sqrt(b1), -l0 + math.sqrt(b0))
    best = -3.0e38
    for it in range(4 + 1):
        i0 = 1.0 / (l0 + mu) if l0 + mu > 0.0 else 0.0
        i1 = 1.0 / (l1 + mu) if l1 + mu > 0.0 else 0.0
        t0 = b0 * i0 * i0
        t1 = b1 * i1 * i1
        dv = yc * yc - mu - b0 * i0 - b1 * i1
        if dv > best:
            best = dv
        s3 = t0 * i0 + t1 * i1
        if it == 4 or not t0 + t1 > 1.0 or not s3 > 0.0:
            break
        mu += (t0 + t1 - 1.0) / (2.0 * s3)
    return best if best > 0.0 else 0.0
