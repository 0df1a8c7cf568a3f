"""The building blocks of the dictionary: field kinds and the records components declare.

A payload is a tuple of fields. A field is a scalar (`F`), a counted list
(`List`: a u8 count then items), a value typed by a parameter ID (`ParamValue`),
a tail typed by a structure, event or function ID (`Typed`), a u16-counted
octet string (`Blob`: an embedded TC) or the rest of the payload as octets
(`Rest`: a part of a large-data transfer).
"""

from collections import namedtuple

# Scalar types: name -> (struct code, size, minimum, maximum). Floats carry no
# integer range; their ranges come from the field or parameter that uses them.
SCALARS = {
    "u8": ("B", 1, 0, 0xFF),
    "u16": ("H", 2, 0, 0xFFFF),
    "u32": ("I", 4, 0, 0xFFFFFFFF),
    "i8": ("b", 1, -0x80, 0x7F),
    "i16": ("h", 2, -0x8000, 0x7FFF),
    "i32": ("i", 4, -0x80000000, 0x7FFFFFFF),
    "f32": ("f", 4, None, None),
}

# minimum / maximum: the allowed range of a command argument (None: the type's);
# names: {value: name} for enumerated values (modes, devices), accepted by name on the CLI.
F = namedtuple("F", "name type units doc minimum maximum names", defaults=(None, None, None))
List = namedtuple("List", "name item doc")  # item: tuple of fields; on the wire: u8 count, then items
ParamValue = namedtuple("ParamValue", "name id_field doc")  # typed by the parameter whose ID is `id_field`
Typed = namedtuple("Typed", "name key_field table doc")  # the rest, typed by a key: "hk", "event" or "function"
Blob = namedtuple("Blob", "name doc")  # u16 length, then that many octets
Rest = namedtuple("Rest", "name doc")  # every remaining octet of the payload

Service = namedtuple("Service", "number name doc")
Message = namedtuple("Message", "service subtype name kind payload doc")  # kind: "tc" or "tm"
Event = namedtuple("Event", "id name severity aux doc")  # severity 1 info .. 4 high
Param = namedtuple("Param", "id name type minimum maximum default writable units doc")
HkStructure = namedtuple("HkStructure", "sid name fields doc")
# An ST8 function: ID (unique in the dictionary), typed and ranged arguments, and the
# vehicle modes it is allowed in (None: every mode).
Function = namedtuple("Function", "id name args doc modes", defaults=(None,))
# One application process: what it serves and owns. `services`: the PUS services its
# APID answers besides ST8 (which it answers when it has functions).
Component = namedtuple("Component", "apid name doc functions events params hk services limits", defaults=((), (), (), (), (), ()))
# A limit check FDIR runs on a housekeeping value (fsw/fdir.py): the structure (SID), the
# field by name, the allowed range (None: unbounded on that side), and the action when it
# is crossed: 0 report a limit_violation event, 1 also put the vehicle in its safe mode.
Limit = namedtuple("Limit", "sid field low high action doc")
# A vehicle: its modes ((number, name, doc), ...), the mode it boots in, and its components.
Vehicle = namedtuple("Vehicle", "name doc modes boot_mode components")


def f(name, type_, doc, units="", minimum=None, maximum=None, names=None):
    if type_ not in SCALARS:
        raise ValueError("unknown scalar type %r for field %r" % (type_, name))
    return F(name, type_, units, doc, minimum, maximum, names)
