"""SSH keys and first boot on fakes: keys validated and fingerprinted like ssh-keygen, then
installed with the user-data script once, at an instance's first boot."""

from __future__ import annotations

import base64

import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from tests.unit.test_instances import launched
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound

# A real key; `ssh-keygen -lf` prints this fingerprint for it.
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEz+OpU0dDkh7m5fofv5rsPoVWzN698sueBy4zvp5yHl ann@laptop"
FINGERPRINT = "SHA256:xufbSt+CM8xgrjJ4kbad5LC0LypWDuvSS2aJ0a5chKw"


@pytest.fixture
async def runtime(h: Harness) -> MemoryRuntime:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    assert isinstance(h.adapters.runtime, MemoryRuntime)
    return h.adapters.runtime


async def test_keys_are_checked_fingerprinted_and_tenant_scoped(h: Harness, owner: Account) -> None:
    key = await h.cloud.ssh_keys.create(owner.principal, "laptop", KEY + "\n")
    assert (key.fingerprint, key.public_key) == (FINGERPRINT, KEY)
    with pytest.raises(Conflict, match="already exists"):
        await h.cloud.ssh_keys.create(owner.principal, "laptop", KEY)
    for bad, match in (
        ("not a key", "OpenSSH public key"),
        ("ssh-ed25519 !!!notbase64", "base64"),
        ("ssh-rsa " + KEY.split()[1], "not a ssh-rsa key"),
    ):
        with pytest.raises(InvalidInput, match=match):
            await h.cloud.ssh_keys.create(owner.principal, "bad", bad)
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.ssh_keys.get(stranger.principal, key.id)
    viewer = await h.member(owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.ssh_keys.create(viewer, "v", KEY)
    assert (await h.cloud.ssh_keys.list(viewer, ListQuery())).total == 1
    await h.cloud.ssh_keys.delete(owner.principal, "laptop")
    assert (await h.cloud.ssh_keys.list(owner.principal, ListQuery())).total == 0


async def test_first_boot_installs_the_key_and_runs_user_data_once(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    await h.cloud.ssh_keys.create(owner.principal, "laptop", KEY)
    script = "#!/bin/sh\necho 'it works' > /tmp/proof\n"
    ident = await launched(h, owner, ssh_key_id="laptop", user_data=script)
    running = await h.cloud.instances.get(owner.principal, ident)
    assert running.status == "RUNNING" and running.status_reason == "running"
    keys_cmd, data_cmd = (command for _, command in runtime.executed)
    assert base64.b64decode(keys_cmd.split("printf %s ")[1].split()[0]).decode() == KEY + "\n"
    assert base64.b64decode(data_cmd.split("printf %s ")[1].split()[0]).decode() == script
    for what in ("stop", "start"):
        await h.cloud.instances.request(owner.principal, ident, what)
        await h.cloud.worker.step()
    assert len(runtime.executed) == 2  # not again on a later boot


async def test_launch_with_an_unknown_key_or_huge_user_data_is_refused(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    with pytest.raises(NotFound, match="SSH key"):
        await launched(h, owner, ssh_key_id="nope")
    with pytest.raises(InvalidInput, match="user_data"):
        await launched(h, owner, user_data="x" * 20000)
    assert not runtime.containers
