"""`python -m bot`: serve the gateway on PORT."""
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
    main()
