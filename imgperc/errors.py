"""Errors that reach the user as one clear line (no traceback unless --debug)."""

from __future__ import annotations

from typing import Iterable


class ImgpercError(Exception):
    """Base class for every expected, user-facing failure.

    ``hint`` says what to do; the one line reads ``message; hint``. ``message`` alone is the
    failure itself, for callers that reword or recover from it.
    """

    def __init__(self, message: str = "", hint: str = "") -> None:
        super().__init__(f"{message}; {hint}" if hint else message)
        self.message, self.hint = message, hint


class InputError(ImgpercError):
    """A bad input: unreadable file, wrong option value, refusing to overwrite."""


class ModelNotAvailable(ImgpercError):
    """A model is unknown, or not installed while downloading is impossible."""


class DownloadError(ImgpercError):
    """A download failed: network, HTTP status, size or checksum."""


class PluginError(ImgpercError):
    """A plugin could not be found or used."""


class IntegrityError(ImgpercError):
    """An installed file no longer matches the checksum recorded when it was installed."""


class Stopped(Exception):
    """A run stopped by a signal after saving what it needs to resume; the CLI exits with 130."""


class ConfigError(InputError, ValueError):
    """A net's config is malformed or out of its declared bounds (see `imgperc.netconfig`)."""


def echo_error(error: BaseException) -> None:
    """Print ``error`` on stderr as the command line's one ``Error:`` line."""
    import click

    click.echo(f"Error: {error}", err=True)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"did you mean 'NAME'?"``: the name of ``known`` closest to ``name`` (a typo); "" if none is close."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""
