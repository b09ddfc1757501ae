"""`python -m bot [--host H] [--port N]`: serve the gateway (default: every interface, PORT).
Run from the gateway's own environment (.venv-gateway): `motcua run` and `motcua serve gateway` do."""
import argparse
from typing import Optional

import uvloop
from aiohttp import web

from bot.app import create_app
from motcua.logs import setup_logging
from motcua.settings import Settings


def main(host: Optional[str] = None, port: Optional[int] = None) -> None:
    setup_logging()
    settings = Settings.from_env()
    # uvloop, as Rasa and the action server (Sanic) already run on: the gateway is mostly sockets.
    uvloop.install()
    web.run_app(create_app(settings), host=host, port=port or settings.port, access_log=None, print=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    main(host=args.host, port=args.port)
