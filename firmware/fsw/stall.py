# Actuator stall monitor (FDIR on the app side): an actuator commanded to act whose
# measured response stays under a fraction of what the command should give, for a run of
# consecutive cycles, is stuck. One instance per actuator channel (a wheel axis, a side);
# check() runs in the 10 Hz cycle and allocates nothing.
class Stall:
    def __init__(self, cycles, min_command, min_ratio):
        self.cycles = cycles  # consecutive cycles before declaring
        self.min_command = min_command  # commands below this are not judged (noise, ramps)
        self.min_ratio = min_ratio  # response / command below this counts as no response
        self.count = 0
        self.stuck = False

    def check(self, command, response):
        # command, response: magnitudes in the same unit. True once, the cycle it is declared.
        if self.stuck:
            return False
        if command >= self.min_command and response < self.min_ratio * command:
            self.count += 1
            if self.count >= self.cycles:
                self.stuck = True
                return True
        else:
            self.count = 0
        return False

    def reset(self):
        self.count = 0
        self.stuck = False
