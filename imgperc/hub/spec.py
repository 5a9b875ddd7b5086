"""What a plugin declares about a pretrained model: where its files live and how to convert them.

Light (no torch): listing models, as `--help` does, makes every spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import torch

# convert(raw files by RemoteFile.name) -> (tensors, metadata) stored as one safetensors file.
Converter = Callable[[Mapping[str, Path]], tuple[dict[str, "torch.Tensor"], dict[str, Any]]]


@dataclass(frozen=True)
class RemoteFile:
    """One upstream file, pinned by size and (where known) sha256."""

    url: str
    size: int
    sha256: Optional[str]
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", Path(urlsplit(self.url).path).name)


@dataclass(frozen=True)
class ModelSpec:
    """A hub entry: identity, provenance, upstream files and their converter.

    A model either ships inside its plugin (``builtin``: a local safetensors file) or is
    downloaded from ``files`` and turned into safetensors by ``convert`` once.
    """

    id: str
    task: str
    description: str
    license: str
    source: str
    files: tuple[RemoteFile, ...] = ()
    convert: Optional[Converter] = None
    builtin: Optional[Path] = None
    aliases: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def download_size(self) -> int:
        return sum(f.size for f in self.files)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (stored beside the installed model)."""
        return {
            "id": self.id,
            "task": self.task,
            "description": self.description,
            "license": self.license,
            "source": self.source,
            "aliases": list(self.aliases),
            "files": [{"url": f.url, "size": f.size, "sha256": f.sha256} for f in self.files],
            **({"extra": dict(self.extra)} if self.extra else {}),
        }
