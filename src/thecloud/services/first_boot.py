"""What happens once, at an instance's first boot: its SSH keys and its user-data script.

Both travel base64-encoded inside the command (no shell quoting can break them) and need
only `sh`, `mkdir` and `base64` in the image (busybox and Debian have them). The user-data
script runs in the background, like cloud-init's, with its output in
/var/log/cloud-init-output.log; the instance is RUNNING while it runs.
"""

from __future__ import annotations

import base64

from thecloud.domain.compute import Instance

USER_DATA = "/var/lib/cloud/user-data"
OUTPUT = "/var/log/cloud-init-output.log"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def first_boot_commands(i: Instance) -> list[tuple[str, ...]]:
    commands: list[tuple[str, ...]] = []
    if i.authorized_keys:
        keys = (
            "umask 077 && mkdir -p /root/.ssh && "
            f"printf %s {_b64(i.authorized_keys)} | base64 -d >> /root/.ssh/authorized_keys"
        )
        commands.append(("sh", "-c", keys))
    if i.user_data:
        script = (
            f"mkdir -p /var/lib/cloud /var/log && printf %s {_b64(i.user_data)} | base64 -d > "
            f"{USER_DATA} && chmod 700 {USER_DATA} && (sh {USER_DATA} > {OUTPUT} 2>&1 &)"
        )
        commands.append(("sh", "-c", script))
    return commands
