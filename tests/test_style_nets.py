"""Style transform nets: johnson (trainable), ml5 (exact port of the TF/deeplearn.js nets), inference."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imgperc import hub, plugins
from imgperc.inference import DEFAULT_PAD, Engine, net_pad, reflect_pad, run_net, select_device
from imgperc.errors import InputError
from imgperc.modelfile import build_model, read_metadata, save_model_file
from imgperc_style import ml5, ml5_styles
from imgperc_style.light import LightNet
from imgperc_style.nets import JohnsonNet

from tiny_nets import check_style_net_conventions

# --- johnson -------------------------------------------------------------------------------


def test_johnson_default_layout():
    net = JohnsonNet()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    shapes = [tuple(c.weight.shape) for c in convs]
    assert shapes[:3] == [(32, 3, 9, 9), (64, 32, 3, 3), (128, 64, 3, 3)]
    assert shapes[3:13] == [(128, 128, 3, 3)] * 10
    assert shapes[13:] == [(64, 128, 3, 3), (32, 64, 3, 3), (3, 32, 9, 9)]
    assert [c.stride for c in convs[:3]] == [(1, 1), (2, 2), (2, 2)]
    norms = [m for m in net.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 15 and all(n.affine for n in norms)
    assert not any(isinstance(m, torch.nn.ZeroPad2d) for m in net.modules())


def test_johnson_tiny_forward_backward():
    check_style_net_conventions(JohnsonNet(channels=4, residual_blocks=1))


def test_johnson_roundtrip_through_model_file(tmp_path):
    torch.manual_seed(0)
    net = JohnsonNet(channels=4, residual_blocks=2).eval()
    path = tmp_path / "tiny.safetensors"
    save_model_file(path, net.state_dict(), {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 2}, "task": "style"})
    rebuilt, meta = build_model(path)
    assert isinstance(rebuilt, JohnsonNet) and meta["task"] == "style"
    x = torch.rand(1, 3, 12, 8)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), net(x))


def test_both_nets_registered():
    nets = plugins.registry("transform_nets")
    assert "johnson" in nets and "ml5" in nets
    assert nets.owners["ml5"] == "style"


# --- TF "SAME" primitives, checked by hand -------------------------------------------------


def _one_hot_kernel(a: int, b: int) -> torch.Tensor:
    k = torch.zeros(1, 1, 3, 3)
    k[0, 0, a, b] = 1.0
    return k


def test_conv_same_stride2_pads_bottom_right():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    # TF pads 0 rows on top and 1 at the bottom: tap (0,0) reads x[2i,2j], tap (2,2) x[2i+2,2j+2]
    assert ml5.conv2d_same(x, _one_hot_kernel(0, 0), 2)[0, 0].tolist() == [[0, 2], [8, 10]]
    assert ml5.conv2d_same(x, _one_hot_kernel(2, 2), 2)[0, 0].tolist() == [[10, 0], [0, 0]]
    # odd size: 1 pixel on each side; stride 1: symmetric
    assert ml5.conv2d_same(torch.ones(1, 1, 5, 5), _one_hot_kernel(0, 0), 2)[0, 0].tolist() == [[0, 0, 0], [0, 1, 1], [0, 1, 1]]
    assert ml5.conv2d_same(x, _one_hot_kernel(0, 0), 1)[0, 0, :2, :2].tolist() == [[0, 0], [0, 0]]


def test_conv_transpose_same_stride2_by_hand():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    out = lambda a, b: ml5.conv_transpose2d_same(x, _one_hot_kernel(a, b), 2)[0, 0].tolist()
    assert out(0, 0) == [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]]
    assert out(1, 1) == [[0, 0, 0, 0], [0, 1, 0, 2], [0, 0, 0, 0], [0, 3, 0, 4]]
    assert out(2, 2) == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]


def test_conv_transpose_is_adjoint_of_conv():
    torch.manual_seed(0)
    w = torch.randn(5, 4, 3, 3)  # conv 4->5; the transposed conv with it maps 5->4
    x, y = torch.randn(1, 4, 10, 6), torch.randn(1, 5, 5, 3)
    lhs = (ml5.conv2d_same(x, w, 2) * y).sum()
    rhs = (x * ml5.conv_transpose2d_same(y, w, 2)).sum()
    assert torch.allclose(lhs, rhs, rtol=1e-4)


# --- ml5 checkpoint conversion against a NumPy reference of the TF graph ------------------

KERNELS = (
    [(9, 9, 3, 32), (3, 3, 32, 64), (3, 3, 64, 128)]
    + [(3, 3, 128, 128)] * 10
    + [(3, 3, 64, 128), (3, 3, 32, 64), (9, 9, 32, 3)]  # transposed kernels are [h,w,out,in]
)


def _tf_conv(x, w, stride):
    """tf.nn.conv2d(padding='SAME') on [H,W,C] with a [kh,kw,in,out] kernel."""
    h, wd, _ = x.shape
    kh, kw = w.shape[:2]
    oh, ow = math.ceil(h / stride), math.ceil(wd / stride)
    ph, pw = max((oh - 1) * stride + kh - h, 0), max((ow - 1) * stride + kw - wd, 0)
    xp = np.pad(x, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    out = np.zeros((oh, ow, w.shape[3]))
    for a in range(kh):
        for b in range(kw):
            out += xp[a : a + (oh - 1) * stride + 1 : stride, b : b + (ow - 1) * stride + 1 : stride] @ w[a, b]
    return out


def _tf_conv_transpose(x, w, stride):
    """tf.nn.conv2d_transpose(output = input*stride, padding='SAME'), kernel [kh,kw,out,in]."""
    h, wd, _ = x.shape
    kh, kw = w.shape[:2]
    full = np.zeros(((h - 1) * stride + kh, (wd - 1) * stride + kw, w.shape[2]))
    for a in range(kh):
        for b in range(kw):
            full[a : a + (h - 1) * stride + 1 : stride, b : b + (wd - 1) * stride + 1 : stride] += x @ w[a, b].T
    top = max((h - 1) * stride + kh - h * stride, 0) // 2
    left = max((wd - 1) * stride + kw - wd * stride, 0) // 2
    return full[top : top + h * stride, left : left + wd * stride]


def _reference_forward(rgb255, variables):
    """The ml5 graph, step by step as ml5's StyleTransfer runs it (variable ids as there)."""

    def layer(x, i, stride, relu, transpose=False):
        y = (_tf_conv_transpose if transpose else _tf_conv)(x, variables[i], stride)
        mu, var = y.mean(axis=(0, 1)), y.var(axis=(0, 1))
        y = variables[i + 2] * (y - mu) / np.sqrt(var + 1e-3) + variables[i + 1]
        return np.maximum(y, 0) if relu else y

    x = layer(rgb255, 0, 1, True)
    x = layer(x, 3, 2, True)
    x = layer(x, 6, 2, True)
    for block in range(5):
        i = 9 + 6 * block
        x = x + layer(layer(x, i, 1, True), i + 3, 1, False)
    x = layer(x, 39, 2, True, transpose=True)
    x = layer(x, 42, 2, True, transpose=True)
    x = layer(x, 45, 1, False)
    return np.clip(np.tanh(x) * 150 + 127.5, 0, 255) / 255


