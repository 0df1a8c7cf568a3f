"""The XTCE 1.2 mission database (OMG XTCE 1.2, namespace 20180204), generated from the dictionary.

`ground dict --format xtce` writes it; `ground yamcs` loads it into Yamcs. One flat space system,
`mitra`, with names that XTCE allows (no dots): a dictionary name `a.b` becomes `a-b`.

Telemetry: the CCSDS primary header (CCSDS 133.0-B-2 4.1.3) and the PUS-C TM secondary header
(ECSS-E-ST-70-41C 7.4.3.1) with its CUC time as one absolute-time parameter (48 bits, LSB 2^-16 s,
epoch 2000-01-01T00:00:00, P-field implicit) are abstract containers; each TM message is a container
restricted on service and subtype; each housekeeping structure and each event is a container
restricted on its SID / event ID below its report; a parameter value report holding one parameter
is a container per parameter. Units go in each type's UnitSet; named values (modes, reasons, the
ST1 error codes by the error table) are enumerations (the dictionary's calibrations: it has no
polynomial ones); ranges are ValidRanges. Each ST1 report also reads its request ID's APID and
sequence count, for the verifiers below.

Commands: an abstract `pus_tc` meta-command lays out both headers (sequence count, data length and
PEC are left to the command post-processor, as Yamcs' PUS post-processor fills them); each TC message,
each ST8 function and each writable parameter's ST20 set is a meta-command with typed, ranged
arguments. `pus_tc` carries Yamcs' PUS1 verifiers (org.yamcs.pus.Pus1Verifier, a Yamcs extension
named in a CustomAlgorithm): a TC's acceptance, start and completion in Yamcs' command history
come from the board's ST1 reports on it, a failure with the error's name. What XTCE cannot type here is left as octets: a multi-parameter value report after its
first parameter ID, and the embedded TC of an ST11 insert (given as octets with their length).
"""

import xml.etree.ElementTree as ET
from pathlib import Path

from construct import BitsInteger, Const, Renamed, Transformed

from ground import codec
from ground import dictionary as d
from ground.codec import PEC_LEN, PRIMARY_LEN, TM_SEC_LEN
from ground.errors import MitraError

NS = "http://www.omg.org/spec/XTCE/20180204"
SPACE_SYSTEM = "mitra"
EPOCH = "2000-01-01T00:00:00"
CUC_BITS = 48
CUC_LSB = 2.0**-16

_INT_BITS = {"u8": 8, "u16": 16, "u32": 32, "i8": 8, "i16": 16, "i32": 32}
_SEV = {1: "info", 2: "low", 3: "medium", 4: "high"}


def xname(name):
    """An XTCE name (NameType allows no '.', '/', ':', '[', ']' or space) for a dictionary name."""
    return name.replace(".", "-").replace(" ", "_")


def message_container(m):
    return "%s-%s" % (d.SERVICE_BY_NUMBER[m.service].name, m.name)


def hk_container(h):
    return "hk-" + h.name


def event_container(e):
    return "event-" + e.name


def param_container(p):
    return "param-value-" + xname(p.name)


def command_name(cmd):
    """The meta-command of a dictionary Command (`test.ping` -> `test-ping`)."""
    return xname(cmd.name)


def param_set_command(p):
    return "param-set-" + xname(p.name)


