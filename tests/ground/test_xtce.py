"""ground/xtce.py: the XTCE 1.2 mission database validates against OMG's XTCE 1.2 schema and holds
every packet, parameter (units, enumerations) and command (typed, ranged arguments) of the dictionary."""

import xml.etree.ElementTree as ET

import pytest

from ground import dictionary as d
from ground import xtce
from ground.cli import main
from ground.errors import MitraError
from hil.plugin import unavailable

NS = {"x": xtce.NS}


@pytest.fixture(scope="module")
def validator():
    try:
        return xtce.schema()
    except MitraError as exc:
        unavailable(str(exc), "CI must have the XTCE schema and xmlschema (pyproject test extra): %s" % exc)


@pytest.fixture(scope="module")
def text():
    return xtce.xtce_text()


@pytest.fixture(scope="module")
def root(text):
    return ET.fromstring(text)


def _types(root):
    return {t.get("name"): t for t in root.iterfind(".//x:ParameterTypeSet/*", NS)}


def _arg_types(root):
    return {t.get("name"): t for t in root.iterfind(".//x:ArgumentTypeSet/*", NS)}


def _params(root):
    return {p.get("name"): p for p in root.iterfind(".//x:ParameterSet/x:Parameter", NS)}


def _containers(root):
    return {c.get("name"): c for c in root.iterfind(".//x:ContainerSet/x:SequenceContainer", NS)}


def _commands(root):
    return {c.get("name"): c for c in root.iterfind(".//x:MetaCommandSet/x:MetaCommand", NS)}


def test_xtce_schema_is_omg_xtce_1_2(validator):
    assert validator.version == "1.2"
    assert validator.target_namespace == "http://www.omg.org/spec/XTCE/20180204" == xtce.NS


def test_xtce_validates_against_the_xtce_1_2_schema(validator, text):
    assert xtce.validation_errors(text, validator) == []


@pytest.mark.parametrize(
    "old, new, why",
    [
        ("<ParameterRefEntry parameterRef=", "<ParameterReference parameterRef=", "an element the schema does not declare"),
        ('<Parameter name="ccsds_apid" parameterTypeRef="uint11"', '<Parameter name="ccsds_apid"', "a Parameter without its required type"),
        ('<Parameter name="ccsds_seq_flags"', '<Parameter name="ccsds_apid"', "two parameters of one name (the schema's parameterNameKey)"),
        ('name="test-ping"', 'name="test.ping"', "a name with a dot (NameType)"),
    ],
)
def test_xtce_schema_rejects_a_broken_document(validator, text, old, new, why):
    assert old in text
    assert xtce.validation_errors(text.replace(old, new, 1), validator), why


def test_xtce_has_the_primary_and_pus_headers_with_the_cuc_time(root):
    containers = _containers(root)
    primary = [e.get("parameterRef") for e in containers["ccsds_primary"].iterfind("x:EntryList/x:ParameterRefEntry", NS)]
    assert primary == ["ccsds_version", "ccsds_type", "ccsds_sec_header_flag", "ccsds_apid", "ccsds_seq_flags", "ccsds_seq_count", "ccsds_data_len"]
    tm = [e.get("parameterRef") for e in containers["pus_tm"].iterfind("x:EntryList/x:ParameterRefEntry", NS)]
    assert tm[-1] == "pus_time" and "pus_service" in tm and "pus_subtype" in tm
    time_type = _types(root)[_params(root)["pus_time"].get("parameterTypeRef")]
    enc = time_type.find("x:Encoding", NS)
    assert float(enc.get("scale")) == 2.0**-16
    assert enc.find("x:IntegerDataEncoding", NS).get("sizeInBits") == "48"
    assert time_type.find("x:ReferenceTime/x:Epoch", NS).text == "2000-01-01T00:00:00"
    bits = sum(int(_types(root)[_params(root)[n].get("parameterTypeRef")].find("x:IntegerDataEncoding", NS).get("sizeInBits")) for n in primary)
    assert bits == 48  # the 6-octet primary header


