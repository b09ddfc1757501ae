"""`python -m bot`: serve the gateway on PORT."""
from typing import Optional

from aiohttp import web

from bot.app import create_app
from motcua.logs import setup_logging
from motcua.settings import Settings


def main(host: Optional[str] = None, port: Optional[int] = None) -> None:
    setup_logging()
    settings = Settings.from_env()
    web.run_app(create_app(settings), host=host, port=port or settings.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
