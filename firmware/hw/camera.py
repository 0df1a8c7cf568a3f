# The inspector's camera as a model on the board: renders the debris (an upper stage, a
# capped cylinder along its body z) into a small 8-bit grayscale image by ray-casting
# every pixel. Pinhole camera fixed to the body: boresight +z, image columns along +x,
# rows along +y (x right, y down, z forward). Lambertian shading from the Sun plus a
# small ambient term (Earthshine), so the unlit side still stands out from the black
# sky; in eclipse only the ambient term remains.
#
# Bounded work per call: start() latches the pose (the exposure instant) and
# render_rows(n) ray-casts n rows, so a 10 Hz task spreads one image over several
# cycles and is never blocked for a whole frame. The pose is latched, not re-read, so a
# frame rendered over several steps is still one consistent exposure.
import math
from array import array

import gnc


class Camera:
    NAME = "camera"
    FAULTS = ()

    def __init__(self, world, width=64, height=48, fov=math.radians(40.0), length=11.0, diameter=4.0, ambient=0.08):
        if width < 1 or height < 1 or not 0.0 < fov < math.pi:
            raise ValueError("camera: needs width, height >= 1 and 0 < fov < pi (horizontal, rad)")
        self.world = world
        self.width = width
        self.height = height
        self.f = 0.5 * width / math.tan(0.5 * fov)  # focal length, pixels
        self.half_len = 0.5 * length
        self.radius = 0.5 * diameter
        self.ambient = ambient
        self.image = bytearray(width * height)  # row-major, 0 = black sky
        self._m = array("f", bytes(4 * 9))  # camera (body) -> debris body, row-major
        self._o = array("f", bytes(4 * 3))  # camera position in the debris body frame, m
        self._sun = array("f", bytes(4 * 3))  # Sun in the debris body frame (zero in eclipse)
        self._rb = array("f", bytes(4 * 9))
        self._rt = array("f", bytes(4 * 9))
        self._q = array("f", bytes(4 * 4))
        self._v = array("f", bytes(4 * 3))
        self._row = height  # nothing in progress

    def start(self, q_bi=None):
        # latch the exposure: q_bi the inspector's attitude (None: the world's true one)
        w = self.world
        q = self._q
        if q_bi is None:
            for i in range(4):
                q[i] = w.body[i]
        else:
            if len(q_bi) != 4:
                raise ValueError("camera.start: q_bi needs 4 numbers")
            n2 = 0.0
            for i in range(4):
                q[i] = q_bi[i]
                n2 += q[i] * q[i]
            if not 0.0 < n2 < math.inf:
                raise ValueError("camera.start: q_bi must be a finite non-zero quaternion")
            gnc.quat_normalize(q)
        rb, rt, m = self._rb, self._rt, self._m
        gnc.quat_to_dcm(q, rb)  # body -> inertial
        gnc.quat_to_dcm(w.q_target, rt)  # debris body -> inertial
        for i in range(3):  # M = Rt^T Rb
            for j in range(3):
                m[3 * i + j] = rt[i] * rb[j] + rt[3 + i] * rb[3 + j] + rt[6 + i] * rb[6 + j]
        v = self._v
        w.lvlh_to_inertial(w.t, w.cw, v)  # camera position relative to the debris, inertial
        gnc.quat_rotate_inv(w.q_target, v, self._o)
        if w.in_eclipse:
            for i in range(3):
                self._sun[i] = 0.0
        else:
            gnc.quat_rotate_inv(w.q_target, w.sun_eci, self._sun)
        self._row = 0  # render_rows writes every pixel, so no clearing pass here

    def render_rows(self, n):
        # ray-cast up to n more rows; True when the image is complete
        h = self.height
        row = self._row
        end = row + n
        if end > h:
            end = h
        m, o, s = self._m, self._o, self._sun
        W = self.width
        inv_f = 1.0 / self.f
        cu = 0.5 * W - 0.5  # pixel centres: u = (i + 0.5 - W/2) / f
        cv = 0.5 * h - 0.5
        R = self.radius
        R2 = R * R
        L = self.half_len
        ox, oy, oz = o[0], o[1], o[2]
        c_side = ox * ox + oy * oy - R2  # > 0: outside the cylinder's radius, the side can be seen
        cap = L if oz > L else (-L if oz < -L else 0.0)  # the end cap facing the camera, if any
        amb = self.ambient
        lit = 1.0 - amb
        img = self.image
        du0, du1, du2 = m[0] * inv_f, m[3] * inv_f, m[6] * inv_f  # ray change per column
        while row < end:
            v = (row - cv) * inv_f
            u = -cu * inv_f
            dx = m[0] * u + m[1] * v + m[2]
            dy = m[3] * u + m[4] * v + m[5]
            dz = m[6] * u + m[7] * v + m[8]
            k = row * W
            for _ in range(W):
                best = 1e30
                nx = ny = nz = 0.0
                a = dx * dx + dy * dy
                if c_side > 0.0 and a > 0.0:
                    b = ox * dx + oy * dy
                    disc = b * b - a * c_side
                    if disc >= 0.0 and b < 0.0:
                        t = (-b - math.sqrt(disc)) / a
                        z = oz + t * dz
                        if -L <= z <= L:
                            best = t
                            nx = (ox + t * dx) / R
                            ny = (oy + t * dy) / R
                if cap != 0.0 and dz != 0.0:
                    t = (cap - oz) / dz
                    if 0.0 < t < best:
                        x = ox + t * dx
                        y = oy + t * dy
                        if x * x + y * y <= R2:
                            best = t
                            nx = ny = 0.0
                            nz = 1.0 if cap > 0.0 else -1.0
                if best < 1e30:
                    c = nx * s[0] + ny * s[1] + nz * s[2]
                    if c < 0.0:
                        c = 0.0
                    img[k] = int(255.0 * (amb + lit * c) + 0.5)
                else:
                    img[k] = 0
                k += 1
                dx += du0
                dy += du1
                dz += du2
            row += 1
        self._row = row
        return row >= h

    def inject(self, fault, value=None):
        raise ValueError("camera: unknown fault %r (known: none)" % (fault,))

    def clear(self, fault=None):
        if fault is not None:
            raise ValueError("camera: unknown fault %r (known: none)" % (fault,))
