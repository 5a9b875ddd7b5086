"""Loss networks: tap naming, truncation, per-layer downloads, missing layers, the vgg16 path."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
import torchvision
from conftest import MIRROR_DIR, MirrorServer

from imgperc import hub
from imgperc.errors import ImgpercError, ModelNotAvailable
from imgperc.losses import load_loss_network, network_def
from imgperc.losses.networks import vgg16, vgg19
from imgperc.losses.networks.vgg import VGG16_BLOCKS, layer_names

VGG19_DIR = "/raw.githubusercontent.com/DavidCai1111/vgg19-tensorflowjs-model/08d09052bc6258d3abdfa341850122fc4b746db6/model/"


def _files(requests):
    return sorted(path.rsplit("/", 1)[1] for path in requests)


def test_vgg16_tap_names_match_torchvision_feature_indices():
    features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["D"])
    names = layer_names(VGG16_BLOCKS)
    assert len(names) == len(features)
    for name, module in zip(names, features):
        kind = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}[name[:4]]
        assert isinstance(module, kind), name
    assert [vgg16.feature_index(t) for t in ("relu1_2", "relu2_2", "relu3_3", "relu4_3")] == [3, 8, 15, 22]


def test_every_network_lists_its_layers_and_its_hub_model():
    for name in ("vgg16", "vgg19"):
        definition = network_def(name)
        assert definition.layers[0] == "conv1_1" and "relu2_2" in definition.layers
        assert hub.find_spec(definition.models[0]).task == "loss-network"
    with pytest.raises(ImgpercError, match="has no layer relu9_9"):
        load_loss_network("vgg19", ["relu9_9"])


def test_vgg19_up_to_relu2_2_downloads_only_its_groups_and_truncates(use_mirror):
    net = load_loss_network("vgg19", ["relu1_2", "relu2_2"])
    assert _files(use_mirror.requests) == sorted(["model.json", *(f"group{k}-shard1of1" for k in (1, 2, 3, 4))])
    assert all(path.startswith(VGG19_DIR) for path in use_mirror.requests)
    assert list(net.layers)[-1] == "relu2_2" and "conv3_1" not in net.layers
    assert net.taps == ("relu1_2", "relu2_2")
    image = torch.rand(2, 3, 32, 24, requires_grad=True)
    out = net(image)
    assert set(out) == {"relu1_2", "relu2_2"}
    assert out["relu1_2"].shape == (2, 64, 32, 24) and out["relu2_2"].shape == (2, 128, 16, 12)
    assert all(not p.requires_grad for p in net.parameters())
    assert not net.train().training  # stays in eval mode
    out["relu2_2"].sum().backward()
    assert image.grad.abs().sum() > 0

    # converted once: loading again downloads nothing; a deeper tap fetches only its group
    use_mirror.requests.clear()
    load_loss_network("vgg19", ["relu2_2"])
    assert use_mirror.requests == []
    deeper = load_loss_network("vgg19", ["relu3_1"])
    assert _files(use_mirror.requests) == ["group5-shard1of1", "model.json"]
    assert list(deeper.layers)[-1] == "relu3_1"


def test_vgg19_weights_and_caffe_preprocessing_match_the_tfjs_files(use_mirror):
    net = load_loss_network("vgg19", ["conv1_1"])
    raw = np.fromfile(MIRROR_DIR / VGG19_DIR.strip("/") / "group1-shard1of1", dtype="<f4")
    kernel, bias = raw[: 3 * 3 * 3 * 64].reshape(3, 3, 3, 64), raw[3 * 3 * 3 * 64 :]
    conv = net.layers["conv1_1"]
    assert torch.equal(conv.weight, torch.from_numpy(kernel).permute(3, 2, 0, 1))
    assert torch.equal(conv.bias, torch.from_numpy(bias))
    pixel = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1)  # RGB
    bgr = net.preprocess(pixel).flatten().tolist()
    assert bgr == pytest.approx([0.0 - 103.939, 127.5 - 116.779, 255.0 - 123.68])


def test_vgg19_missing_layers_fail_fast_naming_the_files(use_mirror):
    with pytest.raises(ModelNotAvailable) as info:
        load_loss_network("vgg19", ["relu1_1", "relu4_1"])
    message = str(info.value)
    assert "relu4_1" in message and "group9-shard1of2, group9-shard2of2 not available from" in message
    assert "\n" not in message
    # nothing shallower than conv3_4 was fetched: the deepest files are tried first
    assert _files(use_mirror.requests) == ["group8-shard1of1", "group9-shard1of2", "group9-shard2of2"]
    assert hub.installed_path(hub.find_spec("vgg19")) is None


def test_vgg19_offline_without_weights_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    with pytest.raises(ModelNotAvailable, match="IMGPERC_OFFLINE"):
        load_loss_network("vgg19", ["relu1_1"])


@pytest.mark.needs_shared("mirror")
def test_vgg19_pinned_sizes_follow_the_shapes_in_model_json():
    manifest = json.loads((MIRROR_DIR / VGG19_DIR.strip("/") / "model.json").read_text())["weightsManifest"]
    pinned = {f.name: f for f in hub.find_spec("vgg19").files}
    for group in manifest[:16]:  # the conv layers
        nbytes = sum(4 * int(np.prod(w["shape"])) for w in group["weights"])
        assert sum(pinned[p].size for p in group["paths"]) == nbytes
    for name, remote in pinned.items():
        known = name == "model.json" or int(name[5:].split("-")[0]) <= 8
        assert (remote.sha256 is not None) == known, name


# ---------------------------------------------------------------- vgg16 on generated weights

TINY_CFG = [4, 4, "M", 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M", 8, 8, 8, "M"]


def _served_vgg16(tmp_path, monkeypatch, *, tamper: bool = False, state=None):
    """A torchvision-layout VGG-16 state dict with tiny widths, served like download.pytorch.org."""
    torch.manual_seed(0)
    features = torchvision.models.vgg.make_layers(TINY_CFG)
    if state is None:
        state = {f"features.{k}": v for k, v in features.state_dict().items()}
        state.update({"classifier.0.weight": torch.zeros(2, 8), "classifier.0.bias": torch.zeros(2)})
    staging = tmp_path / "weights.pth"
    torch.save(state, staging)
    data = staging.read_bytes()
    prefix = hashlib.sha256(data).hexdigest()[:8]
    if tamper:
        prefix = "00000000" if prefix != "00000000" else "11111111"
    folder = tmp_path / "root" / "download.pytorch.org" / "models"
    folder.mkdir(parents=True)
    (folder / f"vgg16-{prefix}.pth").write_bytes(data)
    server = MirrorServer(tmp_path / "root")
    monkeypatch.setenv("IMGPERC_MIRROR", server.url)
    remote = hub.RemoteFile(f"https://download.pytorch.org/models/vgg16-{prefix}.pth", len(data), None)
    monkeypatch.setattr(vgg16, "WEIGHTS", remote)
    return features, server


def test_vgg16_path_end_to_end_on_generated_weights(tmp_path, monkeypatch):
    features, server = _served_vgg16(tmp_path, monkeypatch)
    try:
        net = load_loss_network("vgg16", ["relu2_2", "relu4_3"])
        assert len(server.requests) == 1 and server.requests[0].startswith("/download.pytorch.org/models/vgg16-")
        assert list(net.layers)[-1] == "relu4_3"
        image = torch.rand(1, 3, 32, 32)
        out = net(image)
        normalized = (image - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        reference = {}
        x = normalized
        with torch.no_grad():
            for index, module in enumerate(features):
                x = module(x.clone())
                reference[index] = x
        assert torch.allclose(out["relu2_2"], reference[8], atol=1e-6)
        assert torch.allclose(out["relu4_3"], reference[22], atol=1e-6)
        server.requests.clear()
        load_loss_network("vgg16", ["relu1_2"])  # converted once, never downloaded again
        assert server.requests == []
    finally:
        server.close()


def test_vgg16_file_whose_hash_does_not_match_its_name_is_refused(tmp_path, monkeypatch):
    _, server = _served_vgg16(tmp_path, monkeypatch, tamper=True)
    try:
        with pytest.raises(ImgpercError, match="does not start with 00000000|does not start with 11111111"):
            load_loss_network("vgg16", ["relu1_2"])
    finally:
        server.close()


class Payload:
    """Not a tensor: weights_only loading must refuse to unpickle it."""


def test_vgg16_weights_are_loaded_without_arbitrary_unpickling(tmp_path, monkeypatch):
    _, server = _served_vgg16(tmp_path, monkeypatch, state={"features.0.weight": Payload()})
    try:
        with pytest.raises(ImgpercError, match="not a loadable torchvision state dict"):
            load_loss_network("vgg16", ["relu1_2"])
    finally:
        server.close()


# ---------------------------------------------------------------- squeezenet1_1

SQUEEZENET_DIR = MIRROR_DIR / "raw.githubusercontent.com/BruceDai/test-data/38659dfbc5f69daddb71b42d10eb4970176ddc54/models/squeezenet1.1_nchw"


def test_squeezenet_matches_the_reference_outputs(use_mirror):
    net = load_loss_network("squeezenet1_1", ["fire3", "pool10"])
    assert len(use_mirror.requests) == 52 and all("/weights/" in r for r in use_mirror.requests)
    for case in ("0", "1", "2"):
        # the reference pairs feed the network directly (no preprocessing)
        raw = torch.from_numpy(np.load(SQUEEZENET_DIR / "test_data_set" / case / "input_0.npy"))
        expected = torch.from_numpy(np.load(SQUEEZENET_DIR / "test_data_set" / case / "output_0.npy"))
        with torch.no_grad():
            out = net.extract(raw)
        assert out["fire3"].shape == (1, 128, 55, 55)
        assert torch.allclose(out["pool10"], expected, rtol=1e-4, atol=1e-3)
    shallow = load_loss_network("squeezenet1_1", ["fire2"])
    assert list(shallow.layers) == ["conv1", "relu1", "pool1", "fire2"]
