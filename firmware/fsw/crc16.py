# CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected, no final XOR.
# Check value: crc16(b"123456789") == 0x29B1. This is the PUS PEC (PROTOCOL.md 2).
#
#   crc16(buf, start=0, end=-1, crc=0xFFFF) -> int
#     CRC of buf[start:end] (end < 0 means len(buf)); buf is bytes, bytearray or
#     memoryview. Pass a previous result as `crc` to continue over several pieces.
#     Allocates nothing: reads buf by index through a 256-entry table built once.

from micropython import const
from array import array

_POLY = const(0x1021)
_INIT = const(0xFFFF)


def _make_table():
    t = array("H", bytes(512))
    for i in range(256):
        c = i << 8
        for _ in range(8):
            if c & 0x8000:
                c = ((c << 1) ^ _POLY) & 0xFFFF
            else:
                c = (c << 1) & 0xFFFF
        t[i] = c
    return t


_TABLE = _make_table()


def crc16(buf, start=0, end=-1, crc=_INIT):
    if end < 0:
        end = len(buf)
    t = _TABLE
    for i in range(start, end):
        crc = ((crc << 8) & 0xFF00) ^ t[(crc >> 8) ^ buf[i]]
    return crc
