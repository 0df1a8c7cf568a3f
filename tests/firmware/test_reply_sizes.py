"""Every TM the board builds fits the smallest frame any board declares (issue 11 item 1 audit).

Variable-length replies are handled where they are built (ST20 splits, ST11 refuses with
REPLY_TOO_LONG past its table, ST13 sizes its parts to the frame: their own tests); every
other TM has one size per message, HK structure or event, checked here against boards/*.json,
so a dictionary change that outgrows a board fails here and not on the board.
"""

import json
import struct
from pathlib import Path

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.services import st11

D.use_vehicle("inspector")
D.use_vehicle("rover")

BOARDS = sorted((Path(__file__).resolve().parents[2] / "boards").glob("*.json"))
SMALLEST = min(json.loads(p.read_text())["link"].get("max_frame", D.MAX_FRAME) for p in BOARDS)
_OVERHEAD = fp.PRIMARY_LEN + fp.TM_SEC_LEN + fp.PEC_LEN


def _fixed_sizes():
    """(name, packet octets) of every TM whose size does not depend on a count."""
    out = []
    for key, layout in D.TM_LAYOUT.items():
        if "[" in layout or "R" in layout or "Y" in layout:
            continue  # variable: ST11 summary, ST13 parts
        head = layout.rstrip("KE")
        base = struct.calcsize(">" + head)
        if layout.endswith("K"):
            out += [("hk sid %d" % sid, _OVERHEAD + base + struct.calcsize(">" + sub)) for sid, sub in D.HK.items()]
        elif layout.endswith("E"):
            out += [("event %d" % eid, _OVERHEAD + base + struct.calcsize(">" + e[1])) for eid, e in D.EVENTS.items()]
        else:
            out.append(("tm 0x%04x" % key, _OVERHEAD + base))
    return out


def test_smallest_board_frame_is_the_esp32s():
    assert SMALLEST == 240


@pytest.mark.parametrize("name, size", _fixed_sizes())
def test_every_fixed_size_tm_fits_the_smallest_board_frame(name, size):
    assert size <= SMALLEST, "%s is a %d-octet packet, over the smallest board frame (%d)" % (name, size, SMALLEST)


def test_st11_summary_of_a_full_table_fits_the_smallest_board_frame():
    # so REPLY_TOO_LONG from sched.summary is a guard, never an answer on our boards
    assert _OVERHEAD + 2 + st11.CAPACITY * 10 <= SMALLEST
