"""The core trainer's parts: data stream, checkpoints, log, pictures, options."""

from __future__ import annotations

import json
import random

import pytest
import torch
from PIL import Image

from imgperc.errors import InputError
from imgperc.train import checkpoint, log, plot
from imgperc.train.data import BatchStream, batch_loader, list_images
from imgperc.train.options import TrainSettings


def _sample(pixels: torch.Tensor, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """Tag each sample with its image's mean colour and a random draw, to trace the order."""
    return pixels.mean((1, 2)), torch.tensor([rng.random()])


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    (root / "sub" / "deeper").mkdir(parents=True)
    for i in range(5):
        target = root / ("sub" if i % 2 else "") / ("deeper" if i == 3 else "") / f"img{i}.png"
        Image.new("RGB", (12, 10), (i * 50, 0, 0)).save(target)
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    (root / "notes.txt").write_text("ignored")
    return root


def test_images_are_found_recursively(folder):
    files = list_images(folder)
    assert len(files) == 6 and sum(f.suffix == ".png" for f in files) == 5
    with pytest.raises(InputError, match="does not exist"):
        list_images(folder / "missing")


def test_unreadable_images_are_skipped_and_reported(folder):
    stream = BatchStream(list_images(folder), _sample, batch_size=3, seed=1)
    skipped: set[str] = set()
    reds = []
    for i in range(4):
        (colour, _), bad = stream.batch(i)
        assert colour.shape == (3, 3)  # always full batches
        skipped.update(bad)
        reds += colour[:, 0].tolist()
    assert skipped == {str(folder / "broken.jpg")}
    assert sorted({round(r * 255) for r in reds}) == [0, 50, 100, 150, 200]


def test_a_folder_without_readable_images_is_fatal(tmp_path):
    (tmp_path / "a.png").write_bytes(b"junk")
    stream = BatchStream(list_images(tmp_path), _sample, batch_size=1, seed=0)
    with pytest.raises(InputError, match="could be read"):
        stream.batch(0)


def test_the_stream_is_deterministic_and_resumable_with_workers(folder):
    files = list_images(folder)
    full = BatchStream(files, _sample, batch_size=2, seed=7)
    expected = [full.batch(i)[0] for i in range(6)]
    resumed = batch_loader(BatchStream(files, _sample, batch_size=2, seed=7, start=3), workers=2)
    for i, (got, _) in zip(range(3, 6), resumed):
        assert all(torch.equal(a, b) for a, b in zip(got, expected[i]))
    other_seed = BatchStream(files, _sample, batch_size=2, seed=8).batch(0)[0]
    assert not torch.equal(other_seed[1], expected[0][1])


def test_ranks_take_disjoint_batches(folder):
    files = list_images(folder)
    one = BatchStream(files, _sample, batch_size=2, seed=3)
    ranks = [BatchStream(files, _sample, batch_size=2, seed=3, rank=r, world=2) for r in (0, 1)]
    for i in range(3):
        assert torch.equal(ranks[0].batch(i)[0][1], one.batch(2 * i)[0][1])
        assert torch.equal(ranks[1].batch(i)[0][1], one.batch(2 * i + 1)[0][1])


def _save(folder, iteration, value):
    weights = {"w": torch.full((2,), float(value))}
    state = {"optimizer": {"lr": 0.1}, "rng": checkpoint.rng_state()}
    return checkpoint.save(folder, iteration, weights, {"architecture": "x", "iterations": iteration}, state)


def test_checkpoints_keep_weights_apart_and_only_the_latest(tmp_path):
    folder = tmp_path / "checkpoints"
    _save(folder, 5, 1)
    _save(folder, 10, 2)
    assert sorted(p.name for p in folder.iterdir()) == ["iter-000010", "latest.json"]
    found = checkpoint.latest(folder)
    assert found.iteration == 10 and found.weights.name == "weights.safetensors"
    weights, state = checkpoint.load(found)
    assert weights["w"].tolist() == [2.0, 2.0] and state["iteration"] == 10 and state["optimizer"] == {"lr": 0.1}


def test_an_incomplete_newer_checkpoint_is_ignored(tmp_path):
    folder = tmp_path / "checkpoints"
    _save(folder, 5, 1)
    (folder / "iter-000010").mkdir()  # a crash while writing: no files
    (folder / ".iter-000015.abc").mkdir()  # staging folder left by a kill
    assert checkpoint.latest(folder).iteration == 5
    (folder / "latest.json").write_text("{torn")
    assert checkpoint.latest(folder).iteration == 5
    assert checkpoint.latest(tmp_path / "none") is None


def test_rng_state_round_trips_through_a_checkpoint(tmp_path):
    folder = tmp_path / "checkpoints"
    random.seed(3)
    torch.manual_seed(3)
    _save(folder, 1, 0)
    expected = (random.random(), torch.rand(2))
    random.seed(99)
    torch.manual_seed(99)
    checkpoint.set_rng_state(checkpoint.load(checkpoint.latest(folder))[1]["rng"])
    assert random.random() == expected[0] and torch.equal(torch.rand(2), expected[1])


def test_log_truncate_drops_later_and_torn_records(tmp_path):
    path = tmp_path / "log.jsonl"
    writer = log.LogWriter(path)
    for i in range(1, 6):
        writer.write({"iteration": i, "loss": {"total": 1.0 / i}})
    writer.close()
    with open(path, "a") as handle:
        handle.write('{"iteration": 6, "lo')
    kept = log.truncate(path, 3)
    assert [r["iteration"] for r in kept] == [1, 2, 3]
    assert [r["iteration"] for r in log.read(path)] == [1, 2, 3]
    assert path.read_text().count("\n") == 3


def test_loss_curve_is_a_png_with_every_term(tmp_path):
    records = [{"iteration": i, "loss": {"total": 10.0 / i, "style": 8.0 / i, "tv": 0.0}} for i in range(1, 50)]
    plot.loss_curve(records, tmp_path / "curve.png", title="t")
    image = Image.open(tmp_path / "curve.png")
    assert image.format == "PNG" and image.size == (800, 500)
    colours = {c for _, c in image.getcolors(1 << 16)}
    assert plot.COLOURS[0] in colours and plot.COLOURS[1] in colours


def test_preview_grid_places_rows():
    rows = [[torch.zeros(3, 4, 4), torch.full((3, 4, 6), 0.25)], [torch.full((3, 2, 2), 0.5)]]
    grid = plot.grid(rows, gap=1)  # cells of the largest image, 4x6, one pixel apart
    assert grid.shape == (3, 9, 13)
    assert grid[:, 0:4, 0:4].eq(0).all() and grid[:, 0:4, 4:6].eq(1).all()  # image, then its cell's margin
    assert grid[:, 0:4, 7:13].eq(0.25).all()
    assert grid[:, 5:7, 0:2].eq(0.5).all() and grid[:, 7:9, 0:6].eq(1).all()
    assert grid[:, 5:9, 7:13].eq(1).all()  # the short row is filled with white
    assert grid[:, 4].eq(1).all() and grid[:, :, 6].eq(1).all()  # gaps are white


def test_preview_grid_is_written_as_png_atomically(tmp_path):
    rows = [[torch.tensor([-0.5, 0.5, 1.5]).reshape(3, 1, 1).expand(3, 2, 2)]]
    plot.save_grid(rows, tmp_path / "p.png")
    plot.save_grid(rows, tmp_path / "p.png")  # the run's own file is replaced
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]
    image = Image.open(tmp_path / "p.png")
    assert image.format == "PNG" and image.size == (2, 2) and image.getpixel((1, 1)) == (0, 128, 255)