def _write_checkpoint(folder, rng):
    """A deeplearn.js checkpoint with random weights (names as in ml5's manifest)."""
    manifest, variables, files = {}, [], {}
    for layer, kernel in enumerate(KERNELS):
        channels = kernel[2] if layer in (13, 14) else kernel[3]
        shapes = [kernel, (channels,), (channels,)]
        values = [rng.normal(0, 0.1, kernel), rng.normal(0, 0.2, channels), rng.normal(1, 0.2, channels)]
        for j, (shape, value) in enumerate(zip(shapes, values)):
            index = 3 * layer + j
            name = "Variable" if index == 0 else f"Variable_{index}"
            value.astype("<f4").tofile(folder / name)
            manifest[name] = {"filename": name, "shape": list(shape)}
            variables.append(value.astype(np.float32).astype(np.float64))
            files[name] = folder / name
    (folder / "manifest.json").write_text(json.dumps(manifest))
    files["manifest.json"] = folder / "manifest.json"
    return files, variables


def test_ml5_conversion_matches_tf_reference(tmp_path):
    rng = np.random.default_rng(0)
    files, variables = _write_checkpoint(tmp_path, rng)
    tensors, meta = ml5.convert(files, style="test", upstream="test")
    assert meta == {"architecture": "ml5", "config": {}, "task": "style", "style": "test", "upstream": "test"}
    net = ml5.ML5Net()
    net.load_state_dict(tensors)
    image = rng.uniform(0, 1, (12, 8, 3))  # 12 -> 6 -> 3: odd sizes inside the net too
    expected = _reference_forward(image * 255, variables)
    with torch.no_grad():
        got = net(torch.from_numpy(image).permute(2, 0, 1)[None].float())[0].permute(1, 2, 0).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-4)


def test_ml5_conversion_rejects_wrong_shapes(tmp_path):
    files, _ = _write_checkpoint(tmp_path, np.random.default_rng(1))
    manifest = json.loads(files["manifest.json"].read_text())
    manifest["Variable_3"]["shape"] = [3, 3, 64, 32]
    files["manifest.json"].write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="Variable_3"):
        ml5.checkpoint_to_state(files)


