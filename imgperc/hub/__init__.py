"""The model hub: pretrained models contributed by plugins, downloaded and cached locally."""

from .download import fetch, resolve_url
from .spec import ModelSpec, RemoteFile
from .store import ensure, find_spec, installed_path, pull, remove, specs

__all__ = ["ModelSpec", "RemoteFile", "ensure", "fetch", "find_spec", "installed_path", "pull", "remove", "resolve_url", "specs"]
