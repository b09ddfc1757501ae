"""python-telegram-bot's networking on the gateway's own aiohttp session.

PTB's default request class opens its own HTTP client; sending is the hot path of a channel,
so the Bot speaks through the one connection pool the gateway already keeps."""
from __future__ import annotations

from typing import Any, Optional

import aiohttp
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(self, session: aiohttp.ClientSession, read_timeout: float = 40.0) -> None:
        self._session = session
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> Optional[float]:
        return self._read_timeout

    async def initialize(self) -> None:  # the session belongs to the gateway
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url, method, request_data: Optional[RequestData] = None, read_timeout=None,
                         write_timeout=None, connect_timeout=None, pool_timeout=None) -> tuple[int, bytes]:
        timeout = read_timeout if isinstance(read_timeout, (int, float)) else self._read_timeout
        kwargs: dict[str, Any] = {}
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, text in request_data.json_parameters.items():
                    form.add_field(name, text)
                for name, part in request_data.multipart_data.items():
                    filename, content = (str(part[0]), part[1]) if isinstance(part, tuple) else (name, part)
                    form.add_field(name, content, filename=filename)
                kwargs["data"] = form
            else:
                kwargs["data"] = request_data.json_payload
                kwargs["headers"] = {"Content-Type": "application/json"}
        async with self._session.request(method, url, timeout=aiohttp.ClientTimeout(total=(timeout or 40) + 10),
                                         **kwargs) as resp:
            return resp.status, await resp.read()
