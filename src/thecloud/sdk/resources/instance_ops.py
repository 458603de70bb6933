"""Operating a live instance: pause, resize, metadata, tags, exec, stats and its live streams."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from thecloud.sdk._core import Call, query, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream

EXEC_GRACE = 30.0  # seconds the HTTP call waits beyond the command's own timeout


def _path(instance: str, *rest: str) -> str:
    return "/".join([f"/instances/{seg(instance)}", *rest])


class InstanceOperations(Resource[One, PageT, ListT, Done, Stream]):
    """What `client.instances` can do to a live instance, beyond its lifecycle."""

    def pause(self, instance: str) -> One:
        """Freeze a running instance's processes (status PAUSED); a 409 unless it is RUNNING."""
        return self._x.one(Call("POST", _path(instance, "pause")))

    def resume(self, instance: str) -> One:
        """Thaw a paused instance (status RUNNING)."""
        return self._x.one(Call("POST", _path(instance, "resume")))

    def resize(self, instance: str, instance_type: str) -> One:
        """Another instance type; its CPU and memory limits apply to the container at once."""
        payload = {"instance_type": instance_type}
        return self._x.one(Call("POST", _path(instance, "resize"), payload))

    def set_metadata(self, instance: str, metadata: Mapping[str, str]) -> One:
        """Replace the instance's metadata; returns the instance."""
        payload = {"metadata": dict(metadata)}
        return self._x.one(Call("PUT", _path(instance, "metadata"), payload))

    def tags(self, instance: str) -> One:
        """The instance's tags (its labels), `{key: value}`."""
        return self._x.one(Call("GET", _path(instance, "tags")))

    def set_tags(self, instance: str, tags: Mapping[str, str]) -> One:
        """Add or replace these tags, keeping the others; returns all the tags."""
        return self._x.one(Call("POST", _path(instance, "tags"), {"tags": dict(tags)}))

    def remove_tag(self, instance: str, key: str) -> One:
        """Remove one tag; returns the tags left."""
        return self._x.one(Call("DELETE", _path(instance, "tags", seg(key))))

    def exec(self, instance: str, command: Sequence[str], *, timeout: float = 60.0) -> One:
        """Run a command in the running instance and wait: `{exit_code, stdout, stderr}`."""
        payload = {"command": list(command), "timeout": timeout}
        call = Call("POST", _path(instance, "exec"), payload, timeout=timeout + EXEC_GRACE)
        return self._x.one(call)

    def stats(self, instance: str) -> One:
        """One sample of its resource use: cpu_percent (100 = one CPU busy), memory_bytes,
        memory_limit_bytes, network_rx/tx_bytes, block_read/write_bytes, pids, at."""
        return self._x.one(Call("GET", _path(instance, "stats")))

    def console_url(self, instance: str) -> One:
        """Where its console is: `{"url": "ws://.../ws/console/<id>", ...}` (see `console`)."""
        return self._x.one(Call("GET", _path(instance, "console")))

    def follow_logs(self, instance: str, *, since: datetime | str | None = None) -> Stream:
        """Its output as it is written, `{at, stream, text}` per line, until the container
        stops or you stop iterating; `since` replays from that time first."""
        call = Call("GET", f"/ws/logs/{seg(instance)}", params=query(since=since))
        return self._x.websocket(call)

    def watch_stats(self, instance: str) -> Stream:
        """A `stats` sample every 2 s, for as long as you iterate."""
        return self._x.websocket(Call("GET", f"/ws/stats/{seg(instance)}"))
