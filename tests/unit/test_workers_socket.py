"""The listening sockets of several workers (SO_REUSEPORT): connections they accept send at once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest
import uvicorn

from thecloud.entrypoints.workers import listen

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": asyncio.new_event_loop}
_uvloop_factory = uvicorn.Config(app=None, loop="auto").get_loop_factory()
if _uvloop_factory is not None:
    LOOPS["uvicorn-auto"] = _uvloop_factory


async def _accepted_nodelay(sock: socket.socket) -> int:
    """TCP_NODELAY of the first connection the loop accepts on ``sock``."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            raw = transport.get_extra_info("socket")
            seen.set_result(raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    port = sock.getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(seen, 5)
    finally:
        writer.close()
        server.close()


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_accepted_connections_have_nagle_off(loop: str) -> None:
    """With Nagle on, a response written in two pieces waits 40 ms for the delayed ACK."""
    sock = listen("127.0.0.1", 0)
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        assert runner.run(_accepted_nodelay(sock)) != 0


def test_the_socket_is_shared_by_port() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_workers_are_not_forked_from_a_process_running_other_threads() -> None:
    """A forked worker would inherit locks held by threads that do not exist in it."""
    import threading

    from thecloud.entrypoints.workers import Supervisor, WorkerSpec

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        with pytest.raises(RuntimeError, match="other threads"):
            Supervisor(2, WorkerSpec("app:app", "127.0.0.1", 0), fork=True)
    finally:
        release.set()
        other.join()
    assert Supervisor(2, WorkerSpec("app:app", "127.0.0.1", 0), fork=False) is not None
