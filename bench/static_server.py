"""The baseline: a plain static file server handing out the same gzipped bytes as the app."""

import os

from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send


class Gzipped:
    def __init__(self, app: StaticFiles) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_gzipped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v) for k, v in message["headers"] if k != b"content-type"
                ] + [(b"content-encoding", b"gzip"), (b"content-type", b"text/html")]
            await send(message)

        await self.app(scope, receive, send_gzipped)


def create_app() -> Starlette:
    app = Starlette()
    app.mount("/", Gzipped(StaticFiles(directory=os.environ["BENCH_STATIC_DIR"])))
    return app
