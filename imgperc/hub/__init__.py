"""The model hub: pretrained models contributed by plugins, downloaded and cached locally or
shipped inside the plugin (`builtin_model`), and `resolve_model`, which finds any model a user
names (hub id or alias, user model, file)."""

from .builtin import builtin_metadata, builtin_model
from .download import fetch, resolve_url
from .resolve import LoadedModel, ResolvedModel, model_names, resolve_model
from .spec import ModelSpec, RemoteFile
from .store import ensure, find_spec, installed_path, pull, remove, specs

__all__ = [
    "LoadedModel", "ModelSpec", "RemoteFile", "ResolvedModel", "builtin_metadata", "builtin_model", "ensure", "fetch",
    "find_spec", "installed_path", "model_names", "pull", "remove", "resolve_model", "resolve_url", "specs",
]
