"""ground.export: the generated firmware tables are current; the JSON dictionary is complete."""

import json

import pytest

from ground import dictionary as d
from ground import export


def test_export_committed_firmware_tables_are_current():
    for path, text in export.generated_files().items():
        assert path.read_text() == text, "%s is stale: run `python -m ground.export` and commit the result" % path.name


def test_export_main_writes_every_generated_module(tmp_path, capsys):
    assert export.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    names = ["dictionary.py"] + ["tables_%s.py" % v.name for v in d.VEHICLES]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for path, text in export.generated_files(tmp_path).items():
        assert path.read_text() == text
        assert str(path) in out


def _exec(source, name):
    namespace = {}
    exec(compile(source.replace("from micropython import const", "const = lambda v: v"), name, "exec"), namespace)
    return namespace


def test_export_firmware_tables_are_valid_python_with_every_message_and_merge_per_vehicle():
    core = _exec(export.firmware_tables(), "dictionary.py")
    assert sorted(core["TC_LAYOUT"]) == sorted((m.service << 8) | m.subtype for m in d.tc_messages())
    assert sorted(core["TM_LAYOUT"]) == sorted((m.service << 8) | m.subtype for m in d.tm_messages())
    assert core["ERR_BAD_LENGTH"] == 4 and core["TC_PARAM_SET"] == 0x1403
    obc = d.APID_BY_NAME["obc"]
    owned = lambda kind, ids, apids: sorted(i for i in ids if d.OWNER[(kind, i)] in apids)  # noqa: E731
    assert sorted(core["EVENTS"]) == owned("event", [e.id for e in d.EVENTS], {obc})
    assert [p[0] for p in core["PARAMS"]] == owned("param", [p.id for p in d.PARAMS], {obc})
    for v in d.VEHICLES:
        apids = {c.apid for c in v.components}
        tables = _exec(export.vehicle_tables(v), "tables_%s.py" % v.name)
        assert sorted(tables["EVENTS"]) == owned("event", [e.id for e in d.EVENTS], apids)
        assert sorted(p[0] for p in tables["PARAMS"]) == owned("param", [p.id for p in d.PARAMS], apids)
        assert sorted(tables["HK"]) == owned("hk", [h.sid for h in d.HK_STRUCTURES], apids)
        assert sorted(tables["FUNCTIONS"]) == sorted(fn.id for c in v.components for fn in c.functions)
        assert tables["PARAM_TYPE"] == {p[0]: p[1] for p in tables["PARAMS"]}


@pytest.mark.parametrize(
    "name,kind,layout",
    [
        ("param.set", "tc", "[HP]"),
        ("param.get", "tc", "[H]"),
        ("param.values", "tm", "[HP]"),
        ("hk.report", "tm", "HK"),
        ("hk.change_interval", "tc", "[HI]"),
        ("event.info", "tm", "HE"),
        ("event.high", "tm", "HE"),
        ("time.report", "tm", "BIHB"),
        ("time.set_time", "tc", "IH"),
        ("test.ping", "tc", ""),
        ("verification.progress_failure", "tm", "IBH"),
    ],
)
def test_export_layout_of_known_messages(name, kind, layout):
    service_name, _, message_name = name.partition(".")
    service = d.SERVICE_BY_NAME[service_name].number
    (message,) = [m for m in d.MESSAGES if m.kind == kind and m.service == service and m.name == message_name]
    assert export.layout(message.payload) == layout


def test_export_layout_of_events_params_and_hk():
    assert export.layout(d.EVENT_BY_ID[2].aux) == "BHII"
    assert export.layout(d.HK_BY_SID[1].fields) == "I" * len(d.HK_BY_SID[1].fields)
    assert export.layout((d.f("x", "i8", ""), d.f("y", "i16", ""), d.f("z", "i32", ""), d.f("w", "f32", ""))) == "bhif"
    assert export.layout((d.List("l", (d.List("m", (d.f("x", "u8", ""),), ""),), ""),)) == "[[B]]"


def test_export_layout_of_non_field_is_type_error():
    with pytest.raises(TypeError):
        export.layout(("not a field",))


def test_export_dictionary_json_serialisable_and_round_trips():
    data = export.dictionary_json()
    assert json.loads(json.dumps(data)) == data


def test_export_dictionary_json_lists_every_message_error_param_event():
    data = export.dictionary_json()
    messages = {
        (m["kind"], s["service"], m["subtype"], m["name"]) for s in data["services"] for m in s["messages"]
    }
    assert messages == {(m.kind, m.service, m.subtype, m.name) for m in d.MESSAGES}
    assert sum(len(s["messages"]) for s in data["services"]) == len(d.MESSAGES)
    assert [(s["service"], s["name"]) for s in data["services"]] == [(s.number, s.name) for s in d.SERVICES]
    assert [(e["code"], e["name"]) for e in data["errors"]] == [(c, n) for c, n, _ in d.ERRORS]
    assert [(p["id"], p["name"], p["type"]) for p in data["parameters"]] == [(p.id, p.name, p.type) for p in d.PARAMS]
    assert [(e["id"], e["name"], e["severity"]) for e in data["events"]] == [(e.id, e.name, e.severity) for e in d.EVENTS]
    assert [h["sid"] for h in data["hk_structures"]] == [h.sid for h in d.HK_STRUCTURES]
    assert [a["apid"] for a in data["apids"]] == sorted(d.APIDS)
    assert (data["pus_version"], data["ground_id"], data["cuc_p_field"]) == (2, 1, 0x2E)


def test_export_dictionary_json_payload_field_types():
    data = export.dictionary_json()
    by_name = {(s["name"], m["kind"], m["name"]): m for s in data["services"] for m in s["messages"]}
    (params,) = by_name[("param", "tc", "set")]["payload"]
    assert params["type"] == "list" and params["count"] == "u8"
    assert [f["type"] for f in params["item"]] == ["u16", "param_value"]
    assert params["item"][1]["typed_by"] == "param_id"
    sid, tail = by_name[("hk", "tm", "report")]["payload"]
    assert (sid["name"], sid["type"]) == ("sid", "u16")
    assert (tail["type"], tail["typed_by"]) == ("hk_tail", "sid")
    assert by_name[("event", "tm", "info")]["payload"][1]["type"] == "event_tail"
    coarse = by_name[("time", "tc", "set_time")]["payload"][0]
    assert (coarse["name"], coarse["type"], coarse["units"]) == ("coarse", "u32", "s")
