"""imgperc: perceptual losses for real-time style transfer and super-resolution."""

from typing import Any

from .hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl", "stylize"]


def __getattr__(name: str) -> Any:
    """Lazy exports, so that `import imgperc` stays light (no torch until it is needed)."""
    if name == "stylize":
        from .api import stylize

        return stylize
    raise AttributeError(f"module 'imgperc' has no attribute {name!r}")
