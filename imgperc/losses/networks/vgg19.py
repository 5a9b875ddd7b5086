"""``vgg19``: the original Oxford VGG-19 weights, from the TensorFlow.js per-layer export.

Upstream: DavidCai1111/vgg19-tensorflowjs-model @ 08d09052 (``model/``). ``model.json`` lists
one weight group per layer (``group{k}-shard{i}of{n}``, 4 MiB shards, kernels ``[3,3,in,out]``).
Only the groups up to the deepest requested tap are downloaded; they are converted once into the
hub store (``models/vgg19/model.safetensors``, OIHW tensors ``conv{b}_{i}.weight|bias``), and a
later request for deeper layers fetches only the missing groups and extends that file.

Sizes are pinned for every group (they follow exactly from the shapes in ``model.json``);
sha256 is pinned for ``model.json`` and groups 1-8 (conv1_1 .. conv3_4). Groups 9+ have no
known sha256 (``None``): only their size is checked. Preprocessing is Caffe's: RGB [0,1] ->
BGR 0-255 minus the ImageNet BGR mean.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ... import hub, settings
from ...errors import DownloadError, InputError, ModelNotAvailable
from ...hub.store import MODEL_FILE, download_hint, downloads_dir, install_dir
from ...modelfile import load_model_file, read_metadata
from .definition import NetworkDef
from .vgg import VGG19_BLOCKS, build_layers, conv_names, convs_needed, layer_names

if TYPE_CHECKING:
    import torch

    from .base import LossNetwork

MODEL_ID = "vgg19"
BASE_URL = (
    "https://raw.githubusercontent.com/DavidCai1111/vgg19-tensorflowjs-model/"
    "08d09052bc6258d3abdfa341850122fc4b746db6/model/"
)
SHARD_BYTES = 4 * 1024 * 1024  # the TF.js converter's shard size
MODEL_JSON = hub.RemoteFile(BASE_URL + "model.json", 20659, "0a55a4ea97c30cdcee63cc614e9f2d41f43ea4f0a9554bb151e742cbfd59c256")
GROUP_SHA256 = {
    1: "c68eefa00d6af917fc28b127b756e48597c25cc11144b38fdf8ea65753c197e1",
    2: "a0e2bb4fbef5e0ce3d8e2fbc6f903c713c9893a0aa2e26c687b0b5758c6af079",
    3: "71a6dbaa06d7e454db3e56d6d2eb5f2defd8b60cccd5af5fc8a6b773be1c5aa5",
    4: "ab1d44f13a37e4af119cc56c7e9a4f8ab4ba281019cb057737d5e2f47dae2268",
    5: "df21209f6d1a0bfd90a17eb705fbb9b520ece764914a067b0d94cefe99a43318",
    6: "3b44315d503e5f24957aef369df5e89a1d54fdcbd78e93c93df560d1ff0ba11d",
    7: "f94ad0c1d2fcb380fe57649a0764a25e7602a436efb8767ce65faf28964f10d0",
    8: "f0dc43a70868cb7edce398eac3422b45fb93333c2e6c274f89adc969c37791ee",
}
_KERAS_NAME = re.compile(r"^block(\d+)_conv(\d+)/(kernel|bias)$")


def _widths() -> list[tuple[int, int]]:
    """(in, out) channels of every convolution, in order."""
    widths, cin = [], 3
    for b, n in enumerate(VGG19_BLOCKS, 1):
        cout = min(64 * 2 ** (b - 1), 512)
        for _ in range(n):
            widths.append((cin, cout))
            cin = cout
    return widths


def group_files() -> dict[str, tuple[hub.RemoteFile, ...]]:
    """The shard files of each convolution's weight group (group k = the k-th conv)."""
    files = {}
    for k, (conv, (cin, cout)) in enumerate(zip(conv_names(VGG19_BLOCKS), _widths()), 1):
        nbytes = (9 * cin * cout + cout) * 4
        count = math.ceil(nbytes / SHARD_BYTES)
        shards = []
        for i in range(1, count + 1):
            size = SHARD_BYTES if i < count else nbytes - SHARD_BYTES * (count - 1)
            sha = GROUP_SHA256.get(k) if count == 1 else None
            shards.append(hub.RemoteFile(f"{BASE_URL}group{k}-shard{i}of{count}", size, sha))
        files[conv] = tuple(shards)
    return files


def model_spec() -> hub.ModelSpec:
    """The hub entry (``imgperc models pull vgg19`` fetches every conv group)."""
    return hub.ModelSpec(
        id=MODEL_ID,
        task="loss-network",
        description="VGG-19, Oxford ImageNet weights (TF.js export), fetched per layer",
        license="CC-BY-4.0",
        source="https://github.com/DavidCai1111/vgg19-tensorflowjs-model",
        files=(MODEL_JSON, *(f for shards in group_files().values() for f in shards)),
        convert=convert,
    )


