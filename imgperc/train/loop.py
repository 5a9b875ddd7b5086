"""The core training loop: Adam over a task's net and loss, with checkpoints, logs, previews.

Run folder (``--out``)::

    run.json              the options the run was started with (checked on resume)
    checkpoints/          see :mod:`.checkpoint`
    log.jsonl             one JSON record per logged iteration (see :mod:`.log`)
    previews/iter-N.png   the net on fixed validation images
    loss_curve.png        every loss term against the iteration
    model.safetensors     the result: an imgperc model file

Under torchrun every process trains on its own batches (DistributedDataParallel averages the
gradients); only rank 0 writes files.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .. import __version__
from ..atomic import atomic_path
from ..errors import InputError, Stopped
from ..modelfile import load_model_file, net_identity, save_model_file
from ..precision import resolve
from . import checkpoint, log, plot
from .data import BatchStream, batch_loader
from .display import Display
from .job import TrainJob
from .options import TrainSettings
from .runtime import Runtime, StopSignals, autocast, start_runtime
from ..hub.user import check_user_name, install_user_model

RUN_FILE = "run.json"
LOG_FILE = "log.jsonl"
MODEL_FILE = "model.safetensors"
CURVE_FILE = "loss_curve.png"
RUN_ENTRIES = (RUN_FILE, LOG_FILE, MODEL_FILE, CURVE_FILE, "checkpoints", "previews")


class TrainingInterrupted(Stopped):
    """Raised after a stop signal once the checkpoint is safely written."""

    def __init__(self, iteration: int, signal_name: str, out: Path) -> None:
        super().__init__(f"{signal_name}: stopped at iteration {iteration}; checkpoint saved in {out} (run the same command to resume)")
        self.iteration = iteration


def _signature(job: TrainJob, settings: TrainSettings, runtime: Runtime) -> dict[str, Any]:
    """What must not change between the start of a run and its resumption."""
    return {
        "task": job.task,
        "architecture": job.architecture,
        "config": job.config,
        "job": job.signature(),
        "batch_size": settings.batch_size,
        "lr": settings.lr,
        "lr_schedule": settings.lr_schedule,
        "init": str(settings.init) if settings.init else None,
        "seed": settings.seed,
        "processes": runtime.world,
    }


# Signature fields named otherwise than their option (any other field reads as ``--field-name``);
# None: a field that follows from another one.
OPTION_NAMES = {"architecture": "--arch", "network": "--loss-network", "name": "--preset",
                "processes": "the number of processes", "description": None, "content_layers": None}


def _leaves(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every value of a signature by its path (a tuple of keys); dicts are walked into, but for
    layer maps (``style_layers``: one option's value)."""
    if not isinstance(value, dict) or (path and path[-1].endswith("_layers")):
        return {path: value}
    return {leaf: v for key, item in value.items() for leaf, v in _leaves(item, (*path, key)).items()}


def _differences(previous: dict[str, Any], signature: dict[str, Any], names: dict[str, str | None]) -> list[str]:
    """The options that differ between two run signatures, as the user sets them, with their
    values. Of a dict naming a preset (a recipe's ``name``), only a changed name is shown: the
    rest follows from it."""
    old = _leaves({k: previous.get(k) for k in signature})
    new = _leaves(signature)
    renamed = {path[:-1] for path in new if path[-1] == "name" and old.get(path) != new[path]}
    shown: dict[str, str] = {}
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path) or (path[:-1] in renamed and path[-1] != "name"):
            continue
        key = path[-1]
        label = names.get(key, OPTION_NAMES.get(key, f"--{key.replace('_', '-')}"))
        if label is not None and label not in shown:
            values = (old.get(path), new.get(path))
            plain = all(v is None or isinstance(v, (str, int, float)) for v in values)
            shown[label] = f"{label} ({values[0]} there, {values[1]} now)" if plain else label
    return list(shown.values())


