"""fsw.dictionary.use_vehicle: a board holds the OBC's tables and merges only its own vehicle's."""

import pytest


@pytest.mark.micropython
def test_use_vehicle_merges_one_vehicles_tables_once(micropython):
    out = micropython(
        "from fsw import dictionary as D\n"
        "print(len(D.EVENTS), len(D.PARAMS), len(D.FUNCTIONS), D.FN_ROVER_MOBILITY_SET_MODE in D.FUNCTIONS)\n"
        "D.use_vehicle('rover')\n"
        "D.use_vehicle('rover')\n"
        "import sys\n"
        "print(len(D.EVENTS), len(D.PARAMS), len(D.FUNCTIONS), D.FN_ROVER_MOBILITY_SET_MODE in D.FUNCTIONS,\n"
        "      D.FN_INSPECTOR_ADCS_SET_MODE in D.FUNCTIONS, 'fsw.tables_rover' in sys.modules,\n"
        "      D.PARAM_TYPE[D.PARAMS[-1][0]] == D.PARAMS[-1][1])\n"
    ).decode().split("\n")
    from ground import dictionary as d

    obc = d.APID_BY_NAME["obc"]
    rover = {c.apid for c in d.VEHICLE_BY_NAME["rover"].components}

    def count(kind, ids, apids):
        return sum(1 for i in ids if d.OWNER[(kind, i)] in apids)

    events = [e.id for e in d.EVENTS]
    params = [p.id for p in d.PARAMS]
    assert out[0].split() == [str(count("event", events, {obc})), str(count("param", params, {obc})), "0", "False"]
    fns = sum(len(c.functions) for c in d.VEHICLE_BY_NAME["rover"].components)
    assert out[1].split() == [
        str(count("event", events, {obc} | rover)),
        str(count("param", params, {obc} | rover)),
        str(fns),
        "True",
        "False",
        "False",
        "True",
    ]
