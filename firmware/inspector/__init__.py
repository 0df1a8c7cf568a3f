# The inspector flight app (APIDs 0x010-0x014): app.py wires it; adcs.py is the 10 Hz
# control cycle, guidance.py the relative navigation and burns, payload.py the camera.
