"""`cloud instance console`: this terminal attached to a shell in an instance, like telnet."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import termios
import threading
import tty
from collections.abc import Callable, Iterator
from typing import BinaryIO, TextIO

from thecloud.entrypoints.cli.output import message
from thecloud.sdk import Client, CloudAPIError, ConsoleSession

ESCAPE = 0x1D  # Ctrl-]: leave the session
EOT = b"\x04"  # Ctrl-D, typed when piped input ends, so that the shell ends too
POLL_SECONDS = 0.2  # how often the output loop looks for a new terminal size
Reader = Callable[[], bytes]


def terminal_size() -> tuple[int, int]:
    """Rows and columns of this terminal (or $LINES and $COLUMNS, or 24 x 80)."""
    size = shutil.get_terminal_size()
    return size.lines, size.columns


def tty_fd(stream: TextIO) -> int | None:
    """The descriptor of a stream that is a terminal, else None."""
    try:
        return stream.fileno() if stream.isatty() else None
    except (OSError, ValueError):
        return None


def reader(stream: TextIO) -> Reader:
    """Reads bytes as they come: straight from the descriptor, so an input thread still
    blocked at exit holds no lock of the interpreter's; from the buffer when there is none."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return lambda: stream.buffer.read(4096)
    return lambda: os.read(fd, 4096)


@contextlib.contextmanager
def raw_mode(fd: int | None) -> Iterator[None]:
    """The terminal in raw mode (every key goes through), restored however the block ends."""
    if fd is None:
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class Resized:
    """Notes SIGWINCH (the handler only sets a flag); the output loop sends the new size."""

    def __init__(self) -> None:
        self.pending = False

    @contextlib.contextmanager
    def watching(self, active: bool) -> Iterator[None]:
        if not active or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGWINCH, lambda *_: setattr(self, "pending", True))
        try:
            yield
        finally:
            signal.signal(signal.SIGWINCH, previous)

    def take(self) -> bool:
        """True once after each change."""
        changed, self.pending = self.pending, False
        return changed


def forward_input(session: ConsoleSession, read: Reader, escape: bool) -> None:
    """Type what is read until Ctrl-] (when `escape`; then leave), or the end of the input
    (then Ctrl-D). A session that ended meanwhile is reported by the output loop."""
    with contextlib.suppress(CloudAPIError, OSError):
        while chunk := read():
            if escape and ESCAPE in chunk:
                if head := chunk[: chunk.index(ESCAPE)]:
                    session.send(head)
                return session.close()
            session.send(chunk)
        session.send(EOT)


def copy_output(session: ConsoleSession, out: BinaryIO, resized: Resized) -> None:
    """Write what the shell prints until the session ends; pass on new terminal sizes."""
    while (chunk := session.recv(timeout=POLL_SECONDS)) is not None:
        if chunk:
            out.write(chunk)
            out.flush()
        if resized.take():
            session.resize(*terminal_size())


def attach(client: Client, instance: str) -> None:
    """Attach this terminal (or, when not one, stdin and stdout) to a shell in the instance."""
    fd, (rows, cols) = tty_fd(sys.stdin), terminal_size()
    resized = Resized()
    with client.console(instance, rows=rows, cols=cols) as session:
        session.resize(rows, cols)
        if fd is not None:
            message(f"Connected to {instance}. Escape character is '^]'.")
        with raw_mode(fd), resized.watching(fd is not None):
            keys = (session, reader(sys.stdin), fd is not None)
            threading.Thread(target=forward_input, args=keys, daemon=True).start()
            copy_output(session, sys.stdout.buffer, resized)
    if fd is not None:
        message(f"Connection to {instance} closed.")