def _clear(out: Path) -> None:
    """Delete what a run wrote in ``out`` (and nothing else)."""
    for entry in RUN_ENTRIES:
        target = out / entry
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def _prepare_folder(out: Path, signature: dict[str, Any], settings: TrainSettings,
                    names: dict[str, str | None] | None = None) -> str | None:
    """Create the run folder, or check that the one there holds this run (rank 0 only).

    A run there that never reached its first checkpoint holds nothing to resume: it starts over
    with the new options, and the line saying so is returned. ``names``: the job's own
    signature fields named otherwise than their option (`TrainJob.option_names`).
    """
    run_file = out / RUN_FILE
    if settings.force and out.is_dir():
        _clear(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder")
    if run_file.is_file():
        try:
            previous = json.loads(run_file.read_text())
        except ValueError:
            raise InputError(f"{run_file} is damaged; use --force to start over") from None
        if all(previous.get(k) == v for k, v in signature.items()):  # fields no longer recorded are ignored
            return None
        if checkpoint.latest(out / "checkpoints") is None and not (out / MODEL_FILE).exists():
            _clear(out)
            _write_run_file(run_file, signature)
            return f"run folder {out} never reached its first checkpoint: starting it over with these options"
        if previous.get("task") != signature.get("task"):
            raise InputError(f"run folder {out} holds an `imgperc train {previous.get('task')}` run; use another --out, or --force to start over")
        changed = _differences(previous, signature, names or {})
        raise InputError(
            f"run folder {out} holds a run with different {', '.join(changed)}; "
            "run it with the same options to resume it, or use another --out, or --force to start over"
        )
    if out.is_dir() and any(out.iterdir()):
        others = [p.name for p in out.iterdir() if p.name not in RUN_ENTRIES]
        if others:
            raise InputError(f"--out {out} is a folder with other files in it ({', '.join(sorted(others)[:3])}); choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)
    _write_run_file(run_file, signature)
    return None


def _write_run_file(run_file: Path, signature: dict[str, Any]) -> None:
    with atomic_path(run_file, overwrite=True) as tmp:
        tmp.write_text(json.dumps(signature, indent=2, sort_keys=True))


def _model_meta(job: TrainJob, settings: TrainSettings, iteration: int, precision: str, runtime: Runtime) -> dict[str, Any]:
    return {
        "architecture": job.architecture,
        "config": job.config,
        "task": job.task,
        "iterations": iteration,
        "training": {
            "batch_size": settings.batch_size,
            "processes": runtime.world,
            "lr": settings.lr,
            "lr_schedule": settings.lr_schedule,
            "init": str(settings.init) if settings.init else None,
            "optimizer": "adam",
            "seed": settings.seed,
            "precision": precision,
            "planned_iterations": settings.iterations,
        },
        "imgperc_version": __version__,
        **job.metadata(),
    }


def learning_rate(settings: TrainSettings, iteration: int) -> float:
    """The learning rate of ``iteration`` (0-based): constant, or a half-cosine decay to zero."""
    if settings.lr_schedule == "cosine":
        return settings.lr * 0.5 * (1.0 + math.cos(math.pi * iteration / settings.iterations))
    return settings.lr


def _load_init(net: nn.Module, job: TrainJob, path: Path) -> None:
    """Copy the weights of model file ``path`` into ``net`` (it must be the same architecture)."""
    tensors, meta = load_model_file(path)
    if net_identity(meta) != net_identity({"architecture": job.architecture, "config": job.config}):
        raise InputError(
            f"--init {path} is a {meta.get('architecture')} {meta.get('config')} net; "
            f"this run trains {job.architecture} {job.config}"
        )
    net.load_state_dict({k: v.float() for k, v in tensors.items()})


def train(job: TrainJob, settings: TrainSettings) -> Path:
    """Train ``job`` as ``settings`` say; returns the result's model file (on every rank)."""
    runtime = start_runtime(settings.device)
    try:
        return _Trainer(job, settings, runtime).run()
    finally:
        runtime.close()


class _Trainer:
    def __init__(self, job: TrainJob, settings: TrainSettings, runtime: Runtime) -> None:
        self.job, self.settings, self.runtime = job, settings, runtime
        self.out = settings.out
        self.precision = resolve(settings.precision, runtime.device, "training")
        self.display = Display(runtime.main)
        self.skipped: set[str] = set()

    # -- set-up ---------------------------------------------------------------------------
    def _restore(self, net: nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> int:
        found = checkpoint.latest(self.out / "checkpoints")
        if found is None:
            if self.settings.resume:
                raise InputError(f"--resume: no checkpoint in {self.out / 'checkpoints'}")
            return 0
        weights, state = checkpoint.load(found)
        net.load_state_dict({k: v.to(self.runtime.device) for k, v in weights.items()})
        optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        checkpoint.set_rng_state(state["rng"])
        self.skipped = set(state.get("skipped", []))
        return int(state["iteration"])

    def run(self) -> Path:
        job, settings, runtime = self.job, self.settings, self.runtime
        signature = _signature(job, settings, runtime)
        if settings.name:
            check_user_name(settings.name, overwrite=settings.force)
        if runtime.main:
            restarted = _prepare_folder(self.out, signature, settings, job.option_names)
            if restarted:
                self.display.message(restarted)
        runtime.barrier()
        torch.manual_seed(settings.seed)
        net = job.build_net().to(runtime.device)
        optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
        scaler = torch.amp.GradScaler(runtime.device.type, enabled=self.precision == "fp16")
        start = self._restore(net, optimizer, scaler)
        if start == 0 and settings.init is not None:
            _load_init(net, job, settings.init)
        records = log.truncate(self.out / LOG_FILE, start) if runtime.main else []
        if start >= settings.iterations:
            self.display.message(f"run in {self.out} already reached iteration {start} (of --iterations {settings.iterations})")
            return self._finish(net, start, records)
        job.setup(runtime.device)
        model = DistributedDataParallel(net) if runtime.distributed else net
        what = "resuming at" if start else "starting at"
        self.display.message(
            f"{job.describe()}; {what} iteration {start} of {settings.iterations}, batch {settings.batch_size}"
            f"{f' x {runtime.world} processes' if runtime.distributed else ''}, {self.precision} on {runtime.device}"
        )
        stream = BatchStream(job.files, job.sampler(), batch_size=settings.batch_size, seed=settings.seed,
                             start=start, rank=runtime.rank, world=runtime.world)
        writer = log.LogWriter(self.out / LOG_FILE) if runtime.main else None
        signals = StopSignals()
        try:
            with signals.installed():
                done = self._loop(model, net, optimizer, scaler, stream, start, writer, records, signals)
        finally:
            self.display.stop()
            if writer is not None:
                writer.close()
        if done < settings.iterations:
            raise TrainingInterrupted(done, signals.requested or "stop", self.out)
        return self._finish(net, done, records)

    # -- the loop -------------------------------------------------------------------------
    def _loop(self, model, net, optimizer, scaler, stream, start, writer, records, signals) -> int:
        settings, runtime = self.settings, self.runtime
        sums: dict[str, float] = {}
        window, tick, done = 0, time.perf_counter(), start
        new_skips: list[str] = []
        self.display.start(start, settings.iterations)
        batches = batch_loader(stream, settings.workers)
        model.train()
        for iteration in range(start, settings.iterations):
            batch, skipped = next(batches)
            new_skips += [p for p in skipped if p not in self.skipped]
            batch = tuple(t.to(runtime.device, non_blocking=True) for t in batch)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(settings, iteration)
            with autocast(self.precision, runtime.device):
                report = self.job.loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(report.total.float()).backward()
            scaler.step(optimizer)
            scaler.update()
            for name, value in report.values().items():
                sums[name] = sums.get(name, 0.0) + value
            window += 1
            done = iteration + 1
            self.display.advance(done)
            stopping = runtime.any(signals.requested is not None)
            if done % settings.log_every == 0 or done == settings.iterations or stopping:
                record = self._record(done, sums, window, tick, new_skips, optimizer)
                if writer is not None:
                    writer.write(record)
                    records.append(record)
                self.display.record(record, settings.iterations)
                sums, window, tick, new_skips = {}, 0, time.perf_counter(), []
            if settings.preview_every and done % settings.preview_every == 0:
                self._preview(net, done)
            every = settings.checkpoint_every
            if stopping or done == settings.iterations or (every and done % every == 0):
                self._checkpoint(net, optimizer, scaler, done, records)
            if stopping:
                break
        return done

    def _record(self, done, sums, window, tick, new_skips, optimizer) -> dict[str, Any]:
        names = sorted(sums)
        means = self.runtime.mean([sums[n] / window for n in names])
        self.skipped.update(self.runtime.gather(new_skips))
        elapsed = max(time.perf_counter() - tick, 1e-9)
        return {
            "iteration": done,
            "time": round(time.time(), 3),
            "lr": optimizer.param_groups[0]["lr"],
            "images_per_s": round(window * self.settings.batch_size * self.runtime.world / elapsed, 4),
            "loss": dict(zip(names, means)),
            "skipped_images": len(self.skipped),
        }

    # -- outputs (rank 0) -----------------------------------------------------------------
    def _checkpoint(self, net, optimizer, scaler, done, records) -> None:
        if not self.runtime.main:
            return
        state = {
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else None,
            "rng": checkpoint.rng_state(),
            "skipped": sorted(self.skipped),
        }
        meta = _model_meta(self.job, self.settings, done, self.precision, self.runtime)
        checkpoint.save(self.out / "checkpoints", done, net.state_dict(), meta, state)
        if records:
            plot.loss_curve(records, self.out / CURVE_FILE, title=f"imgperc train {self.job.task}: {self.out.name}")

    def _preview(self, net: nn.Module, done: int) -> None:
        if not self.runtime.main:
            return
        net.eval()
        try:
            rows = self.job.previews(net)
        finally:
            net.train()
        folder = self.out / "previews"
        folder.mkdir(exist_ok=True)
        plot.save_grid(rows, folder / f"iter-{done:06d}.png")

    def _finish(self, net: nn.Module, done: int, records: list[dict[str, Any]]) -> Path:
        result = self.out / MODEL_FILE
        if self.runtime.main:
            net.eval()
            meta = {**_model_meta(self.job, self.settings, done, self.precision, self.runtime), **self.job.finish(net)}
            save_model_file(result, net.state_dict(), meta)
            if records:
                plot.loss_curve(records, self.out / CURVE_FILE, title=f"imgperc train {self.job.task}: {self.out.name}")
            if not (self.out / "previews" / f"iter-{done:06d}.png").exists():
                self._preview(net, done)
            self.display.message(f"model written to {result}")
            if self.settings.name:
                installed = install_user_model(result, self.settings.name, overwrite=self.settings.force)
                self.display.message(f"installed as '{self.settings.name}' ({installed})")
        self.runtime.barrier()
        return result
