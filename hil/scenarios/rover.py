"""The rover scenarios of GNC.md (R1, R2, R3, R5), with the C core in the loop.

Each lives in its own module, imported here so that loading hil.scenarios.rover registers them:
rover_drive (R1 square path, R3 slope-limited terrain), rover_heading (R2 gyro drift and sun
fixes), rover_drill (R5 drill faults). The terrain and Sun are hil.scenarios.terrain.
"""

from hil.scenarios import rover_drive  # noqa: F401  (R1, R3)
from hil.scenarios import rover_heading  # noqa: F401  (R2)
from hil.scenarios import rover_drill  # noqa: F401  (R5)
