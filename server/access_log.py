"""One JSON line per request on the ``provml.access`` logger: method, path, status, bytes, milliseconds.

The query string and headers are left out: they can hold queries with private IRIs, and tokens.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

log = logging.getLogger("provml.access")


class AccessLog:
    """ASGI middleware (plain ASGI: a fraction of the cost of a Starlette ``BaseHTTPMiddleware``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started, reply = time.perf_counter(), {"status": 500, "bytes": 0}

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                reply["status"] = message["status"]
            elif message["type"] == "http.response.body":
                reply["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("", 0)
            line = {
                "method": scope["method"],
                "path": scope["path"],
                "status": reply["status"],
                "bytes": reply["bytes"],
                "ms": round((time.perf_counter() - started) * 1000, 2),
                "client": client[0],
            }
            log.info(orjson.dumps(line).decode())
