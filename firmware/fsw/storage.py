# Power-loss-safe small files in the current directory (the board's flash root;
# in SITL the state directory). Names are plain file names.
#
#   save(name, data)      data: bytes-like, at most 65535 octets
#   load(name) -> bytes or None
#       name if it checks, else name + ".bak" if it checks, else None.
#
# File layout: magic u16 0x4D53 ("MS") | length u16 | data | CRC-16 u16 over
# everything before it (fsw.crc16), big-endian.
#
# save() order, and what a power cut after each step leaves:
#   1. write name.tmp, flush, fsync/sync    name (old) still good
#   2. if name checks: remove name.bak,     name still good
#      rename name -> name.bak              name missing, .bak = old: load -> old
#      else: remove the bad name            .bak (older good) still there
#   3. rename name.tmp -> name              name = new, .bak = old: load -> new
# A torn .tmp is never read; a torn or corrupt name falls back to .bak. A reboot
# in the middle of a save loses at most that save.

from micropython import const
import os
import struct
from fsw.crc16 import crc16

_MAGIC = const(0x4D53)
_HDR = const(4)
_TRAILER = const(2)
_MAX = const(0xFFFF)


def _sync(f):
    f.flush()
    fsync = getattr(os, "fsync", None)
    if fsync is not None and hasattr(f, "fileno"):
        fsync(f.fileno())


def _sync_dir():
    # make the renames durable: fsync of the directory on CPython/POSIX, os.sync()
    # on boards that have it; the MicroPython unix port has neither
    if hasattr(os, "O_RDONLY") and hasattr(os, "fsync"):
        fd = os.open(".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _read_checked(path):
    # bytes of the data part, or None if missing, torn or corrupt
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    n = len(raw)
    if n < _HDR + _TRAILER:
        return None
    magic, length = struct.unpack_from(">HH", raw, 0)
    if magic != _MAGIC or length != n - _HDR - _TRAILER:
        return None
    if crc16(raw, 0, n - _TRAILER) != struct.unpack_from(">H", raw, n - _TRAILER)[0]:
        return None
    return raw[_HDR : n - _TRAILER]


def save(name, data):
    n = len(data)
    if n > _MAX:
        raise ValueError("storage: data too long")
    hdr = struct.pack(">HH", _MAGIC, n)
    crc = crc16(data, 0, n, crc16(hdr))
    tmp = name + ".tmp"
    bak = name + ".bak"
    with open(tmp, "wb") as f:
        f.write(hdr)
        f.write(data)
        f.write(struct.pack(">H", crc))
        _sync(f)
    if _read_checked(name) is not None:
        _remove(bak)
        os.rename(name, bak)
    elif _exists(name):
        os.remove(name)
    os.rename(tmp, name)
    _sync_dir()


def load(name):
    data = _read_checked(name)
    if data is None:
        data = _read_checked(name + ".bak")
    return data
