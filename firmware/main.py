# Flight software entry point: on a board this is /main.py; in SITL the
# launcher runs it with the state directory as the working directory.
import asyncio

import hal
from fsw.app import Obc, load_board


def main():
    obc = Obc(load_board(), hal.Link())
    asyncio.run(obc.run())


main()
