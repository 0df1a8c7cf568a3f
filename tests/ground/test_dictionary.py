"""The dictionary by owner: every component's functions, events and HK structures round-trip
through the ground codec and the firmware codec, commands route to their owner's APID, and an
inconsistent declaration is refused at import."""

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from ground import codec
from ground import dictionary as d

# a board merges its vehicle's tables at boot; these tests look at both vehicles'
D.use_vehicle("inspector")
D.use_vehicle("rover")
from ground.errors import DictionaryError


def _value(field):
    if field.names:
        return max(field.names)
    if field.type == "f32":
        return field.maximum if field.maximum is not None else -2.5
    if field.maximum is not None:
        return field.maximum
    return d.SCALARS[field.type][3]


def _values(fields):
    return {f.name: _value(f) for f in fields}


def _items():
    for c in d.COMPONENTS:
        for fn in c.functions:
            yield pytest.param(c, "function", fn, id="%s.%s" % (c.name, fn.name))
        for e in c.events:
            yield pytest.param(c, "event", e, id="%s:%s" % (c.name, e.name))
        for h in c.hk:
            yield pytest.param(c, "hk", h, id="%s/hk:%s" % (c.name, h.name))


def _fw_values(kind, item, values):
    fields = item.args if kind == "function" else item.aux if kind == "event" else item.fields
    key = item.id if kind != "hk" else item.sid
    return [key] + [values[f.name] for f in fields]


@pytest.mark.parametrize("component, kind, item", list(_items()))
def test_dictionary_component_item_round_trips_ground_firmware_ground(component, kind, item):
    if kind == "function":
        values = _values(item.args)
        raw = codec.encode_command(d.command("%s.%s" % (component.name, item.name)), values, seq_count=3)
        layout = D.TC_LAYOUT[D.TC_FUNCTION_PERFORM]
        start, end = fp.PRIMARY_LEN + fp.TC_SEC_LEN, len(raw) - fp.PEC_LEN
        assert codec.decode(raw)["apid"] == component.apid
    elif kind == "event":
        values = _values(item.aux)
        raw = codec.encode_tm(5, item.severity, {"event_id": item.id, "aux": values}, apid=component.apid)
        layout = D.TM_LAYOUT[(5 << 8) | item.severity]
        start, end = fp.PRIMARY_LEN + fp.TM_SEC_LEN, len(raw) - fp.PEC_LEN
        assert D.EVENTS[item.id][2] == component.apid
    else:
        values = _values(item.fields)
        raw = codec.encode_tm(3, 25, {"sid": item.sid, "params": values}, apid=component.apid)
        layout = D.TM_LAYOUT[D.TM_HK_REPORT]
        start, end = fp.PRIMARY_LEN + fp.TM_SEC_LEN, len(raw) - fp.PEC_LEN
        assert D.HK_APID[item.sid] == component.apid
    got = fp.unpack(layout, raw, start, end)
    want = _fw_values(kind, item, values)
    assert [round(v, 3) if isinstance(v, float) else v for v in got] == [round(v, 3) if isinstance(v, float) else v for v in want]
    buf = bytearray(len(raw))
    assert bytes(buf[: fp.pack_into(layout, buf, 0, got)]) == raw[start:end]


def test_dictionary_every_function_routes_to_its_owner_and_every_service_to_the_obc():
    for c in d.COMPONENTS:
        for fn in c.functions:
            cmd = d.command("%s.%s" % (c.name, fn.name))
            assert (cmd.apid, cmd.service, cmd.subtype, cmd.function) == (c.apid, 8, 1, fn)
            assert D.FUNCTIONS[fn.id][0] == c.apid
    for name, cmd in d.COMMANDS.items():
        if cmd.function is None:
            assert cmd.apid == d.APID_BY_NAME["obc"], name


def test_dictionary_function_modes_become_firmware_masks():
    for v in d.VEHICLES:
        for c in v.components:
            for fn in c.functions:
                mask = D.FUNCTIONS[fn.id][2]
                allowed = {name for n, name, _ in v.modes if mask & (1 << n)}
                assert allowed == ({name for _, name, _ in v.modes} if fn.modes is None else set(fn.modes)), fn.name


def test_dictionary_unknown_command_names_the_component_functions():
    with pytest.raises(DictionaryError, match=r"unknown command 'rover_mobility\.fly' \(known: rover_mobility\.clear_faults, "):
        d.command("rover_mobility.fly")
    with pytest.raises(DictionaryError, match="unknown service or component 'rocket'"):
        d.command("rocket.launch")


def test_dictionary_refuses_duplicate_ids_and_unknown_modes(monkeypatch):
    fn = d.FUNCTIONS[0]
    monkeypatch.setattr(d, "FUNCTIONS", d.FUNCTIONS + [fn])
    with pytest.raises(ValueError, match="duplicate function in the dictionary: \\[%d\\]" % fn.id):
        d._check()
    monkeypatch.undo()
    bad = d.Function(0x7FF0, "warp", (), "go fast", modes=("HYPERSPACE",))
    comp = d.rover.MOBILITY._replace(functions=list(d.rover.MOBILITY.functions) + [bad])
    vehicle = d.rover.VEHICLE._replace(components=[comp] + d.rover.VEHICLE.components[1:])
    monkeypatch.setattr(d, "VEHICLES", [d.inspector.VEHICLE, vehicle])
    with pytest.raises(ValueError, match="rover_mobility.warp: unknown mode 'HYPERSPACE' of rover"):
        d._check()