# --- hub entries and the real converted nets -----------------------------------------------


def test_ml5_hub_entries():
    specs = {s.id: s for s in hub.specs().values() if s.task == "style"}
    assert set(ml5_styles.STYLES) <= set(specs)
    assert hub.find_spec("la_muse").id == "muse" and hub.find_spec("rain_princess").id == "rain-princess"
    expected = {"manifest.json", "Variable", *(f"Variable_{i}" for i in range(1, 48))}
    for style_id, (folder, _) in ml5_styles.STYLES.items():
        spec = specs[style_id]
        assert {f.name for f in spec.files} == expected
        assert all(f"/0612a3e7c51cbffdc5db701dff49d16d1ac26fa8/models/style-transfer/{folder}/" in f.url for f in spec.files)
        assert all(f.sha256 and len(f.sha256) == 64 for f in spec.files)
        assert spec.license == "MIT" and spec.source == "ml5js/ml5-data-and-models@0612a3e"
        # the float counts of the pinned sizes fit the architecture
        sizes = {f.name: f.size for f in spec.files}
        assert sum(v for k, v in sizes.items() if k != "manifest.json") == 4 * sum(p.numel() for p in ml5.ML5Net().parameters())


def test_muse_from_mirror_runs_at_exact_size(use_mirror):
    path = hub.ensure("muse")
    assert not any(r.endswith(".keep") for r in use_mirror.requests)
    assert len(use_mirror.requests) == 49
    meta = read_metadata(path)
    assert (meta["architecture"], meta["style"], meta["task"], meta["license"]) == ("ml5", "muse", "style", "MIT")
    net, _ = build_model(path)
    torch.manual_seed(0)
    x = torch.rand(1, 3, 23, 37)
    y = run_net(net, x)
    assert y.shape == x.shape
    assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    assert float((y - x).abs().mean()) > 0.05  # it does change the picture


# --- inference -----------------------------------------------------------------------------


def test_reflect_pad_matches_torch_and_goes_beyond_the_size():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    assert torch.equal(reflect_pad(x, 2, 1, 3, 2), F.pad(x, (3, 2, 2, 1), mode="reflect"))
    wide = reflect_pad(x, 0, 0, 7, 0)[0, 0, 0].tolist()
    assert wide == [1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert reflect_pad(torch.ones(1, 1, 1, 1), 2, 2, 2, 2).shape == (1, 1, 5, 5)


class _Scale2(torch.nn.Module):
    """A stand-in x2 net that needs sizes divisible by 8."""

    size_multiple = 8

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        assert x.shape[-2] % 8 == 0 and x.shape[-1] % 8 == 0
        return F.interpolate(x * self.w, scale_factor=2, mode="nearest")


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (23, 37), (32, 32)])
def test_run_net_crops_back_exactly(size):
    x = torch.rand(5, 3, *size)
    y = run_net(_Scale2(), x, pad=3, batch_size=2)
    assert y.shape == (5, 3, size[0] * 2, size[1] * 2)
    assert torch.equal(y, F.interpolate(x, scale_factor=2, mode="nearest"))


class _Seen(torch.nn.Module):
    """An identity net that records the sizes it is run on."""

    size_multiple = 4

    def __init__(self, reflection_pad: int | None = None):
        super().__init__()
        if reflection_pad is not None:
            self.reflection_pad = reflection_pad
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x):
        self.sizes.append(tuple(x.shape[-2:]))
        return x


def test_nets_run_with_the_reflection_pad_they_ask_for():
    x = torch.rand(1, 3, 10, 21)
    plain, light = _Seen(), _Seen(reflection_pad=5)
    assert torch.equal(run_net(plain, x), x) and torch.equal(run_net(light, x), x)
    assert plain.sizes == [(10 + 96 + 2, 21 + 96 + 3)]  # DEFAULT_PAD, 48 a side, then multiples of 4
    assert light.sizes == [(10 + 10 + 0, 21 + 10 + 1)]
    engine = Engine(light, device="cpu", precision="fp32", tile=None, compile="never")
    engine.run(x)
    run_net(engine, x, pad=0)
    assert light.sizes[1:] == [(20, 32), (12, 24)]  # the engine asks the net too; an explicit pad wins
    assert net_pad(engine) == 5


def test_the_light_net_asks_for_less_padding_than_the_default():
    assert net_pad(LightNet()) < DEFAULT_PAD == net_pad(JohnsonNet())


def test_select_device():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="unknown device"):
        select_device("tpu")
