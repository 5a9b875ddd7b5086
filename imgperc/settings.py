"""Every ``IMGPERC_*`` environment setting: one table (`SETTINGS`), one parser per kind of
value, one error style, and a typed accessor per setting.

An unset or empty variable means its default (``IMGPERC_PLUGINS`` excepted: empty loads no
plugin). A malformed value is one line, ``IMGPERC_X must be ..., got '...'``, raised when the
setting is first needed. The README's table is `markdown_table()` (tests/test_settings.py
checks it). torchrun's own variables are read here too (`launch`), and `set_default` is the one
place that writes the environment.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import platformdirs

from .choices import COMPILE_MODES
from .errors import InputError

ENV_HOME = "IMGPERC_HOME"
ENV_MIRROR = "IMGPERC_MIRROR"
ENV_OFFLINE = "IMGPERC_OFFLINE"
ENV_PLUGINS = "IMGPERC_PLUGINS"
ENV_THREADS = "IMGPERC_THREADS"
ENV_MEMORY = "IMGPERC_MEMORY"
ENV_MAX_PIXELS = "IMGPERC_MAX_PIXELS"
ENV_COMPILE = "IMGPERC_COMPILE"
ENV_DOWNLOAD_TIMEOUT = "IMGPERC_DOWNLOAD_TIMEOUT"

DEFAULT_MAX_PIXELS = 1 << 27  # 1.6 GB as float32 RGB
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
MEMORY_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


# --- parsers: the stripped text to a value, or ValueError (whose message, if any, the error adds)


def _text(text: str) -> str:
    return text


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _flag(text: str) -> bool:
    word = text.lower()
    if word not in TRUE + FALSE:
        raise ValueError()
    return word in TRUE


def _names(text: str) -> set[str]:
    return {name.strip() for name in text.split(",") if name.strip()}


def _number(convert: Callable[[str], Any], text: str) -> Any:
    try:
        return convert(text)
    except ValueError:
        raise ValueError() from None


def _positive_int(text: str) -> int:
    value = _number(int, text.replace("_", ""))
    if value < 1:
        raise ValueError()
    return value


def _positive_float(text: str) -> float:
    value = _number(float, text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError()
    return value


def _compile_mode(text: str) -> str:
    if text.lower() not in COMPILE_MODES:
        raise ValueError("unknown compile mode")
    return text.lower()


def _bytes(text: str) -> int:
    value = text.upper().removesuffix("B").removesuffix("I")
    unit = MEMORY_UNITS.get(value[-1:], 1)
    return int(_positive_float(value[:-1] if unit > 1 else value) * unit)


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One environment variable: how its text is read, its default, and what it does."""

    name: str
    parse: Callable[[str], Any]  # the stripped, non-empty text -> the value (ValueError if malformed)
    expected: str  # what a value must be: "{name} must be {expected}, got '...'"
    help: str  # what it does, one line (the README's table)
    default: Any = None  # the value when unset; None: the code that uses it decides (default_text)
    default_text: str = ""  # the default in words, for the README
    empty_is_value: bool = False  # an empty value is a value (parsed), not "unset"

    def get(self) -> Any:
        """The parsed value, or `default` when unset; a malformed value is an InputError."""
        raw = os.environ.get(self.name)
        text = (raw or "").strip()
        if raw is None or (not text and not self.empty_is_value):
            return self.default
        try:
            return self.parse(text)
        except ValueError as exc:
            note = f" ({exc})" if str(exc) else ""
            raise InputError(f"{self.name} must be {self.expected}, got {text!r}{note}") from None

    def is_set(self) -> bool:
        return bool(os.environ.get(self.name, "").strip()) or (self.empty_is_value and self.name in os.environ)


HOME = Setting(ENV_HOME, _path, "a folder", "where models, downloads and caches live",
               default_text="the platform's user data dir")
MIRROR = Setting(ENV_MIRROR, _text, "a URL or a folder",
                 "a base URL or local folder replacing `https://` of every upstream URL: "
                 "`https://HOST/PATH` is fetched from `$IMGPERC_MIRROR/HOST/PATH`", default_text="none")
OFFLINE = Setting(ENV_OFFLINE, _flag, f"{', '.join(TRUE + FALSE[:-1])} or {FALSE[-1]}",
                  "`1`: never touch the network; a missing model is a clear error saying how to get it",
                  default=False, default_text="`0`")
PLUGINS = Setting(ENV_PLUGINS, _names, "comma-separated plugin names",
                  "comma-separated plugin names to load (empty: only the core)", default_text="every installed plugin",
                  empty_is_value=True)
