"""The API's form fields: the command line's own click options, checked by click.

Each endpoint names which options of its image task it takes (`STYLIZE`, `UPSCALE`); the
option objects come from the registered task (and `imgperc.cli.options` for ``--size``), so
their types, bounds, defaults, help and error messages are the CLI's, and the OpenAPI schema
is made from them too. Options that name server-side files (``--model FILE``, ``--tile``,
``--precision``) are not offered: a path-typed option is a file upload instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import click

from imgperc import plugins
from imgperc.api import SR_TASK, STYLE_TASK
from imgperc.cli.options import size_option
from imgperc.errors import InputError

MAX_PAINTINGS = 4  # `style_image` uploads per request
LABELS = {STYLE_TASK: "style", SR_TASK: "super-resolution model"}  # what the CLI calls the task's models
BASELINES = {SR_TASK: ("bicubic",)}  # names a task's --model takes besides models (run through its prepare)
NAMES_ONLY = "The server takes the names of GET /v1/models only, never a file."


@dataclass(frozen=True)
class Endpoint:
    """What one endpoint takes: ``task``'s model by name (``name_field``), the options a loaded
    model is called with, the options that replace a named model by uploaded paintings,
    ``--size`` where the command has it, and which options pick the default model."""

    task: str
    name_field: str
    model_options: tuple[str, ...]
    painting_options: tuple[str, ...] = ()
    resize: bool = False
    default_by: tuple[str, ...] = ()  # the options the task's default model depends on

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name_field, *self.painting_options, *self.model_options, *(("size",) if self.resize else ()))


STYLIZE = Endpoint(STYLE_TASK, "style", ("strength", "preserve_color"), ("style_image", "style_mix", "style_size"), resize=True)
UPSCALE = Endpoint(SR_TASK, "model", ("scale", "denoise", "histogram_match", "outscale"), default_by=("scale", "denoise", "outscale"))


@dataclass(frozen=True)
class Field:
    """One form field: a CLI option (``--strength``) under its parameter name (``strength``)."""

    option: click.Option

    @property
    def name(self) -> str:
        return str(self.option.name)

    @property
    def upload(self) -> bool:
        """A path-typed option: the client uploads the file."""
        return isinstance(self.option.type, click.Path)

    def convert(self, text: str) -> Any:
        """The value of ``text``, or an InputError with click's message (``Invalid value for '--strength': ...``)."""
        try:
            return self.option.type.convert(text.strip(), self.option, None)
        except click.BadParameter as exc:
            raise InputError(exc.format_message()) from None

    def schema(self, names: bool = False) -> dict[str, Any]:
        """The field's JSON schema: type and bounds from the click type, the option's help
        (``names``: a field naming a model, which takes names only)."""
        kind = self.option.type
        schema: dict[str, Any] = {"type": "string"}
        if self.upload:
            schema = {"type": "string", "format": "binary"}
        elif isinstance(kind, click.Choice):
            schema["enum"] = list(kind.choices)
        elif isinstance(kind, (click.IntRange, click.FloatRange)):
            schema["type"] = "integer" if isinstance(kind, click.IntRange) else "number"
            schema.update({key: value for key, value in (("minimum", kind.min), ("maximum", kind.max)) if value is not None})
        elif self.option.is_flag:
            schema["type"] = "boolean"
        default = self.option.default  # click's own "no default" is a sentinel object
        if isinstance(default, (bool, int, float, str)) and not self.option.multiple:
            schema["default"] = default
        if self.option.multiple:
            schema = {"type": "array", "items": schema, "maxItems": MAX_PAINTINGS}
        schema["description"] = f"{'/'.join(self.option.opts)}: {self.option.help or ''}".strip()
        if names:
            schema["description"] += f" {NAMES_ONLY}"
        return schema


def fields(endpoint: Endpoint) -> dict[str, Field]:
    """The endpoint's fields, from its task's options (``size``: the CLI's ``--size``), in order."""
    task = plugins.registry("image_tasks").require(endpoint.task)
    options = {str(option.name): option for option in (*task.options, *task.image_options)}
    options["size"] = size_option().option()
    missing = [name for name in endpoint.names if name not in options]
    if missing:
        raise InputError(f"the '{endpoint.task}' task has no option '{missing[0]}' for the server")
    return {name: Field(options[name]) for name in endpoint.names}


def check_name(task: str, name: str, known: Sequence[str]) -> None:
    """Refuse a model name the server does not offer (files are not accepted), with the CLI's
    wording of an unknown name."""
    if name in known or name in BASELINES.get(task, ()):
        return
    from imgperc.errors import did_you_mean

    typo = did_you_mean(name, known)
    raise InputError(f"unknown {LABELS[task]} '{name}'{f'; {typo}' if typo else ''} (known: {', '.join(known)})")
