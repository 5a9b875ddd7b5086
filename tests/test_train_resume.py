"""Interrupted runs resume exactly: SIGKILL part-way, and Ctrl-C (SIGINT), on a tiny SR net."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import pytest

from imgperc.modelfile import read_metadata
from imgperc.train import checkpoint, log

from conftest import random_images

ITERATIONS = 200


@pytest.fixture
def data(tmp_path):
    return random_images(tmp_path / "hr", [(36, 40 + i) for i in range(4)], seed=1)


def _command(data, out, iterations=ITERATIONS):
    return [sys.executable, "-m", "imgperc", "train", "sr", "--scale", "4", "--loss", "pixel", "--data", str(data),
            "--patch-size", "32", "--channels", "4", "--residual-blocks", "1", "--batch-size", "2",
            "--iterations", str(iterations), "--checkpoint-every", "10", "--preview-every", "0", "--log-every", "1",
            "--workers", "0", "--precision", "fp32", "--out", str(out)]


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _run(command):
    return subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)


def _start_and_wait(command, log_path, iteration):
    """Start a run and return it once its log has passed ``iteration``."""
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        records = log.read(log_path)
        if records and records[-1]["iteration"] >= iteration:
            return process
        assert process.poll() is None, f"run ended early: {process.communicate()[1]}"
        time.sleep(0.01)
    process.kill()
    pytest.fail("the run did not reach the iteration in time")


def _losses(records):
    return [r["loss"]["total"] for r in records]


@pytest.fixture
def reference(tmp_path, data):
    """The same run, never interrupted."""
    out = tmp_path / "reference"
    result = _run(_command(data, out))
    assert result.returncode == 0, result.stderr
    return log.read(out / "log.jsonl")


def _check_complete(out, reference):
    records = log.read(out / "log.jsonl")
    assert [r["iteration"] for r in records] == list(range(1, ITERATIONS + 1))
    assert all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(_losses(records), _losses(reference)))
    assert read_metadata(out / "model.safetensors")["iterations"] == ITERATIONS


def test_sigkill_part_way_then_resume(tmp_path, data, reference):
    out = tmp_path / "run"
    process = _start_and_wait(_command(data, out), out / "log.jsonl", 35)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    saved = checkpoint.latest(out / "checkpoints")
    assert saved is not None and 30 <= saved.iteration < ITERATIONS and saved.iteration % 10 == 0
    assert not (out / "model.safetensors").exists()
    resumed = _run(_command(data, out))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at iteration {saved.iteration} of {ITERATIONS}" in resumed.stderr
    _check_complete(out, reference)


def test_ctrl_c_saves_a_checkpoint_then_resume(tmp_path, data, reference):
    out = tmp_path / "run"
    process = _start_and_wait(_command(data, out), out / "log.jsonl", 35)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Stopped (SIGINT: stopped at iteration" in stderr
    stopped = log.read(out / "log.jsonl")[-1]["iteration"]
    assert 35 <= stopped < ITERATIONS and checkpoint.latest(out / "checkpoints").iteration == stopped
    resumed = _run([*_command(data, out), "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at iteration {stopped} of {ITERATIONS}" in resumed.stderr
    _check_complete(out, reference)


def test_resume_without_a_checkpoint_is_an_error(tmp_path, data):
    result = _run([*_command(data, tmp_path / "new", iterations=2), "--resume"])
    assert result.returncode == 1 and "--resume: no checkpoint" in result.stderr


def test_a_finished_run_can_be_extended(tmp_path, data):
    out = tmp_path / "run"
    assert _run(_command(data, out, iterations=5)).returncode == 0
    again = _run(_command(data, out, iterations=5))
    assert again.returncode == 0 and "already reached iteration 5" in again.stderr
    longer = _run(_command(data, out, iterations=8))
    assert longer.returncode == 0, longer.stderr
    assert [r["iteration"] for r in log.read(out / "log.jsonl")] == list(range(1, 9))
    assert read_metadata(out / "model.safetensors")["iterations"] == 8
