"""Typed errors for the ground station: each carries the numbers (expected vs got).

Decoding and validation failures are `ValueError`s (STYLE.md); the CLI turns them
into one `ground: <message>` line.
"""


class MitraError(ValueError):
    """Base of all mitra decoding/validation errors."""


class PacketError(MitraError):
    """A space packet that fails a structural check (length, version, PEC)."""

    def __init__(self, message, expected=None, got=None):
        super().__init__(message)
        self.expected = expected
        self.got = got


class LengthError(PacketError):
    """The packet's data-length field disagrees with the octets present."""


class PecError(PacketError):
    """The packet error control (CRC-16/CCITT-FALSE) does not check."""


class DictionaryError(MitraError):
    """A name or number that the dictionary does not define (unknown command, APID, parameter)."""


class ArgumentError(MitraError):
    """A command argument of the wrong type or outside its range."""


class KeyMissing(MitraError):
    """No uplink key is stored for a link name (create one with `ground keys create <name>`)."""

    def __init__(self, message, name=None, path=None):
        super().__init__(message)
        self.name = name
        self.path = path


class KeyInvalid(MitraError):
    """A link name, key file, SPI or SN that the uplink key store cannot accept."""


class FramingError(MitraError):
    """A COBS frame that does not decode (PROTOCOL.md 1, Framing: COBS).

    `reason` is "cobs" (a code octet points past the end / a zero inside) or "oversize";
    `expected` and `got` carry the numbers (octets promised by the code vs present, or
    the maximum vs the body length); `offset` is where in the encoded data it broke.
    """

    def __init__(self, message, reason, expected=None, got=None, offset=None):
        super().__init__(message)
        self.reason = reason
        self.expected = expected
        self.got = got
        self.offset = offset


class SecurityError(MitraError):
    """An uplink frame body that fails the security check (PROTOCOL.md 1, Security layer).

    `reason` is "short", "unknown_spi" or "bad_mac"; `expected` and `got` carry the
    numbers (minimum vs actual length, known SPIs vs SPI, MAC vs MAC).
    """

    def __init__(self, message, reason, expected=None, got=None, spi=None):
        super().__init__(message)
        self.reason = reason
        self.expected = expected
        self.got = got
        self.spi = spi


class UnknownBoard(MitraError):
    """A board name with no description in `boards/`."""

    def __init__(self, message, name=None, known=()):
        super().__init__(message)
        self.name = name
        self.known = tuple(known)


class PortLost(MitraError):
    """The serial port went away while in use (board unplugged or reset, SITL stopped).

    `port` is its path; `sent` is True once the ground had started writing a TC to it, so
    the board may have that TC (and may have executed it) even though no report came back.
    """

    def __init__(self, port, sent, reason=None):
        super().__init__("%s: the port went away (board unplugged or SITL stopped?)" % port)
        self.port = port
        self.sent = sent
        self.reason = reason  # the OS's error, for a debugger
