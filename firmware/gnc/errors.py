# GNC status codes (native/include/gnc.h) and the exception the fallback raises.
# GNC_EUNSAFE is a flag the functions return, not an exception.
from micropython import const

EINVAL = const(1)  # an argument outside its domain
ENAN = const(2)  # a NaN or infinite input
ESINGULAR = const(3)  # singular geometry
ERANGE = const(4)  # a table or count beyond the config limits
EUNSAFE = const(5)  # a keep-out prediction found a violation


class GncError(ValueError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
