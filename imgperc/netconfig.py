"""Declared, bounded configs of transform nets, checked before anything is built.

A builder declares every config key it takes, with bounds, in one line next to it::

    @net_config(channels=Int(1, 256), residual_blocks=Int(0, 64))
    def johnson(channels: int = 32, residual_blocks: int = 5) -> JohnsonNet: ...

Calling the builder then checks its arguments (known keys, types, bounds) and raises a one-line
`ConfigError` before any layer exists. `imgperc.modelfile` checks a model file's config the same
way (`check_config`) before building its net; a builder that declares nothing takes no config.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, TypeVar

from .errors import ConfigError

Builder = TypeVar("Builder", bound=Callable[..., Any])
FIELDS = "config_fields"


class Field(Protocol):
    def check(self, name: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Int:
    """A whole number in [low, high]."""

    low: int
    high: int

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        if not self.low <= value <= self.high:
            raise ConfigError(f"{name} must be between {self.low} and {self.high}, got {value}")


@dataclass(frozen=True)
class OneOf:
    """One of a few fixed values."""

    choices: tuple[Any, ...]

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or value not in self.choices:
            raise ConfigError(f"{name} must be one of {', '.join(map(repr, self.choices))}, got {value!r}")


def check_config(builder: Callable[..., Any], config: Any) -> None:
    """Refuse a config that ``builder`` does not declare, or values out of its bounds."""
    fields: Mapping[str, Field] = getattr(builder, FIELDS, {})
    if not isinstance(config, Mapping):
        raise ConfigError(f"config must be a mapping of names to values, got {type(config).__name__}")
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key {unknown[0]!r} (known: {', '.join(sorted(fields)) or 'none'})")
    for name, value in config.items():
        fields[name].check(name, value)


def full_config(builder: Callable[..., Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` checked (:func:`check_config`) and completed with the builder's defaults."""
    check_config(builder, config)
    bound = inspect.signature(builder).bind_partial(**config)
    bound.apply_defaults()
    return dict(bound.arguments)


def net_config(**fields: Field) -> Callable[[Builder], Builder]:
    """Declare the config a transform-net builder takes; every call is checked against it."""

    def decorate(builder: Builder) -> Builder:
        signature = inspect.signature(builder)
        if set(signature.parameters) != set(fields):
            raise TypeError(f"{builder.__name__}: net_config must declare exactly its parameters {sorted(signature.parameters)}")

        @functools.wraps(builder)
        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                check_config(checked, kwargs)
                arguments = signature.bind(*args, **kwargs).arguments
                check_config(checked, arguments)
            except (ConfigError, TypeError) as exc:
                raise ConfigError(f"{builder.__name__}: {exc}") from None
            return builder(**arguments)

        setattr(checked, FIELDS, dict(fields))
        return checked  # type: ignore[return-value]

    return decorate
