"""Documented limits, checked before work starts, and option types that refuse NaN and infinity.

``IMGPERC_MAX_PIXELS`` (default 134,217,728 = 2^27, already 1.6 GB as float32 RGB) bounds the
pixel count of every image imgperc produces: an output over it is refused before anything is
allocated, with a one-line error naming the variable.
"""

from __future__ import annotations

import math
from typing import Any

import click

from .errors import InputError
from .settings import ENV_MAX_PIXELS, max_pixels


def check_pixels(width: int, height: int, what: str = "the output") -> None:
    """Refuse an image of ``width`` x ``height`` pixels over :func:`max_pixels`."""
    limit = max_pixels()
    if width * height > limit:
        raise InputError(
            f"{what} would be {width}x{height} = {width * height:,} pixels, over the limit of {limit:,} "
            f"(set {ENV_MAX_PIXELS} to raise it)"
        )


class _Finite:
    """Mixin for click float types: NaN and infinity are refused like any malformed number."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)  # type: ignore[misc]
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)  # type: ignore[attr-defined]
        return number


class FiniteFloat(_Finite, click.types.FloatParamType):
    """``type=float`` without NaN and infinity."""


class FiniteFloatRange(_Finite, click.FloatRange):
    """``click.FloatRange`` without NaN (which passes every range check) and infinity."""


FINITE_FLOAT = FiniteFloat()
