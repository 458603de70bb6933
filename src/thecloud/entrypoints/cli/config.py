"""The CLI's config file (~/.cloud/config.json or $CLOUD_CONFIG): private, written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CONFIG_ENV = "CLOUD_CONFIG"
KEYS = ("api_url", "api_key", "tenant_id")


class ConfigError(Exception):
    """The config file exists but cannot be read as a JSON object."""


def config_path() -> Path:
    """Where the config lives: $CLOUD_CONFIG, else ~/.cloud/config.json."""
    override = os.environ.get(CONFIG_ENV)
    return Path(override).expanduser() if override else Path.home() / ".cloud" / "config.json"


def load_config(path: Path) -> dict[str, Any]:
    """The saved settings; empty if there is no file yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} is not a JSON object")
    return data


def save_config(path: Path, data: Mapping[str, Any]) -> None:
    """Write the settings with mode 0600 (its directory 0700), replacing the file atomically."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(data), fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_config(path: Path, **changes: str | None) -> dict[str, Any]:
    """Set the given keys (None removes one) and save; returns the new settings."""
    data = load_config(path)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    save_config(path, data)
    return data