class _Db:
    """Collects types, parameters, containers, argument types and meta-commands, then writes XML."""

    def __init__(self):
        self.ptypes = ET.Element("ParameterTypeSet")
        self.params = ET.Element("ParameterSet")
        self.containers = ET.Element("ContainerSet")
        self.atypes = ET.Element("ArgumentTypeSet")
        self.commands = ET.Element("MetaCommandSet")
        self._types = {}  # (set, key) -> type name

    # --- types ------------------------------------------------------------------------
    def scalar_type(self, field, arg=False):
        """The name of a parameter (or argument) type for a dictionary scalar field."""
        names = tuple(sorted(field.names.items())) if field.names else ()
        rng = (field.minimum, field.maximum) if arg else (None, None)
        key = (arg, field.type, field.units or "", names, rng, field.name if names else "")
        found = self._types.get(key)
        if found:
            return found
        base = field.type + ("_" + "".join(c if c.isalnum() else "_" for c in field.units) if field.units else "")
        if names:
            base = "enum_" + xname(field.name)
        if rng != (None, None):
            base += "_range"
        name = base + ("_arg" if arg else "")
        n = 2
        while name in self._types.values():
            name = "%s_%d%s" % (base, n, "_arg" if arg else "")
            n += 1
        self._types[key] = name
        kind = "Argument" if arg else "Parameter"
        if names:
            t = ET.SubElement(self.atypes if arg else self.ptypes, "Enumerated%sType" % kind, name=name)
        elif field.type == "f32":
            t = ET.SubElement(self.atypes if arg else self.ptypes, "Float%sType" % kind, name=name, sizeInBits="32")
        else:
            t = ET.SubElement(self.atypes if arg else self.ptypes, "Integer%sType" % kind, name=name, signed=str(field.type[0] == "i").lower(), sizeInBits=str(_INT_BITS[field.type]))
        units = ET.SubElement(t, "UnitSet")
        if field.units:
            ET.SubElement(units, "Unit").text = field.units
        if field.type == "f32":
            ET.SubElement(t, "FloatDataEncoding", sizeInBits="32", encoding="IEEE754_1985")
        else:
            ET.SubElement(t, "IntegerDataEncoding", sizeInBits=str(_INT_BITS[field.type]), encoding="twosComplement" if field.type[0] == "i" else "unsigned")
        if names:
            lst = ET.SubElement(t, "EnumerationList")
            for value, label in sorted(field.names.items()):
                ET.SubElement(lst, "Enumeration", value=str(value), label=str(label))
        elif rng != (None, None):
            lo, hi = d.SCALARS[field.type][2:]
            lo = field.minimum if field.minimum is not None else lo
            hi = field.maximum if field.maximum is not None else hi
            attrs = {}
            if lo is not None:
                attrs["minInclusive"] = _num(lo)
            if hi is not None:
                attrs["maxInclusive"] = _num(hi)
            if arg:
                ET.SubElement(ET.SubElement(t, "ValidRangeSet"), "ValidRange", attrs)
            else:
                ET.SubElement(t, "ValidRange", attrs)
        return name

    def time_type(self):
        t = ET.SubElement(self.ptypes, "AbsoluteTimeParameterType", name="cuc_time")
        t.append(_doc("CUC time: 4 octets coarse seconds + 2 octets binary fraction, P-field implicit (0x%02X), no leap seconds" % d.CUC_P_FIELD))
        enc = ET.SubElement(t, "Encoding", units="seconds", scale=repr(CUC_LSB), offset="0")
        ET.SubElement(enc, "IntegerDataEncoding", sizeInBits=str(CUC_BITS), encoding="unsigned")
        ref = ET.SubElement(t, "ReferenceTime")
        ET.SubElement(ref, "Epoch").text = EPOCH
        return "cuc_time"

    def bits_type(self, bits, arg=False):
        """An unsigned integer type of `bits` bits (uint<bits>, or arg_uint<bits> for an argument), made once."""
        key = ("argbits" if arg else "bits", bits)
        if key not in self._types:
            name = ("arg_uint%d" if arg else "uint%d") % bits
            self._types[key] = name
            kind, types = ("Argument", self.atypes) if arg else ("Parameter", self.ptypes)
            t = ET.SubElement(types, "Integer%sType" % kind, name=name, signed="false", sizeInBits=str(max(bits, 8)))
            ET.SubElement(t, "UnitSet")
            ET.SubElement(t, "IntegerDataEncoding", sizeInBits=str(bits), encoding="unsigned")
        return self._types[key]

    # --- parameters -------------------------------------------------------------------
    def parameter(self, name, type_name, doc):
        p = ET.SubElement(self.params, "Parameter", name=name, parameterTypeRef=type_name)
        if doc:
            p.set("shortDescription", doc[:250])
        return name

    def container(self, name, doc, base=None, restriction=(), abstract=False):
        c = ET.SubElement(self.containers, "SequenceContainer", name=name)
        if abstract:
            c.set("abstract", "true")
        if doc:
            c.set("shortDescription", doc[:250])
        entries = ET.SubElement(c, "EntryList")
        if base:
            b = ET.SubElement(c, "BaseContainer", containerRef=base)
            if restriction:
                rc = ET.SubElement(b, "RestrictionCriteria")
                if len(restriction) == 1:
                    _comparison(rc, *restriction[0])
                else:
                    lst = ET.SubElement(rc, "ComparisonList")
                    for r in restriction:
                        _comparison(lst, *r)
        return entries

    def payload(self, prefix, fields, entries, doc_of=""):
        """Parameters and entries for the scalar fields; stops at the first field that types what follows."""
        for field in fields:
            if isinstance(field, d.F):
                name = self.parameter("%s-%s" % (prefix, field.name), self.scalar_type(field), field.doc)
                ET.SubElement(entries, "ParameterRefEntry", parameterRef=name)
            elif isinstance(field, d.List):
                self.tm_list(prefix, field, entries)
            elif isinstance(field, d.Rest):
                # what the data length leaves after the headers, the fields before and the PEC
                before = sum(_INT_BITS[f.type] for f in fields[: fields.index(field)] if isinstance(f, d.F)) // 8
                name = self.parameter("%s-%s" % (prefix, field.name), self.rest_type(PRIMARY_LEN + TM_SEC_LEN + before + PEC_LEN), field.doc)
                ET.SubElement(entries, "ParameterRefEntry", parameterRef=name)
            else:  # Typed / ParamValue: the subcontainers type it
                return

    def rest_type(self, overhead):
        key = ("rest", overhead)
        if key not in self._types:
            name = "octets_after_%d" % overhead
            self._types[key] = name
            t = ET.SubElement(self.ptypes, "BinaryParameterType", name=name)
            ET.SubElement(t, "UnitSet")
            enc = ET.SubElement(t, "BinaryDataEncoding")
            dyn = ET.SubElement(ET.SubElement(enc, "SizeInBits"), "DynamicValue")
            ET.SubElement(dyn, "ParameterInstanceRef", parameterRef="ccsds_data_len")
            # octets = data_len + 1 + primary header - overhead
            ET.SubElement(dyn, "LinearAdjustment", slope="8", intercept=str(8 * (1 + PRIMARY_LEN - overhead)))
        return self._types[key]

    def tm_list(self, prefix, field, entries):
        count = self.parameter("%s-%s_count" % (prefix, field.name), self.bits_type(8), "number of items in " + field.doc)
        ET.SubElement(entries, "ParameterRefEntry", parameterRef=count)
        if not all(isinstance(x, d.F) for x in field.item):
            return  # param values: typed per parameter by the param-value containers
        name = self.parameter("%s-%s" % (prefix, field.name), self.array_type(prefix, field, count), field.doc)
        ET.SubElement(entries, "ParameterRefEntry", parameterRef=name)

    def array_type(self, prefix, field, count, arg=False):
        """The type of a list (parameter or argument): an array of `count` (the parameter or argument
        that holds the number of items) aggregates of the list's item fields; returns its name."""
        kind, types = ("Argument", self.atypes) if arg else ("Parameter", self.ptypes)
        agg = "%s-%s_item" % (prefix, field.name)
        members = ET.SubElement(ET.SubElement(types, "Aggregate%sType" % kind, name=agg), "MemberList")
        for x in field.item:
            ET.SubElement(members, "Member", name=x.name, typeRef=self.scalar_type(x, arg=arg))
        arr = "%s-%s_array" % (prefix, field.name)
        a = ET.SubElement(types, "Array%sType" % kind, name=arr, arrayTypeRef=agg)
        dim = ET.SubElement(ET.SubElement(a, "DimensionList"), "Dimension")
        ET.SubElement(ET.SubElement(dim, "StartingIndex"), "FixedValue").text = "0"
        end = ET.SubElement(ET.SubElement(dim, "EndingIndex"), "DynamicValue")
        ET.SubElement(end, "%sInstanceRef" % kind, {kind.lower() + "Ref": count})
        ET.SubElement(end, "LinearAdjustment", intercept="-1")
        return arr

    # --- commands ---------------------------------------------------------------------
    def argument(self, args, entries, field, prefix=""):
        name = prefix + field.name
        ET.SubElement(args, "Argument", name=name, argumentTypeRef=self.scalar_type(field, arg=True), shortDescription=field.doc[:250])
        ET.SubElement(entries, "ArgumentRefEntry", argumentRef=name)

    def arg_bits(self, bits, initial, args, entries, name, doc):
        """An unsigned argument of `bits` bits (with its initial value unless None) and its entry."""
        a = ET.SubElement(args, "Argument", name=name, argumentTypeRef=self.bits_type(bits, arg=True), shortDescription=doc)
        if initial is not None:
            a.set("initialValue", str(initial))
        ET.SubElement(entries, "ArgumentRefEntry", argumentRef=name)

    def meta_command(self, name, doc, assign, fields=(), fixed=()):
        """A concrete TC below pus_tc: header assignments, fixed octets, then typed arguments."""
        mc = ET.SubElement(self.commands, "MetaCommand", name=name, shortDescription=doc[:250])
        base = ET.SubElement(mc, "BaseMetaCommand", metaCommandRef="pus_tc")
        lst = ET.SubElement(base, "ArgumentAssignmentList")
        for arg, value in assign:
            ET.SubElement(lst, "ArgumentAssignment", argumentName=arg, argumentValue=str(value))
        args = ET.Element("ArgumentList")
        cc = ET.Element("CommandContainer", name=name + "-container")
        entries = ET.SubElement(cc, "EntryList")
        ET.SubElement(cc, "BaseContainer", containerRef="pus_tc-container")
        for bits, value in fixed:
            ET.SubElement(entries, "FixedValueEntry", binaryValue="%0*X" % (2 * ((bits + 7) // 8), value), sizeInBits=str(bits))
        for field in fields:
            if isinstance(field, d.F):
                self.argument(args, entries, field)
            elif isinstance(field, d.List):
                self.tc_list(name, args, entries, field)
            elif isinstance(field, d.Blob):
                self.arg_bits(16, None, args, entries, field.name + "_len", "octets in " + field.name)
                tname = name + "-" + field.name + "_octets"
                t = ET.SubElement(self.atypes, "BinaryArgumentType", name=tname)
                ET.SubElement(t, "UnitSet")
                enc = ET.SubElement(t, "BinaryDataEncoding")
                dyn = ET.SubElement(ET.SubElement(enc, "SizeInBits"), "DynamicValue")
                ET.SubElement(dyn, "ArgumentInstanceRef", argumentRef=field.name + "_len")
                ET.SubElement(dyn, "LinearAdjustment", slope="8")
                ET.SubElement(args, "Argument", name=field.name, argumentTypeRef=tname, shortDescription=field.doc[:250])
                ET.SubElement(entries, "ArgumentRefEntry", argumentRef=field.name)
            else:
                raise TypeError("no XTCE argument for %r" % (field,))
        if len(args):
            mc.append(args)
        mc.append(cc)

    def tc_list(self, cmd, args, entries, field):
        count = field.name + "_count"
        self.arg_bits(8, None, args, entries, count, "number of items in " + field.doc)
        arr = self.array_type(cmd, field, count, arg=True)
        ET.SubElement(args, "Argument", name=field.name, argumentTypeRef=arr, shortDescription=field.doc[:250])
        ET.SubElement(entries, "ArgumentRefEntry", argumentRef=field.name)


def _num(value):
    return repr(float(value)) if isinstance(value, float) else str(value)


def _doc(text):
    e = ET.Element("LongDescription")
    e.text = text
    return e


def _comparison(parent, param, value, operator="=="):
    ET.SubElement(parent, "Comparison", parameterRef=param, value=str(value), comparisonOperator=operator)


def _header_fields(header, prefix):
    """(parameter name, bits, doc) of each field of one of codec's header constructs, in order, as
    codec declares them (a nested BitStruct's fields in its place); the CUC time is pus_time's own type."""
    if isinstance(header, Transformed):  # a BitStruct: its Struct
        header = header.subcon
    for field in header.subcons:
        c = field
        while isinstance(c, (Renamed, Const)):  # "name" / (Const) ... * "doc"
            c = c.subcon
        if isinstance(c, Transformed):
            yield from _header_fields(c, prefix)
        elif c is not codec.CucTime:
            bits = c.length if isinstance(c, BitsInteger) else 8 * c.sizeof()
            yield (field.name if field.name.startswith(prefix) else prefix + field.name), bits, field.docs


def _telemetry(db):
    entries = db.container("ccsds_primary", "CCSDS space packet primary header (CCSDS 133.0-B-2 4.1.3)", abstract=True)
    for name, bits, doc in _header_fields(codec.PrimaryHeader, "ccsds_"):
        ET.SubElement(entries, "ParameterRefEntry", parameterRef=db.parameter(name, db.bits_type(bits), doc))
    entries = db.container(
        "pus_tm", "PUS-C TM secondary header (ECSS-E-ST-70-41C 7.4.3.1)", base="ccsds_primary",
        restriction=[("ccsds_type", 0), ("ccsds_sec_header_flag", 1)], abstract=True,
    )
    for name, bits, doc in _header_fields(codec.TmSecondaryHeader, "pus_"):
        ET.SubElement(entries, "ParameterRefEntry", parameterRef=db.parameter(name, db.bits_type(bits), doc))
    time = db.parameter("pus_time", db.time_type(), "CUC time of the report")
    ET.SubElement(entries, "ParameterRefEntry", parameterRef=time)

    for m in d.tm_messages():
        name = message_container(m)
        entries = db.container(name, m.doc, base="pus_tm", restriction=[("pus_service", m.service), ("pus_subtype", m.subtype)], abstract=False)
        db.payload(name, _named_errors(m.payload), entries)
        if m.service == _ST1:
            _request_id_parts(db, entries)
        if m.name == "values":  # one container per parameter for a report of one parameter
            item_id = "%s-params_param_id" % name
            ET.SubElement(entries, "ParameterRefEntry", parameterRef=db.parameter(item_id, db.bits_type(16), "ID of the first parameter in the report"))
            for p in d.PARAMS:
                field = d.F("value", p.type, p.units, p.doc, None, None, None)
                sub = db.container(param_container(p), "value report of %s" % p.name, base=name, restriction=[("%s-params_count" % name, 1), (item_id, p.id)])
                ET.SubElement(sub, "ParameterRefEntry", parameterRef=db.parameter("%s-value" % xname(p.name), db.scalar_type(field), p.doc))
    hk_report = message_container(d.MESSAGE_BY_NAME["hk.report"])
    for h in d.HK_STRUCTURES:
        sub = db.container(hk_container(h), h.doc, base=hk_report, restriction=[("%s-sid" % hk_report, h.sid)])
        db.payload(hk_container(h), h.fields, sub)
    for e in d.EVENTS:
        report = message_container(d.MESSAGE_BY_KEY[("tm", 5, e.severity)])
        sub = db.container(event_container(e), e.doc, base=report, restriction=[("%s-event_id" % report, e.id)])
        db.payload(event_container(e), e.aux, sub)


_ST1 = d.SERVICE_BY_NAME["verification"].number
TC_APID, TC_SEQ = "verification-tc_apid", "verification-tc_seq"
# (verifier element, its name, ST1 stage); ECSS-E-ST-70-41C 6.1
_STAGES = (
    ("AcceptedVerifier", "Acceptance", "acceptance"),
    ("ExecutionVerifier", "Start", "start"),
    ("CompleteVerifier", "Completion", "completion"),
)
VERIFY_WINDOW_S = 30  # how long after its release Yamcs waits for each ST1 report of a TC


def _named_errors(fields):
    """An ST1 failure's error code is enumerated with the dictionary's error table (its names)."""
    return tuple(f._replace(names=dict(d.ERROR_BY_CODE)) if isinstance(f, d.F) and f is d.services.ERROR_CODE[0] else f for f in fields)


def _request_id_parts(db, entries):
    """The APID and sequence count inside an ST1 report's request ID (its first 4 octets: the TC's
    packet ID and sequence control), read again over it, for Yamcs' PUS1 verifiers; then back to its end."""
    if TC_APID not in {p.get("name") for p in db.params}:
        db.parameter(TC_APID, db.bits_type(11), "APID of the TC this report is about (from its request ID)")
        db.parameter(TC_SEQ, db.bits_type(14), "sequence count of the TC this report is about (from its request ID)")
    first = entries.find("ParameterRefEntry")  # request_id, 32 bits
    at = list(entries).index(first) + 1
    for offset, name in ((5 - 32, TC_APID), (2, TC_SEQ)):  # apid: bits 5..15; seq: bits 18..31
        e = ET.Element("ParameterRefEntry", parameterRef=name)
        loc = ET.SubElement(e, "LocationInContainerInBits", referenceLocation="previousEntry")
        ET.SubElement(loc, "FixedValue").text = str(offset)
        entries.insert(at, e)
        at += 1


def _verifiers(mc):
    """Yamcs' PUS1 verifier (org.yamcs.pus.Pus1Verifier) per ST1 stage: a TC's acceptance, start and
    completion in Yamcs' command history come from the board's ST1 reports on it."""
    vs = ET.SubElement(mc, "VerifierSet")
    for element, name, stage in _STAGES:
        ok = d.MESSAGE_BY_NAME["verification.%s_success" % stage]
        failure = d.MESSAGE_BY_NAME["verification.%s_failure" % stage]
        v = ET.SubElement(vs, element, name=name)
        alg = ET.SubElement(v, "CustomAlgorithm", name="verify_" + stage, shortDescription="ST1 %s report on this TC" % stage)
        ET.SubElement(alg, "AlgorithmText", language="Java").text = 'org.yamcs.pus.Pus1Verifier({stage: %d, template: "%s failed: {errorCode}"})' % (ok.subtype, stage)
        inputs = ET.SubElement(alg, "InputSet")
        for ref, input_name in (
            ("/yamcs/cmd/arg/apid", "sentApid"),
            ("/yamcs/cmdHist/ccsds-seqcount", "sentSeq"),
            ("/%s/%s" % (SPACE_SYSTEM, TC_APID), "rcvdApid"),
            ("/%s/%s" % (SPACE_SYSTEM, TC_SEQ), "rcvdSeq"),
            ("/%s/pus_subtype" % SPACE_SYSTEM, "subtype"),
            ("/%s/%s-error" % (SPACE_SYSTEM, message_container(failure)), "errorCode"),
        ):
            ET.SubElement(inputs, "InputParameterInstanceRef", parameterRef=ref, inputName=input_name)
        ET.SubElement(v, "CheckWindow", timeToStopChecking="PT%dS" % VERIFY_WINDOW_S, timeWindowIsRelativeTo="commandRelease")


def _commands(db):
    mc = ET.SubElement(db.commands, "MetaCommand", name="pus_tc", abstract="true", shortDescription="a PUS-C telecommand: both headers; length, sequence count and PEC are the post-processor's")
    args = ET.SubElement(mc, "ArgumentList")
    cc = ET.SubElement(mc, "CommandContainer", name="pus_tc-container")
    entries = ET.SubElement(cc, "EntryList")
    # version 0, type 1, secondary header flag 1, then the APID
    ET.SubElement(entries, "FixedValueEntry", binaryValue="03", sizeInBits="5")
    db.arg_bits(11, None, args, entries, "apid", "application process ID")
    ET.SubElement(entries, "FixedValueEntry", binaryValue="C000", sizeInBits="16")  # seq flags 0b11, seq count 0
    ET.SubElement(entries, "FixedValueEntry", binaryValue="0000", sizeInBits="16")  # data length: post-processor
    ET.SubElement(entries, "FixedValueEntry", binaryValue="%02X" % d.PUS_VERSION, sizeInBits="4")
    db.arg_bits(4, 0xF, args, entries, "ack_flags", "acknowledgement flags: 1 acceptance, 2 start, 4 progress, 8 completion")
    db.arg_bits(8, None, args, entries, "service", "service type ID")
    db.arg_bits(8, None, args, entries, "subtype", "message subtype ID")
    ET.SubElement(entries, "FixedValueEntry", binaryValue="%04X" % d.GROUND_ID, sizeInBits="16")  # source ID
    _verifiers(mc)

    for cmd in d.COMMANDS.values():
        assign = (("apid", cmd.apid), ("service", cmd.service), ("subtype", cmd.subtype))
        if cmd.function is not None:
            db.meta_command(command_name(cmd), cmd.doc, assign, cmd.payload, fixed=((16, cmd.function.id),))
        elif any(isinstance(f, d.List) and not all(isinstance(x, d.F) for x in f.item) for f in cmd.payload):
            # ST20 set: a value typed by its parameter, so one command per writable parameter
            for p in d.PARAMS:
                if p.writable:
                    field = d.F("value", p.type, p.units, p.doc, p.minimum, p.maximum, None)
                    db.meta_command(param_set_command(p), "set %s: %s" % (p.name, p.doc), assign, (field,), fixed=((8, 1), (16, p.id)))
        else:
            db.meta_command(command_name(cmd), cmd.doc, assign, cmd.payload)


def mission_database():
    """The XTCE document as an ElementTree root element."""
    db = _Db()
    _telemetry(db)
    _commands(db)
    root = ET.Element("SpaceSystem", name=SPACE_SYSTEM, xmlns=NS)
    root.append(_doc("mitra: CCSDS space packets with PUS-C headers, generated from ground/dictionary by `ground dict --format xtce`"))
    ET.SubElement(root, "Header", validationStatus="Working", classification="NotClassified", version="pus-%d" % d.PUS_VERSION)
    tm = ET.SubElement(root, "TelemetryMetaData")
    for part in (db.ptypes, db.params, db.containers):
        tm.append(part)
    cm = ET.SubElement(root, "CommandMetaData")
    for part in (db.atypes, db.commands):
        cm.append(part)
    return root


def xtce_text():
    """The XTCE document as text (UTF-8 XML)."""
    root = mission_database()
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- the schema ----------------------------------------------------------------------


def schema_path():
    """OMG's XTCE 1.2 schema (SpaceSystem.xsd, namespace 20180204) as the installed PyPI package
    space-packet-parser ships it; not copied into this repository."""
    try:
        import space_packet_parser
    except ImportError:
        raise MitraError("the XTCE 1.2 schema comes with the space-packet-parser package: pip install space-packet-parser (or pip install -e '.[test]')") from None
    path = Path(space_packet_parser.__file__).parent / "xtce" / "schemas" / "SpaceSystem.xsd"
    if not path.is_file():
        raise MitraError("%s: no XTCE schema in this space-packet-parser (%s)" % (path, getattr(space_packet_parser, "__version__", "?")))
    return path


def schema():
    """The XTCE 1.2 schema as an xmlschema validator (the XML namespace it imports is xmlschema's own copy)."""
    try:
        import xmlschema
    except ImportError:
        raise MitraError("validating XTCE needs the xmlschema package: pip install xmlschema (or pip install -e '.[test]')") from None
    return xmlschema.XMLSchema(str(schema_path()))


def validation_errors(text, validator=None):
    """The schema's complaints about an XTCE document (text): [] when it is valid."""
    validator = validator or schema()
    return ["%s: %s" % (e.path, e.reason) for e in validator.iter_errors(text)]


# --- our decode in the database's names ---------------------------------------------------


def parameter_values(p):
    """{XTCE parameter name: value} of a TM packet as ground.codec.decode gives it: what Yamcs must
    extract from the same octets with this database (raw values: enumerations as numbers, the CUC
    time as its 48-bit count, octets as bytes, a list as its count and a list of item dicts)."""
    out = {
        "ccsds_version": p["version"],
        "ccsds_type": 0 if p["type"] == "tm" else 1,
        "ccsds_sec_header_flag": p["sec_header_flag"],
        "ccsds_apid": p["apid"],
        "ccsds_seq_flags": p["seq_flags"],
        "ccsds_seq_count": p["seq_count"],
        "ccsds_data_len": p["data_len"],
    }
    if p["type"] != "tm" or p.get("name") in (None, "idle"):
        return out
    out.update(
        pus_version=p["pus_version"],
        pus_time_ref_status=p["time_ref_status"],
        pus_service=p["service"],
        pus_subtype=p["subtype"],
        pus_message_counter=p["message_counter"],
        pus_destination_id=p["destination_id"],
        pus_time=(p["time"]["coarse"] << 16) | p["time"]["fine"],
    )
    m = d.MESSAGE_BY_KEY[("tm", p["service"], p["subtype"])]
    name = message_container(m)
    data = p["data"]
    if m.service == _ST1:
        out[TC_APID] = (data["request_id"] >> 16) & 0x7FF
        out[TC_SEQ] = data["request_id"] & 0x3FFF
    for field in m.payload:
        if isinstance(field, d.F):
            out["%s-%s" % (name, field.name)] = data[field.name]
        elif isinstance(field, d.Rest):
            out["%s-%s" % (name, field.name)] = bytes(data[field.name])
        elif isinstance(field, d.List):
            items = data[field.name]
            out["%s-%s_count" % (name, field.name)] = len(items)
            if all(isinstance(x, d.F) for x in field.item):
                out["%s-%s" % (name, field.name)] = [{x.name: item[x.name] for x in field.item} for item in items]
            elif items:  # a value report: its first parameter ID, the value when it is the only one
                out["%s-params_param_id" % name] = items[0]["param_id"]
                if len(items) == 1:
                    out["%s-value" % xname(d.PARAM_BY_ID[items[0]["param_id"]].name)] = items[0]["value"]
        elif isinstance(field, d.Typed) and field.table == "hk":
            h = d.HK_BY_SID[data[field.key_field]]
            out.update(("%s-%s" % (hk_container(h), f.name), data[field.name][f.name]) for f in h.fields)
        elif isinstance(field, d.Typed) and field.table == "event":
            e = d.EVENT_BY_ID[data[field.key_field]]
            out.update(("%s-%s" % (event_container(e), f.name), data[field.name][f.name]) for f in e.aux)
    return out
