"""A TCP relay on a loopback port of its own, to make a server go away and come back.

A daemon is pointed at the relay instead of the server. `down()` closes the listening socket
(new connections are refused, as with a server that is not running) and cuts every connection
open through it (as when the server dies or the network drops); `up()` listens again on the
same port. The relay's event loop runs in a thread of its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from tests.smtp_sink import unused_port

CHUNK = 1 << 16


class Relay:
    host = "127.0.0.1"

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = unused_port()
        self.accepted = 0  # connections taken while up
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    @property
    def is_up(self) -> bool:
        return self._server is not None

    def up(self) -> Relay:
        self._call(self._listen())
        return self

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        self._call(self._shut())

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _call(self, work: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._link, self.host, self.port,
                                                      reuse_address=True)

    async def _shut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _link(self, client_reader: asyncio.StreamReader,
                    client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.accepted += 1
        pair = {client_writer, server_writer}
        self._open.update(pair)
        await asyncio.gather(_pipe(client_reader, server_writer),
                             _pipe(server_reader, client_writer), return_exceptions=True)
        self._open.difference_update(pair)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, then close the other side (as the peer closed this one)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
