"""The model hub: pretrained models contributed by plugins, downloaded and cached locally or
shipped inside the plugin (`WeightsFolder`, `register_weights`), and `resolve_model`, which finds any model a user
names (hub id or alias, user model, file).

The names below load with their module when first used: listing and resolving models (as
`--help` does) imports neither torch nor the downloader.
"""

from ..lazy import exports

__getattr__, __dir__, __all__ = exports(
    __name__,
    {
        ".builtin": ("WeightsFolder", "builtin_metadata", "builtin_model", "builtin_specs", "register_weights", "weights_folders"),
        ".download": ("download_bar", "fetch", "resolve_url"),
        ".resolve": ("LoadedModel", "ResolvedModel", "model_names", "resolve_model"),
        ".spec": ("ModelSpec", "RemoteFile"),
        ".store": ("ensure", "find_spec", "installed_path", "pull", "remove", "specs"),
    },
)
