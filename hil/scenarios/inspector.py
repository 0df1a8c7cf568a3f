"""Inspector closed-loop scenarios (GNC.md "Closed-loop scenarios": D1, P1, E1, M1, G1, S1, A1).

The spacecraft, orbit and debris parameters are stated once in inspector_common.py; the truth models
(float64) are in world.py; the flight algorithms are the C core (`native`). Importing this module
registers the scenarios:

    D1, P1, E1, M1   inspector_attitude.py   detumbling, slews, MEKF, momentum dumping
    G1, S1, A1       inspector_relative.py   CW transfers, safety ellipse, abort
"""

from hil.scenarios import inspector_attitude  # noqa: F401 (registers D1, P1, E1, M1)
from hil.scenarios import inspector_relative  # noqa: F401 (registers G1, S1, A1)
