# The rover flight app (APIDs 0x020-0x024): app.py wires it; drive.py is the 10 Hz cycle
# (sensors -> gnc.rover_step -> wheels) and the route, drill.py the drill and spectrometer,
# power.py the battery, shadow and the reserve predictions.