def _restriction(container):
    return {c.get("parameterRef"): int(c.get("value")) for c in container.iterfind("x:BaseContainer/x:RestrictionCriteria//x:Comparison", NS)}


def test_xtce_has_a_container_per_tm_message_hk_structure_and_event(root):
    containers = _containers(root)
    for m in d.tm_messages():
        c = containers[xtce.message_container(m)]
        assert _restriction(c) == {"pus_service": m.service, "pus_subtype": m.subtype}
    report = xtce.message_container(d.MESSAGE_BY_KEY[("tm", 3, 25)])
    for h in d.HK_STRUCTURES:
        c = containers[xtce.hk_container(h)]
        assert c.find("x:BaseContainer", NS).get("containerRef") == report
        assert _restriction(c) == {report + "-sid": h.sid}
        fields = [e.get("parameterRef") for e in c.iterfind("x:EntryList/x:ParameterRefEntry", NS)]
        assert fields == ["%s-%s" % (xtce.hk_container(h), f.name) for f in h.fields]
    for e in d.EVENTS:
        c = containers[xtce.event_container(e)]
        base = xtce.message_container(d.MESSAGE_BY_KEY[("tm", 5, e.severity)])
        assert c.find("x:BaseContainer", NS).get("containerRef") == base
        assert _restriction(c) == {base + "-event_id": e.id}
    for p in d.PARAMS:
        assert xtce.param_container(p) in containers


def _scalar_fields():
    for h in d.HK_STRUCTURES:
        for f in h.fields:
            yield "%s-%s" % (xtce.hk_container(h), f.name), f
    for e in d.EVENTS:
        for f in e.aux:
            yield "%s-%s" % (xtce.event_container(e), f.name), f


def test_xtce_parameters_carry_units_encodings_and_enumerations(root):
    types, params = _types(root), _params(root)
    checked = 0
    for name, f in _scalar_fields():
        t = types[params[name].get("parameterTypeRef")]
        assert [u.text for u in t.iterfind("x:UnitSet/x:Unit", NS)] == ([f.units] if f.units else []), name
        if f.names:
            assert t.tag == "{%s}EnumeratedParameterType" % xtce.NS
            assert {int(e.get("value")): e.get("label") for e in t.iterfind("x:EnumerationList/x:Enumeration", NS)} == f.names
        elif f.type == "f32":
            assert t.find("x:FloatDataEncoding", NS).get("sizeInBits") == "32"
        else:
            enc = t.find("x:IntegerDataEncoding", NS)
            assert int(enc.get("sizeInBits")) == 8 * d.SCALARS[f.type][1], name
            assert enc.get("encoding") == ("twosComplement" if f.type.startswith("i") else "unsigned"), name
        checked += 1
    assert checked > 100


def _args(mc):
    return [a.get("name") for a in mc.iterfind("x:ArgumentList/x:Argument", NS)]


def test_xtce_has_a_meta_command_per_tc_with_typed_ranged_arguments(root):
    commands, atypes = _commands(root), _arg_types(root)
    assert commands["pus_tc"].get("abstract") == "true"
    for cmd in d.COMMANDS.values():
        if cmd.name == "param.set":
            continue  # one command per writable parameter, below
        mc = commands[xtce.command_name(cmd)]
        assigned = {a.get("argumentName"): int(a.get("argumentValue")) for a in mc.iterfind("x:BaseMetaCommand//x:ArgumentAssignment", NS)}
        assert assigned == {"apid": cmd.apid, "service": cmd.service, "subtype": cmd.subtype}
        if cmd.function is None:
            continue
        assert _args(mc) == [a.name for a in cmd.function.args]
        fixed = mc.find("x:CommandContainer/x:EntryList/x:FixedValueEntry", NS)
        assert int(fixed.get("binaryValue"), 16) == cmd.function.id and fixed.get("sizeInBits") == "16"
        for a in cmd.function.args:
            t = atypes[mc.find("x:ArgumentList/x:Argument[@name='%s']" % a.name, NS).get("argumentTypeRef")]
            if a.names:
                assert {int(e.get("value")): e.get("label") for e in t.iterfind("x:EnumerationList/x:Enumeration", NS)} == a.names
            elif a.minimum is not None or a.maximum is not None:
                rng = t.find("x:ValidRangeSet/x:ValidRange", NS)
                lo, hi = d.SCALARS[a.type][2:]
                assert float(rng.get("minInclusive")) == (a.minimum if a.minimum is not None else lo)
                assert float(rng.get("maxInclusive")) == (a.maximum if a.maximum is not None else hi)
    writable = [p for p in d.PARAMS if p.writable]
    for p in writable:
        mc = commands[xtce.param_set_command(p)]
        rng = atypes[mc.find("x:ArgumentList/x:Argument", NS).get("argumentTypeRef")].find("x:ValidRangeSet/x:ValidRange", NS)
        assert (float(rng.get("minInclusive")), float(rng.get("maxInclusive"))) == (p.minimum, p.maximum)
    assert len(writable) > 5


