"""Environment-driven settings: where data lives, mirrors, offline mode, plugin selection."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from .errors import InputError

ENV_HOME = "IMGPERC_HOME"
ENV_MIRROR = "IMGPERC_MIRROR"
ENV_OFFLINE = "IMGPERC_OFFLINE"
ENV_PLUGINS = "IMGPERC_PLUGINS"


def home() -> Path:
    """The user data dir (models, downloads, locks); `IMGPERC_HOME` overrides it."""
    override = os.environ.get(ENV_HOME)
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir("imgperc", appauthor=False))
    if path.exists() and not path.is_dir():
        raise InputError(f"{_named(path)} is not a folder")
    return path


def home_dir(*parts: str) -> Path:
    """The folder ``home()/parts``, created if needed (as the umask allows: 0755 by default)
    and checked to be writable; a problem is one line naming `IMGPERC_HOME` and the path."""
    root = home()
    path = root.joinpath(*parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{_named(root)}: cannot create {path} ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"{_named(root)}: {path} is not writable")
    return path


def _named(path: Path) -> str:
    """How errors name the data dir: by the variable that chose it, or how to choose another."""
    if os.environ.get(ENV_HOME):
        return f"{ENV_HOME}={path}"
    return f"imgperc's data folder {path} (set {ENV_HOME} to use another)"


def mirror() -> str | None:
    """The mirror base replacing `https://` of every upstream URL, if set."""
    value = os.environ.get(ENV_MIRROR, "").strip()
    return value or None


def offline() -> bool:
    """True when `IMGPERC_OFFLINE` forbids any network access."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in {"1", "true", "yes", "on"}


def positive_int(name: str) -> int | None:
    """The whole number in environment variable ``name`` (``_`` separators allowed), or None
    when it is unset or empty; anything but a positive whole number is a one-line error."""
    text = os.environ.get(name, "").strip().replace("_", "")
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{name} must be a positive whole number, got {text!r}")
    return value


def plugin_allowlist() -> set[str] | None:
    """Names of the plugins allowed to load, or None for all.

    `IMGPERC_PLUGINS=style,gatys` loads only those two; an empty value loads none.
    """
    value = os.environ.get(ENV_PLUGINS)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}