def convert(raw: Mapping[str, Path], base: Path | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Decode the downloaded weight groups (per ``model.json``) into OIHW tensors.

    ``base``: an installed partial model whose tensors are kept (groups are only added).
    """
    manifest = json.loads(Path(raw["model.json"]).read_text())["weightsManifest"]
    tensors = dict(load_model_file(base)[0]) if base is not None and base.is_file() else {}
    for group in manifest:
        paths = group["paths"]
        present = [p for p in paths if p in raw]
        if not present:
            continue
        if len(present) != len(paths):
            raise DownloadError(f"vgg19: weight group {paths[0]} is incomplete ({len(present)} of {len(paths)} shards)")
        tensors.update(_decode_group(b"".join(Path(raw[p]).read_bytes() for p in paths), group["weights"], paths[0]))
    convs = [c for c in conv_names(VGG19_BLOCKS) if f"{c}.weight" in tensors]
    return tensors, {"convs": convs, "layout": "OIHW", "preprocessing": "caffe-bgr-0-255"}


def _decode_group(blob: bytes, weights: list[dict[str, Any]], label: str) -> dict[str, torch.Tensor]:
    import numpy as np
    import torch

    out, offset = {}, 0
    for entry in weights:
        if entry["dtype"] != "float32":
            raise InputError(f"vgg19: {entry['name']} has dtype {entry['dtype']}, expected float32")
        count = math.prod(entry["shape"])
        if offset + 4 * count > len(blob):
            raise InputError(f"vgg19: {label} is shorter than model.json says")
        array = np.frombuffer(blob, dtype="<f4", count=count, offset=offset).reshape(entry["shape"])
        offset += 4 * count
        match = _KERAS_NAME.match(entry["name"])
        if match is None:
            continue  # fully connected layers are not part of the loss network
        block, index, kind = match.groups()
        tensor = torch.from_numpy(array.copy())
        if kind == "kernel":
            tensor = tensor.permute(3, 2, 0, 1).contiguous()  # [h,w,in,out] -> [out,in,h,w]
        out[f"conv{block}_{index}.{'weight' if kind == 'kernel' else 'bias'}"] = tensor
    if offset != len(blob):
        raise InputError(f"vgg19: {label} has {len(blob) - offset} more bytes than model.json says")
    return out


def installed_convs() -> set[str]:
    """The convolutions already in the hub store."""
    path = hub.installed_path(hub.find_spec(MODEL_ID))
    return set(read_metadata(path).get("convs", [])) if path is not None else set()


def ensure_convs(convs: tuple[str, ...], wanted_by: str) -> Path:
    """The installed model file, holding at least ``convs`` (fetching only missing groups).

    Fails before downloading anything large when a needed group is not available upstream:
    the deepest files are tried first and every unavailable one is named.
    """
    spec = hub.find_spec(MODEL_ID)
    have = installed_convs()
    missing = [c for c in convs if c not in have]
    if not missing:
        return hub.installed_path(spec)
    if settings.offline():
        raise ModelNotAvailable(
            f"vgg19 layers {', '.join(missing)} are not installed and IMGPERC_OFFLINE=1 forbids downloading them",
            "run once without IMGPERC_OFFLINE, with network access or IMGPERC_MIRROR set, to fetch them",
        )
    by_name = {f.name: f for f in spec.files}
    shards = group_files()
    files = (by_name["model.json"], *(by_name[f.name] for c in missing for f in shards[c]))
    _prefetch(files, downloads_dir() / spec.id, wanted_by)
    partial = dataclasses.replace(spec, files=files, convert=functools.partial(convert, base=install_dir(spec) / MODEL_FILE))
    path = hub.pull(partial, force=True)
    have = installed_convs()
    still = [c for c in convs if c not in have]
    if still:
        raise ModelNotAvailable(f"vgg19: converting the downloaded groups did not yield {', '.join(still)}")
    return path


def _prefetch(files: tuple[hub.RemoteFile, ...], raw_dir: Path, wanted_by: str) -> None:
    """Download ``files`` deepest first; on failure name every unavailable file and stop."""
    unavailable: list[str] = []
    reason = ""
    with hub.download_bar(f"download {MODEL_ID}", files) as reporter:
        for remote in reversed(files):
            dest = raw_dir / remote.name
            if not (dest.is_file() and dest.stat().st_size == remote.size):
                try:
                    hub.fetch(remote, dest, report=reporter(remote))
                except DownloadError as exc:
                    unavailable.append(remote.name)
                    reason = reason or exc.message.split(": ", 1)[-1]
                    continue
            if unavailable:
                break
    if unavailable:
        names = ", ".join(sorted(unavailable, key=lambda n: [int(x) for x in re.findall(r"\d+", n)]))
        raise ModelNotAvailable(
            f"vgg19 cannot provide {wanted_by}: {names} not available from {hub.resolve_url(BASE_URL)} ({reason})",
            download_hint(hub.find_spec(MODEL_ID)),
        )


def fetch(taps: tuple[str, ...]) -> Path:
    """The installed model file, holding at least the convolutions up to the deepest of ``taps``."""
    return ensure_convs(convs_needed(VGG19_BLOCKS, taps), wanted_by=taps[-1])


def load(taps: tuple[str, ...]) -> LossNetwork:
    """The VGG-19 loss network cut after the deepest of ``taps``."""
    from .base import CaffePreprocess, LossNetwork

    tensors, _ = load_model_file(fetch(taps))
    return LossNetwork(MODEL_ID, CaffePreprocess(), build_layers(VGG19_BLOCKS, tensors, taps), taps)


NETWORK = NetworkDef(
    name=MODEL_ID,
    description="Oxford VGG-19 (ImageNet), TF.js export; Caffe preprocessing; downloads per layer",
    layers=layer_names(VGG19_BLOCKS),
    loader=load,
    default_recipe="vgg19-relu3",
    models=(MODEL_ID,),
    prefetch=fetch,
)
