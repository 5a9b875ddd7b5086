"""imgperc: perceptual losses for real-time style transfer and super-resolution."""

from .hookspecs import hookimpl
from .lazy import exports

__version__ = "0.1.0"

# Lazy exports, so that `import imgperc` stays light (no torch until a model is loaded).
__getattr__, __dir__, _exported = exports(__name__, {".api": ("stylize", "upscale"), ".model": ("Model", "load")})
__all__ = ["__version__", "errors", "hookimpl", *_exported]
