"""The inference engine: precision choice and fallback, the bf16 accuracy guard, exact tiling
(style and super-resolution nets), bounded memory, compiled-graph policy and rewrites, threads."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from imgperc import hub
from imgperc.errors import InputError
from imgperc.inference import Engine, graph, precision, run_net, same_size_batches, threads, tiling
from imgperc.inference.norm import NormStats
from imgperc.io import read_image
from imgperc.modelfile import build_model
from imgperc_sr.nets import sr_johnson
from imgperc_style.nets import JohnsonNet

from conftest import DATA_DIR, require_shared

CPU = torch.device("cpu")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def photo(h: int, w: int) -> torch.Tensor:
    """A crop of a real photo, [1,3,h,w] in [0,1]."""
    require_shared("data")
    pixels = read_image(DATA_DIR / "content" / "chicago.jpg").pixels
    return pixels[None, :, 40 : 40 + h, 60 : 60 + w].contiguous()


def tiny_style(seed: int = 0) -> JohnsonNet:
    torch.manual_seed(seed)
    net = JohnsonNet(channels=4, residual_blocks=1)
    with torch.no_grad():  # non-trivial instance-norm affines, so statistics matter
        for module in net.modules():
            if isinstance(module, nn.InstanceNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return net.eval()


def tiny_sr() -> nn.Module:
    torch.manual_seed(0)
    net = sr_johnson(scale=4, channels=8, residual_blocks=1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


# --- reduced precision (the policy: tests/test_precision.py) ---------------------------------


class _Net(nn.Module):
    """RGB -> 8 channels -> (inner conv, reduced precision) -> RGB, weights chosen per test."""

    size_multiple = 1

    def __init__(self, first: float, inner: float, last: float, bias: float = 0.0) -> None:
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 1), nn.Conv2d(8, 3, 1)
        with torch.no_grad():
            for conv, value in ((self.a, first), (self.b, inner), (self.c, last)):
                conv.weight.fill_(value)
                conv.bias.zero_()
            self.c.bias.fill_(bias)

    def forward(self, x):
        return self.c(F.relu(self.b(F.relu(self.a(x)))))


def test_fp16_overflow_falls_back_to_fp32_by_itself():
    net = _Net(first=100.0, inner=100.0, last=1e-6)  # inner values ~2e5: inf in fp16, fine in fp32
    x = torch.rand(2, 3, 8, 8) * 0.5 + 0.5
    expected = run_net(_Net(100.0, 100.0, 1e-6), x, pad=2)
    engine = Engine(net, device="cpu", precision="fp16", tile=None, compile="never")
    with pytest.warns(RuntimeWarning, match="fp16 gave NaN or infinite values: switched to fp32"):
        y = run_net(engine, x, pad=2)
    assert engine.precision == "fp32"
    assert torch.allclose(y, expected, atol=1e-5)


def test_black_output_falls_back_but_a_net_that_means_black_keeps_its_precision():
    x = torch.rand(1, 3, 8, 8) * 0.5 + 0.5
    underflow = Engine(_Net(first=1e-4, inner=1e-6, last=1e9), device="cpu", precision="fp16", tile=None, compile="never")
    with pytest.warns(RuntimeWarning, match="a black image"):
        y = underflow.run(x, pad=0)
    assert underflow.precision == "fp32" and float(y.min()) > 0.5
    black = Engine(_Net(first=1.0, inner=1.0, last=0.0, bias=-1.0), device="cpu", precision="fp16", tile=None, compile="never")
    assert float(black.run(x, pad=0).max()) == 0.0
    assert black.precision == "fp16" and black.events == []


def test_bf16_is_within_40_db_of_fp32_on_a_real_style(use_mirror):
    net, _ = build_model(hub.ensure("muse"))
    x = photo(64, 96)
    fp32 = Engine(net, device="cpu", precision="fp32", tile=None, compile="never").run(x, pad=16)
    bf16 = Engine(net, device="cpu", precision="bf16", tile=None, compile="never").run(x, pad=16)
    assert 40.0 <= psnr(bf16, fp32) < math.inf  # bf16 really ran, and stayed close


def test_image_facing_convolutions_stay_fp32():
    assert precision.image_facing(torch.empty(3, 32, 9, 9)) and precision.image_facing(torch.empty(32, 3, 9, 9))
    assert not precision.image_facing(torch.empty(64, 32, 3, 3))
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(x.dtype)
            return x

    net = nn.Sequential(nn.Conv2d(3, 8, 3), Spy(), nn.Conv2d(8, 8, 3), Spy(), nn.Conv2d(8, 3, 3))
    with torch.inference_mode(), precision.ReducedPrecision(torch.bfloat16):
        y = net(torch.rand(1, 3, 12, 12))
    assert seen == [torch.float32, torch.float32] and y.dtype == torch.float32


# --- the engine's plain path ----------------------------------------------------------------------


def test_engine_matches_the_plain_path_and_keeps_sizes():
    net = tiny_style()
    x = photo(37, 51)
    expected = run_net(tiny_style(), x)
    engine = Engine(net, device="cpu", precision="fp32", tile=None, compile="never")
    y = run_net(engine, x)
    assert y.shape == x.shape and y.is_contiguous()
    assert torch.allclose(y, expected, atol=1e-5)


# --- tiling ------------------------------------------------------------------------------------


def test_feather_ramps_add_up_to_one():
    for length, tile, multiple, scale in ((100, 30, 4, 1), (257, 64, 1, 4), (64, 64, 4, 2)):
        for margin in (8, 16):
            total = torch.zeros(length * scale)
            for span in tiling.spans(length, tile, margin, multiple):
                total[span.start * scale : span.stop * scale] += tiling.ramp(span, length, 8, scale, CPU)
            assert torch.allclose(total, torch.ones_like(total))


def test_whole_image_statistics_from_tiles_are_exact():
    net, x = tiny_style(), photo(96, 128)
    with torch.inference_mode():
        recorder = NormStats("record")
        with recorder:
            net(x)
        measured = tiling.whole_image_stats(net, x, tile=32, margin=32, multiple=4)  # margin > receptive field
    assert len(measured) == len(recorder.recorded) == 7
    for (mean, var), (mean_t, var_t) in zip(recorder.recorded, measured):
        assert torch.allclose(mean, mean_t, rtol=1e-4, atol=1e-5) and torch.allclose(var, var_t, rtol=1e-3, atol=1e-6)


def test_tiled_style_equals_untiled():
    net, x = tiny_style(), photo(150, 230)
    whole = Engine(net, device="cpu", precision="fp32", tile=None, compile="never").run(x)
    engine = Engine(tiny_style(), device="cpu", precision="fp32", tile=80, compile="never")
    assert engine.tile_for((1, 3, 248, 328)) == 80
    tiled = engine.run(x)
    assert (tiled - whole).abs().max() < 1e-3 and psnr(tiled, whole) > 60


def test_tiled_sr_equals_untiled_at_four_times_the_size():
    net, x = tiny_sr(), photo(60, 84)
    with torch.inference_mode():
        whole = net(x)
        tiled = tiling.run_tiled(net, x, tile=24, multiple=1, margin=12, feather=6)
    assert tiled.shape == whole.shape == (1, 3, 240, 336)
    assert (tiled - whole).abs().max() < 1e-4


def test_tile_option_values():
    assert tiling.parse_tile("auto") == "auto" and tiling.parse_tile("off") is None and tiling.parse_tile("300") == 300
    with pytest.raises(InputError, match="--tile must be a number of pixels"):
        tiling.parse_tile("big")
    with pytest.raises(InputError, match="at least"):
        tiling.parse_tile(8)


def test_auto_tile_fits_the_memory_budget(monkeypatch):
    monkeypatch.setenv("IMGPERC_MEMORY", "64M")
    engine = Engine(tiny_style(), device="cpu", precision="fp32", compile="never")
    assert engine.tile_for((1, 3, 256, 256)) is None
    tile = engine.tile_for((1, 3, 4096, 4096))
    per_pixel, _ = tiling.probe(engine.net, 4)
    assert tile is not None and tiling.PEAK_FACTOR * per_pixel * (tile + 2 * tiling.DEFAULT_MARGIN) ** 2 <= 64 << 20


def test_tiling_bounds_the_memory_of_a_large_image(tmp_path):
    """Peak resident memory on a 1536 x 1536 image, tiled and untiled, each in a fresh process (so
    neither run can reuse memory the other freed) with its peak reset just before the run (so
    start-up cannot hide it), and the two outputs equal."""
    script = textwrap.dedent(
        """
        import sys, torch
        from torch import nn
        from imgperc.inference import Engine
        torch.manual_seed(0)
        # wide and cheap: 32 channels at full resolution, one instance norm (so two tile passes)
        net = nn.Sequential(nn.Conv2d(3, 32, 1), nn.InstanceNorm2d(32, affine=True), nn.ReLU(), nn.Conv2d(32, 3, 1))
        x = torch.rand(1, 3, 1536, 1536)
        mib = lambda key: next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key)) // 1024
        engine = Engine(net, device="cpu", precision="fp32", tile=256 if sys.argv[1] == "tiled" else "off", compile="never")
        engine.run(x[..., :32, :32])
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the peak (VmHWM) starts again from the current resident size
        start = mib("VmRSS:")
        y = engine.run(x, pad=0)
        print(mib("VmHWM:") - start)
        torch.save(y, sys.argv[2])
        """
    )
    path = tmp_path / "peak.py"
    path.write_text(script)
    growth = {}
    for mode in ("tiled", "whole"):
        result = subprocess.run([sys.executable, str(path), mode, str(tmp_path / f"{mode}.pt")], capture_output=True, text=True, check=True)
        growth[mode] = int(result.stdout.split()[-1])
    # untiled: at least one activation of 32 fp32 channels at 1536^2 (288 MiB); tiled: copies of
    # the 27 MiB image (padded canvas, blended output, result) plus one 448^2 tile's work
    # (measured 206-216 MiB tiled, 917 untiled)
    assert growth["whole"] > 288 and growth["tiled"] < growth["whole"] / 2.5, growth
    tiled, whole = torch.load(tmp_path / "tiled.pt"), torch.load(tmp_path / "whole.pt")
    assert (tiled - whole).abs().max() < 1e-4


# --- compiled graphs ----------------------------------------------------------------------------


def test_graph_rewrites_keep_results():
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.ReLU(), nn.Conv2d(16, 3, 9, padding=2)).eval()
    x = torch.rand(1, 3, 24, 28)
    names = graph.tensor_names(net)
    state = dict(net.named_parameters())
    with torch.no_grad():
        expected = net(x)
        program = torch.export.export(graph._Functional(net, names), (x, *(state[n] for n in names)))
        for dtype, tolerance in ((torch.float32, 1e-5), (torch.bfloat16, 5e-2)):
            rewritten = program.run_decompositions(graph._decompositions(dtype)).module()
            targets = {str(node.target) for node in rewritten.graph.nodes}
            y = rewritten(x, *(state[n] for n in names))
            assert y.dtype == torch.float32 and torch.allclose(y, expected, atol=tolerance)
            assert ("aten._to_copy.default" in targets) == (dtype == torch.bfloat16)


def test_package_key_shared_by_weights_not_by_shape_dtype_or_threads():
    x = torch.rand(1, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    a = tiny_style(0).to(memory_format=torch.channels_last)
    b = tiny_style(1).to(memory_format=torch.channels_last)
    key = graph.package_key(a, x, torch.float32)
    assert graph.package_key(b, x, torch.float32) == key
    assert graph.package_key(a, x[..., :16], torch.float32) != key
    assert graph.package_key(a, x, torch.bfloat16) != key
    assert graph.package_key(JohnsonNet(channels=8, residual_blocks=1), x, torch.float32) != key
    current = torch.get_num_threads()
    try:
        torch.set_num_threads(current + 1)
        assert graph.package_key(a, x, torch.float32) != key
    finally:
        torch.set_num_threads(current)


class _FakeCompiled:
    def __init__(self):
        self.calls = 0

    def __call__(self, net, x):
        self.calls += 1
        return net(x)


def test_auto_compiles_once_eager_running_has_cost_a_compile(monkeypatch):
    compiled = []
    monkeypatch.setattr(graph, "compile_seconds", lambda device: 0.05)
    monkeypatch.setattr(graph, "compile_net", lambda net, x, dtype: compiled.append(tuple(x.shape)) or _FakeCompiled())
    engine = Engine(tiny_style(), device="cpu", precision="fp32", tile=None, compile="auto")
    x = photo(32, 32)
    engine.run(x)
    assert compiled == []  # a single small image never waits for the compiler
    for _ in range(200):
        engine.run(x)
        if compiled:
            break
    assert compiled == [(1, 3, 128, 128)] and "compiled the net" in engine.events[-1]
    engine.run(x)
    assert compiled == [(1, 3, 128, 128)]


def test_cached_packages_are_loaded_and_never_compiled_again(monkeypatch):
    fake = _FakeCompiled()
    monkeypatch.setattr(graph, "load_compiled", lambda net, x, dtype: fake)
    monkeypatch.setattr(graph, "compile_net", lambda *args: pytest.fail("compiled although cached"))
    engine = Engine(tiny_style(), device="cpu", precision="fp32", tile=None, compile="auto")
    engine.run(photo(32, 32))
    assert fake.calls == 1 and engine.events[0].startswith("loaded the compiled net")


def test_a_failing_compiler_leaves_the_engine_eager(monkeypatch):
    def broken(net, x, dtype):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(graph, "compile_net", broken)
    engine = Engine(tiny_style(), device="cpu", precision="fp32", tile=None, compile="always")
    with pytest.warns(RuntimeWarning, match="compiling failed .*no C\\+\\+ compiler.*: running eagerly"):
        y = engine.run(photo(16, 16))
    assert y.shape == (1, 3, 16, 16) and engine.compile_mode == "never"


def test_compile_mode_from_the_environment(monkeypatch):
    monkeypatch.setenv("IMGPERC_COMPILE", "never")
    assert Engine(tiny_style(), device="cpu").compile_mode == "never"
    monkeypatch.setenv("IMGPERC_COMPILE", "sometimes")
    with pytest.raises(InputError, match="unknown compile mode"):
        Engine(tiny_style(), device="cpu")


# --- threads ------------------------------------------------------------------------------------


def test_threads_are_the_physical_cores_unless_overridden(monkeypatch):
    monkeypatch.delenv("IMGPERC_THREADS", raising=False)
    cores = threads.physical_cores()
    assert 1 <= cores <= (torch.multiprocessing.cpu_count() or 1)
    assert threads.auto_threads() == cores
    monkeypatch.setenv("IMGPERC_THREADS", " 3 ")
    assert threads.auto_threads() == 3


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_override_is_a_one_line_error(monkeypatch, value):
    monkeypatch.setenv("IMGPERC_THREADS", value)
    with pytest.raises(InputError, match=f"IMGPERC_THREADS must be a positive whole number, got '{value}'"):
        threads.auto_threads()


def test_the_engine_uses_the_same_thread_count_on_every_run(monkeypatch):
    monkeypatch.delenv("IMGPERC_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        assert Engine(tiny_style(), device="cpu").threads == threads.physical_cores()
        monkeypatch.setenv("IMGPERC_THREADS", "1")
        assert Engine(tiny_style(), device="cpu").threads == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


# --- batching ----------------------------------------------------------------------------------


def test_same_size_inputs_are_batched_in_order():
    sizes = [(4, 4), (4, 4), (4, 4), (8, 4), (4, 4), (4, 4)]
    groups = list(same_size_batches(enumerate(sizes), lambda item: item[1], limit=2))
    assert [[i for i, _ in group] for group in groups] == [[0, 1], [2], [3], [4, 5]]
    assert list(same_size_batches([], len, limit=3)) == []


def test_stylize_runs_a_folder_of_same_size_photos_in_batches(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from PIL import Image

    from imgperc.cli.main import cli
    from imgperc.modelfile import save_model_file

    model = tmp_path / "tiny.safetensors"
    save_model_file(model, tiny_style().state_dict(), {"architecture": "johnson", "config": {"channels": 4, "residual_blocks": 1}, "task": "style"})
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, size in enumerate([(24, 16)] * 5 + [(16, 16)]):
        Image.fromarray((torch.rand(size[1], size[0], 3) * 255).byte().numpy()).save(folder / f"p{i}.png")
    batches = []
    run = Engine.run
    monkeypatch.setattr(Engine, "run", lambda self, batch, **kw: batches.append(batch.shape[0]) or run(self, batch, **kw))
    result = CliRunner().invoke(cli, ["stylize", str(folder), "--model", str(model), "-q"])
    assert result.exit_code == 0, result.output
    assert batches == [5, 1] and len(list(folder.glob("*.tiny.png"))) == 6  # same-size neighbours together
