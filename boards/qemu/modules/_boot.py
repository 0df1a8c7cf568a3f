# Frozen into our qemu boards (boards/qemu/manifest.py), run at every boot before main.py: mount
# the RAM disk (mitra_boot.c) at / as littlefs, formatting it on the first boot after qemu starts,
# and put /lib on sys.path, as a board's firmware does.
import sys
import vfs

import _mitra_qemu


class RAMBlockDev:
    # MicroPython's block-device protocol, extended form (littlefs writes parts of blocks)
    def __init__(self, data, block_size=512):
        self.data = memoryview(data)
        self.block_size = block_size
        self.blocks = len(data) // block_size

    def readblocks(self, block, buf, offset=0):
        at = block * self.block_size + offset
        buf[:] = self.data[at : at + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        at = block * self.block_size + (offset or 0)
        self.data[at : at + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.blocks
        if op == 5:  # block size
            return self.block_size
        if op == 6:  # erase: nothing to do in RAM
            return 0
        return None


def _mount():
    bdev = RAMBlockDev(_mitra_qemu.ramdisk())
    try:
        fs = vfs.VfsLfs2(bdev)
    except OSError:  # a blank disk: the first boot after qemu started
        vfs.VfsLfs2.mkfs(bdev)
        fs = vfs.VfsLfs2(bdev)
    vfs.mount(fs, "/")
    if "/lib" not in sys.path:
        sys.path.append("/lib")


_mount()
del _mount
