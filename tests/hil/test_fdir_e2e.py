"""FDIR end to end on the SITL (unix port and CPython): a task hung by command
(TC 12.129) -> task_hung, the vehicle's safe mode and safed; the safing record
survives a reboot (safed re-reported, the vehicle boots safe); TC 12.128 clears it
and the ground commands the mode. The vehicle is a test-only one
(tests/hil/fdir_vehicle.py, passed as the SITL's program); waits are safety nets."""

from pathlib import Path

import pytest

from ground import dictionary as d
from ground.link import CommandFailed
from hil.plugin import EVENT_BOOT, is_event, ping_barrier, wait_for

PROGRAM = Path(__file__).resolve().parent / "fdir_vehicle.py"
EVT = d.EVENT_BY_NAME
SURVIVAL, IDLE = 0, d.VEHICLE_BY_NAME["rover"].boot_mode
REASON = {name: n for n, name in d.SAFING_REASONS.items()}


def events(packets, name):
    return [p["data"]["aux"] for p in packets if is_event(p, EVT[name].id)]


def mode_change(link, mode):
    """Command the rover's mode; the (old, new, reason) of the event it caused."""
    result = link.command("rover_mobility.set_mode", {"mode": mode})
    (aux,) = events(result.telemetry, "rover_mode_changed")
    return aux["old"], aux["new"], aux["reason"]


def test_fdir_hung_task_safes_and_the_record_survives_reboot_until_cleared(flight):
    rover = flight.spawn(program=str(PROGRAM))
    with rover.link() as link:
        assert link.command("fdir.hang_task", {"task": 1}).completed
        seen = []
        wait_for(link, lambda p: is_event(p, EVT["safed"].id), seen=seen)
        ordered = [(p["data"]["event_id"], p["data"]["aux"]) for p in seen if is_event(p)]
        assert [eid for eid, _ in ordered] == [EVT["task_hung"].id, EVT["rover_mode_changed"].id, EVT["safed"].id]
        hung, mode, safed = (aux for _, aux in ordered)
        assert hung["task"] == 1 and hung["late_ms"] > 1500  # nav: 500 ms period, 3 periods of tolerance
        assert (mode["old"], mode["new"], mode["reason"]) == (IDLE, SURVIVAL, 2)  # 2: fdir
        assert (safed["reason"], safed["detail"], safed["boot_count"]) == (REASON["task_hung"], 1, 1)

        rover.reboot()
        seen = []
        wait_for(link, lambda p: is_event(p, EVT["safed"].id), seen=seen)
        assert [p["data"]["aux"]["boot_count"] for p in seen if is_event(p, EVENT_BOOT)] == [2]
        assert events(seen, "safed") == [safed]  # the same record, reason and all

        assert link.command("fdir.clear_safing").completed
        assert mode_change(link, IDLE) == (SURVIVAL, IDLE, 0)  # it had booted safe; the ground commands the mode

        rover.reboot()
        seen = []
        wait_for(link, lambda p: is_event(p, EVENT_BOOT), seen=seen)
        seen += ping_barrier(link)
        assert events(seen, "safed") == []  # cleared: nothing re-reported
        assert mode_change(link, IDLE) == (IDLE, IDLE, 0)  # and it booted in its boot mode


def test_fdir_hang_task_past_the_task_table_fails_at_start(flight):
    rover = flight.spawn(program=str(PROGRAM))
    with rover.link() as link:
        with pytest.raises(CommandFailed) as info:
            link.command("fdir.hang_task", {"task": 2})
        assert (info.value.stage, info.value.error) == ("start", "ARG_OUT_OF_RANGE")
        seen = ping_barrier(link)
        assert [p for p in seen if is_event(p, EVT["task_hung"].id)] == []
