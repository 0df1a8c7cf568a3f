# The inspector's camera payload: capture() latches the exposure (hw camera start), then
# the 10 Hz payload task ray-casts a few rows per cycle (render_rows) so no cycle is blocked
# for a whole frame, straight into the product buffer (u16 width, u16 height, then the 8-bit
# gray rows; allocated once); the finished product is downlinked as ST13 product image
# (fsw/services/st13.py stores it on flash, so the buffer is free again at once).
import struct

from micropython import const

from fsw import dictionary as D

_PRODUCT_IMAGE = const(1)  # obc.PRODUCTS in the dictionary
_HEADER = const(4)
_STORE_LARGE = const(6)  # storage_fault: large-data product
_FAULT_WRITE = const(2)


class Payload:
    def __init__(self, obc, camera):
        self.obc = obc
        self.camera = camera  # None on a board without a camera: capture fails
        self.events = obc.events
        self.busy = False
        self.rows = 1
        self.captures = 0
        self.last_transaction = 0
        self.last_lit = 0
        self.rendered = 0
        self.product = None
        if camera is not None:
            self.product = bytearray(_HEADER + camera.width * camera.height)
            struct.pack_into(">HH", self.product, 0, camera.width, camera.height)
            # the camera reads its frame out straight into the product, after the header (as a
            # driver's readinto would): one frame buffer on the board, not the camera's plus a copy
            camera.image = memoryview(self.product)[_HEADER:]

    def check(self, args):
        if self.camera is None:
            return D.ERR_EXECUTION_FAILED
        if self.busy:
            return D.ERR_BUSY
        return 0

    def capture(self, args):
        self.rows = args[0]
        self.camera.start()  # the exposure: the camera looks where the body truly points
        self.rendered = 0
        self.busy = True
        return 0

    def row(self):
        return self.rendered if self.busy else 0

    def cycle(self, cycle_ms):
        if not self.busy:
            return
        cam = self.camera
        done = cam.render_rows(self.rows)
        self.rendered += self.rows
        if not done:
            return
        self.busy = False
        self.captures += 1
        prod, img = self.product, cam.image  # img: the product's pixels (__init__)
        lit = 0
        for p in img:
            if p:
                lit += 1
        self.last_lit = lit if lit < 0xFFFF else 0xFFFF
        try:
            tid = self.obc.large_data.start(_PRODUCT_IMAGE, prod)  # ST13: stored on flash, then sent in parts
        except OSError:  # the product could not be stored: not sent (transaction 0 in the event)
            self.events.emit(D.EVT_STORAGE_FAULT, (_STORE_LARGE, _FAULT_WRITE))
            tid = 0
        self.last_transaction = tid
        self.events.emit(D.EVT_INSPECTOR_IMAGE_READY, (tid, cam.width, cam.height, len(prod), self.last_lit))
