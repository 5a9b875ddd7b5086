"""`imgperc bench`: one row per size, JSON report, FLOP counting, clear errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
import torch
from torch import nn

from imgperc import plugins
from imgperc.cli.main import cli
from imgperc.errors import InputError
from imgperc.inference.bench import net_gflop
from imgperc.precision import resolve


def _bench(*args):
    return CliRunner().invoke(cli, ["bench", *map(str, args)])


def test_bench_times_every_size_against_plain_eager_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = _bench("--net", "johnson", "--sizes", "16,24", "--runs", "2", "--warmup", "0", "--compile", "never", "--json", out)
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines() if line.split() and line.split()[0] in ("16", "24")]
    assert [row[0] for row in rows] == ["16", "24"]
    report = json.loads(out.read_text())
    assert report["net"] == "johnson" and report["pad"] == 48
    assert report["machine"]["device"].split(":")[0] in ("cpu", "cuda") and report["machine"]["physical_cores"] >= 1
    first, second = report["results"]
    assert (first["size"], first["padded"], second["padded"]) == (16, [112, 112], [120, 120])
    for entry in report["results"]:
        expected = resolve("auto", torch.device("cpu"), "inference")  # bf16 where the CPU computes it natively
        assert entry["precision"] == expected and entry["compiled"] == "eager" and len(entry["runs_s"]) == 2
        assert entry["images_per_s"] == pytest.approx(1000 / entry["ms_per_image"])
        assert entry["gflops"] == pytest.approx(entry["gflop_per_image"] * entry["images_per_s"])
        assert entry["speedup"] == pytest.approx(entry["baseline_ms_per_image"] / entry["ms_per_image"])
        assert entry["peak_rss_mib"] > 0
    assert second["gflop_per_image"] > first["gflop_per_image"] > 0


def test_bench_sr_runs_the_x4_net_without_baseline():
    result = _bench("--task", "sr", "--sizes", "8", "--runs", "1", "--warmup", "0", "--compile", "never", "--no-baseline")
    assert result.exit_code == 0, result.output
    assert "net sr-shuffle, reflection pad 16" in result.output
    row = next(line.split() for line in result.output.splitlines() if line.split()[:1] == ["8"])
    assert row[2] == "40x40" and row[-2:] == ["-", "-"]


def test_net_gflop_counts_the_convolutions():
    conv = nn.Conv2d(3, 8, 3)
    assert net_gflop(conv, (1, 3, 10, 10)) == pytest.approx(2 * 8 * 3 * 9 * 8 * 8 / 1e9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sizes", "big"), "--sizes must be whole numbers"),
        (("--sizes", "4"), "at least 8 pixels"),
        (("--net", "nonet"), "unknown net 'nonet'"),
    ],
)
def test_bench_rejects_bad_input(args, message):
    result = _bench(*args, "--runs", "1", "--compile", "never")
    assert isinstance(result.exception, InputError) and message in str(result.exception)


def test_bench_asks_for_the_task_when_several_have_a_net():
    result = _bench("--sizes", "8", "--runs", "1", "--compile", "never")
    message = str(result.exception)
    assert isinstance(result.exception, InputError) and "choose the image task to bench with --task: " in message
    assert {"sr", "style"} <= set(message.split(": ", 1)[1].split(", "))


def test_bench_without_plugins_says_what_is_missing(monkeypatch):
    monkeypatch.setenv("IMGPERC_PLUGINS", "")
    plugins.reset()
    result = _bench("--sizes", "8")
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == "no image task to bench: install or enable a plugin that provides one (see `imgperc plugins`)"
    result = _bench("--task", "style", "--sizes", "8")
    assert "the 'style' image task is not available: install or enable the plugin that provides it" in str(result.exception)


def test_bench_does_not_overwrite_a_report(tmp_path):
    out = tmp_path / "bench.json"
    out.write_text("{}")
    result = _bench("--sizes", "16", "--json", out)
    assert isinstance(result.exception, InputError) and "already exists" in str(result.exception)
    assert out.read_text() == "{}"
