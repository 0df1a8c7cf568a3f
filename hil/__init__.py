"""mitra HIL rig: run the flight software against a target (board, MicroPython unix port, CPython, QEMU)."""
