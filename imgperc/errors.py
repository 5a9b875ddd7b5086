"""Errors that reach the user as one clear line (no traceback unless --debug)."""


class ImgpercError(Exception):
    """Base class for every expected, user-facing failure."""


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