def test_cli_dict_xtce_writes_the_file(tmp_path, capsys, text):
    out = tmp_path / "mitra.xtce.xml"
    assert main(["dict", "--format", "xtce", "-o", str(out)]) == 0
    assert out.read_text() == text
    assert "wrote %s" % out in capsys.readouterr().err


def test_cli_dict_to_an_unwritable_file_is_one_line(tmp_path, capsys):
    assert main(["dict", "--format", "xtce", "-o", str(tmp_path / "no" / "such.xml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ground: ") and "No such file or directory" in err[0]


def test_xtce_st1_reports_read_the_request_ids_apid_and_sequence_count_and_name_the_error(root):
    containers, params, types = _containers(root), _params(root), _types(root)
    for m in d.tm_messages():
        if m.service != 1:
            continue
        entries = list(containers[xtce.message_container(m)].find("x:EntryList", NS))
        refs = [e.get("parameterRef") for e in entries]
        assert refs[:3] == [xtce.message_container(m) + "-request_id", xtce.TC_APID, xtce.TC_SEQ]
        # request_id is 32 bits; the APID sits at its bits 5..15, the sequence count at 18..31
        assert [int(e.find("x:LocationInContainerInBits/x:FixedValue", NS).text) for e in entries[1:3]] == [5 - 32, 2]
        for e in entries[1:3]:
            assert e.find("x:LocationInContainerInBits", NS).get("referenceLocation") == "previousEntry"
        if m.name.endswith("_failure"):
            t = types[params[xtce.message_container(m) + "-error"].get("parameterTypeRef")]
            assert {int(e.get("value")): e.get("label") for e in t.iterfind("x:EnumerationList/x:Enumeration", NS)} == d.ERROR_BY_CODE


def test_xtce_every_tc_is_verified_by_yamcs_pus1_verifiers_on_its_st1_reports(root):
    params = _params(root)
    verifiers = list(_commands(root)["pus_tc"].find("x:VerifierSet", NS))
    assert [(v.tag.split("}")[1], v.get("name")) for v in verifiers] == [
        ("AcceptedVerifier", "Acceptance"), ("ExecutionVerifier", "Start"), ("CompleteVerifier", "Completion")]
    for v, stage in zip(verifiers, (1, 3, 7)):
        text = v.find("x:CustomAlgorithm/x:AlgorithmText", NS).text
        assert text.startswith("org.yamcs.pus.Pus1Verifier({stage: %d," % stage)
        refs = {i.get("inputName"): i.get("parameterRef") for i in v.iterfind("x:CustomAlgorithm/x:InputSet/x:InputParameterInstanceRef", NS)}
        assert refs["sentApid"] == "/yamcs/cmd/arg/apid" and refs["sentSeq"] == "/yamcs/cmdHist/ccsds-seqcount"
        for name in ("rcvdApid", "rcvdSeq", "subtype", "errorCode"):
            assert refs[name].startswith("/mitra/") and refs[name][len("/mitra/"):] in params, name
        assert refs["errorCode"].endswith("_failure-error")
