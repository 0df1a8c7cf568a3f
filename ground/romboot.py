# SITL boot on the MicroPython unix port: what a board's firmware does before main.py when the
# flight software is deployed as ROMFS (`mpremote romfs deploy`): mount the image at /rom and
# put it first on sys.path, so the .mpy bytecode runs in place. On a board the image lives in
# memory-mapped flash; here it must sit in RAM, so it is read as the very first allocation and
# the heap cap is raised by its size (ground/runtimes.romfs_argv); `sitl_rom.size` lets
# hal.heap_used() leave it out. Usage: micropython romboot.py IMAGE PROGRAM [ARGS...]
import os
import sys

import vfs

_image_path = sys.argv[1]
_program = sys.argv[2]
_image = bytearray(os.stat(_image_path)[6])
with open(_image_path, "rb") as _f:
    _f.readinto(_image)
vfs.mount(vfs.VfsRom(_image), "/rom")
sys.path.insert(0, "/rom")


class sitl_rom:  # noqa: N801 (read by hal.mpy as a module)
    size = len(_image)


sys.modules["sitl_rom"] = sitl_rom
del sys.argv[0:2]  # the program sees itself as argv[0], as if run directly
with open(_program) as _f:
    _source = _f.read()
_code = compile(_source, _program, "exec")
del _f, _source
try:
    exec(_code, {"__name__": "__main__", "__file__": _program})
except Exception as _exc:  # noqa: BLE001 (the unix port prints an uncaught traceback on stdout: the link)
    sys.print_exception(_exc, sys.stderr)
    sys.exit(1)
