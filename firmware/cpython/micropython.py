# CPython stand-in for MicroPython's built-in `micropython` module, so firmware
# modules import unchanged under the CPython SITL. Only on sys.path under CPython;
# never copied to a board (MicroPython's built-in module always wins there).


def const(value):
    return value


def kbd_intr(_char):
    return None


def mem_info(*_args):
    return None


def opt_level(*_args):
    return 0