@pytest.mark.parametrize(
    "change, message",
    [({"iterations": 0}, "--iterations"), ({"batch_size": 0}, "--batch-size"), ({"lr": 0.0}, "--lr"),
     ({"checkpoint_every": -1}, "--checkpoint-every"), ({"name": "../x"}, "--name")],
)
def test_settings_are_validated(tmp_path, change, message):
    with pytest.raises(InputError, match=message):
        TrainSettings(**{"out": tmp_path, "iterations": 1, **change}).validate()


def test_run_file_is_json(tmp_path):
    # the run folder's options file is plain JSON that a resumed run compares against
    from imgperc.train.loop import _prepare_folder

    settings = TrainSettings(out=tmp_path / "run", iterations=1)
    _prepare_folder(settings.out, {"task": "x", "seed": 0}, settings)
    assert json.loads((settings.out / "run.json").read_text()) == {"task": "x", "seed": 0}
    _prepare_folder(settings.out, {"task": "x", "seed": 0}, settings)
    (settings.out / "model.safetensors").write_bytes(b"a finished run")
    with pytest.raises(InputError, match=r"different --seed \(0 there, 1 now\)"):
        _prepare_folder(settings.out, {"task": "x", "seed": 1}, settings)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("x")
    with pytest.raises(InputError, match="other files"):
        _prepare_folder(tmp_path / "other", {"task": "x"}, TrainSettings(out=tmp_path / "other", iterations=1))


def test_train_lists_the_registered_trainers():
    from click.testing import CliRunner

    from imgperc.cli.main import cli

    result = CliRunner().invoke(cli, ["train", "--help"])
    assert result.exit_code == 0
    assert "style" in result.output and "sr" in result.output
    unknown = CliRunner().invoke(cli, ["train", "nosuchtask"])
    assert unknown.exit_code == 2 and "No such command 'nosuchtask'" in unknown.output


def test_user_models_are_the_store_folders_without_a_hub_spec(imgperc_env, tmp_path):
    from imgperc.hub.store import models_dir
    from imgperc.hub.user import check_user_name, install_user_model, user_models
    from imgperc.modelfile import save_model_file

    source = tmp_path / "model.safetensors"
    save_model_file(source, {"w": torch.zeros(1)}, {"architecture": "johnson", "task": "style"})
    install_user_model(source, "mine")
    hub_like = models_dir() / "old-hub-model"
    hub_like.mkdir()
    save_model_file(hub_like / "model.safetensors", {"w": torch.zeros(1)}, {"id": "old-hub-model", "task": "style"})
    (models_dir() / "empty").mkdir()
    assert user_models() == {"mine": models_dir() / "mine" / "model.safetensors"}
    assert user_models("sr") == {}
    with pytest.raises(InputError, match="already installed"):
        check_user_name("mine", overwrite=False)
    install_user_model(source, "mine", overwrite=True)
    with pytest.raises(InputError, match="hub model"):
        check_user_name("vgg19", overwrite=True)
