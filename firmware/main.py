# Flight software entry point: on a board this is /main.py; in SITL the
# launcher runs it with the state directory as the working directory. The
# board file's "vehicle" ("inspector", "rover", or none for the OBC alone)
# picks the app; its emulated devices come from the board's device list.
import asyncio

import hal
from fsw.app import Obc, load_board


def main():
    board = load_board()
    obc = Obc(board, hal.Link())
    vehicle = board.get("vehicle")
    if vehicle:
        app = __import__(vehicle + ".app", None, None, ("start",))
        app.start(obc, board)
    asyncio.run(obc.run())


main()