THREADS = Setting(ENV_THREADS, _positive_int, "a positive whole number",
                  "CPU threads of the nets (fewer leave cores to other work)",
                  default_text="the physical cores this process may use (shared out between torchrun processes)")
MEMORY = Setting(ENV_MEMORY, _bytes, "a memory size such as 3G or 512M",
                 "memory budget of a net: larger images run in tiles (`--tile auto`)",
                 default_text="half the available memory, at most 2 GiB")
MAX_PIXELS = Setting(ENV_MAX_PIXELS, _positive_int, "a positive whole number",
                     "pixels (width x height) of the largest image imgperc produces; larger ones are refused before any work",
                     default=DEFAULT_MAX_PIXELS, default_text=f"{DEFAULT_MAX_PIXELS:,} (2^27)")
COMPILE = Setting(ENV_COMPILE, _compile_mode, f"{', '.join(COMPILE_MODES[:-1])} or {COMPILE_MODES[-1]}",
                  "compiled graphs: `auto` loads a cached one, or compiles a shape once running it eagerly has "
                  "cost as long as compiling; `always` compiles before the first run; `never`", default="auto", default_text="`auto`")
DOWNLOAD_TIMEOUT = Setting(ENV_DOWNLOAD_TIMEOUT, _positive_float, "a positive number of seconds",
                           "connect and read timeouts of downloads, in seconds; a file's overall deadline is this "
                           "times (2 + its size in MiB)", default=30.0, default_text="30")

SETTINGS: tuple[Setting, ...] = (HOME, MIRROR, OFFLINE, PLUGINS, THREADS, MEMORY, MAX_PIXELS, COMPILE, DOWNLOAD_TIMEOUT)


def markdown_table() -> str:
    """The README's table of every setting."""
    rows = [f"| `{s.name}` | {s.default_text} | {s.help} |" for s in SETTINGS]
    return "\n".join(["| variable | default | effect |", "|---|---|---|", *rows])


def set_default(name: str, value: object) -> None:
    """Set environment variable ``name`` (ours, or a library's) for this process and its
    children, unless the user set it."""
    if not os.environ.get(name, "").strip():
        os.environ[name] = str(value)


# --- accessors ---------------------------------------------------------------------------------


def home() -> Path:
    """The user data dir (models, downloads, locks); `IMGPERC_HOME` overrides it."""
    path = HOME.get() or Path(platformdirs.user_data_dir("imgperc", appauthor=False))
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
    if HOME.is_set():
        return f"{ENV_HOME}={path}"
    return f"imgperc's data folder {path} (set {ENV_HOME} to use another)"


def mirror() -> str | None:
    """The mirror base replacing `https://` of every upstream URL, if set."""
    return MIRROR.get()


def offline() -> bool:
    """True when `IMGPERC_OFFLINE` forbids any network access."""
    return OFFLINE.get()


def plugin_allowlist() -> set[str] | None:
    """Names of the plugins allowed to load, or None for all.

    `IMGPERC_PLUGINS=style,gatys` loads only those two; an empty value loads none.
    """
    return PLUGINS.get()


def threads() -> int | None:
    """`IMGPERC_THREADS`, or None (`imgperc.inference.threads` then counts the cores)."""
    return THREADS.get()


def memory() -> int | None:
    """`IMGPERC_MEMORY` in bytes, or None (`imgperc.inference.tiling` then measures)."""
    return MEMORY.get()


def max_pixels() -> int:
    """The largest image (width x height) imgperc will produce: `IMGPERC_MAX_PIXELS` or 2^27."""
    return MAX_PIXELS.get()


def compile_mode() -> str:
    """`IMGPERC_COMPILE`: ``auto`` (the default), ``always`` or ``never``."""
    return COMPILE.get()


def download_timeout() -> float:
    """`IMGPERC_DOWNLOAD_TIMEOUT` in seconds (default 30)."""
    return DOWNLOAD_TIMEOUT.get()


class Launch(NamedTuple):
    """This process's place among those torchrun started (alone: world 1, rank 0)."""

    world: int
    rank: int
    local_rank: int
    local_world: int


def launch() -> Launch:
    """torchrun's ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` (not ours: read as given)."""
    env = os.environ
    return Launch(
        int(env.get("WORLD_SIZE", "1")), int(env.get("RANK", "0")), int(env.get("LOCAL_RANK", "0")), int(env.get("LOCAL_WORLD_SIZE", "1"))
    )
