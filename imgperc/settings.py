"""Environment-driven settings: where data lives, mirrors, offline mode, plugin selection."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "IMGPERC_HOME"
ENV_MIRROR = "IMGPERC_MIRROR"
ENV_OFFLINE = "IMGPERC_OFFLINE"
ENV_PLUGINS = "IMGPERC_PLUGINS"


def home() -> Path:
    """The user data dir (models, downloads, locks); `IMGPERC_HOME` overrides it."""
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("imgperc", appauthor=False))


def mirror() -> str | None:
    """The mirror base replacing `https://` of every upstream URL, if set."""
    value = os.environ.get(ENV_MIRROR, "").strip()
    return value or None


def offline() -> bool:
    """True when `IMGPERC_OFFLINE` forbids any network access."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def plugin_allowlist() -> set[str] | None:
    """Names of the plugins allowed to load, or None for all.

    `IMGPERC_PLUGINS=style,gatys` loads only those two; an empty value loads none.
    """
    value = os.environ.get(ENV_PLUGINS)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}
