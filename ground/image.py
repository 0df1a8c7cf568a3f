"""Camera products on the ground: the inspector's image product as a PNG file.

Product layout (firmware/inspector/payload.py): width u16 | height u16 (big-endian), then
width * height octets of 8-bit gray, row by row. The PNG encoder is the minimal one the
PNG specification (ISO/IEC 15948, W3C PNG 2nd ed.) allows: IHDR (8-bit grayscale), one
IDAT (zlib, filter type 0 on every row), IEND, each chunk with its CRC-32.
"""

import struct
import zlib
from pathlib import Path

from ground.errors import MitraError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageError(MitraError):
    """An image product whose size disagrees with its header."""


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_gray(width, height, pixels):
    """PNG bytes of an 8-bit grayscale image (`pixels`: width * height octets, row-major)."""
    if len(pixels) != width * height:
        raise ImageError("image: %d octets for %d x %d pixels (expected %d)" % (len(pixels), width, height, width * height))
    raw = b"".join(b"\x00" + bytes(pixels[r * width:(r + 1) * width]) for r in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray, deflate, filter 0, no interlace
    return PNG_SIGNATURE + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def decode_product(data):
    """(width, height, pixels) of an image product."""
    if len(data) < 4:
        raise ImageError("image product: %d octets, shorter than its 4-octet header" % len(data))
    width, height = struct.unpack_from(">HH", data, 0)
    pixels = bytes(data[4:])
    if width == 0 or height == 0 or len(pixels) != width * height:
        raise ImageError("image product: header says %d x %d, carries %d pixel octets" % (width, height, len(pixels)))
    return width, height, pixels


def write_png(directory, stem, data):
    """transfer.WRITERS entry for product image: writes <stem>.png; returns the path."""
    width, height, pixels = decode_product(data)
    path = Path(directory) / (stem + ".png")
    path.write_bytes(png_gray(width, height, pixels))
    return path
