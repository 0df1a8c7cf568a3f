# ST17 test: are-you-alive. TC 17.1 -> TM 17.2.
from fsw import dictionary as D


class Test:
    def __init__(self, apid, tm, send):
        self.apid = apid
        self.tm = tm
        self.send = send

    def register(self, dispatcher):
        dispatcher.register(D.TC_TEST_PING, self.ping)

    def ping(self, _args):
        n = self.tm.build(self.apid, D.TM_TEST_PONG, ())
        self.send(self.tm.buf, n)
        return 0
