"""imgperc: perceptual losses for real-time style transfer and super-resolution."""

from .hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
