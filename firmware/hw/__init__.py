# Emulated hardware behind the HAL: device models that make a bare dev board a
# whole vehicle. The board file's "devices" list says which devices exist; a
# device listed under "attached" is a real driver and replaces its model behind
# the same calls (hw.inspector.build / hw.rover.build wire them).
