"""The model zoo: weights folders any plugin declares (`imgperc.hub.register_weights`), `imgperc
models ship` into them, the provenance every shipped file records, and docs/models.md."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from imgperc import hub, plugins
from imgperc.cli.main import cli
from imgperc.modelfile import read_metadata, save_model_file

from hardening_cli import one_error_line, run_cli
from plugin_factory import activate, make_plugin

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(REPO.glob("plugins/*/weights/*.safetensors"))

# A plugin of a new task ("zoo") that ships models from its own weights folder.
ZOO_PLUGIN = """
from pathlib import Path

from imgperc import hookimpl
from imgperc.hub import WeightsFolder, builtin_model, register_weights

WEIGHTS_DIR = Path(__file__).resolve().parent / "zoo-weights"


def spec(path, meta):
    return builtin_model(path, meta, description=f"zoo model of {meta['data']['folder']}", source="the zoo")


@hookimpl
def register_models(register):
    register_weights(register, WeightsFolder("zoo", WEIGHTS_DIR, "zoo model", "imgperc_zoo:spec"))
"""


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """The ``zoo`` plugin installed, its weights folder empty; a ``zoo`` run's model file."""
    (tmp_path / "site").mkdir()
    monkeypatch.delitem(sys.modules, "imgperc_zoo", raising=False)  # each test's own copy
    root = make_plugin(tmp_path / "site", "zoo", ZOO_PLUGIN)
    (root / "zoo-weights").mkdir()
    activate(root, monkeypatch)
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs" / "zoo-1" / "model.safetensors"
    run.parent.mkdir(parents=True)
    save_model_file(run, {"w": torch.linspace(0, 1, 5), "n": torch.tensor([3])},
                    {"task": "zoo", "architecture": "identity", "data": {"folder": str(tmp_path / "photos")}})
    return root / "zoo-weights", run


def _ship(capsys, *args):
    return run_cli(capsys, "models", "ship", *args)


def test_a_new_plugins_weights_folder_receives_its_task_and_lists_it(zoo, capsys):
    folder, run = zoo
    code, out, err = _ship(capsys, run, "zoo-one")
    assert code == 0, err
    target = folder / "zoo-one.safetensors"
    assert out.strip() == str(target)
    tensors = load_file(target)
    assert tensors["w"].dtype == torch.float16 and tensors["n"].dtype == torch.int64
    meta = read_metadata(target)
    assert meta["source"] == "trained by imgperc" and meta["license"] == "MIT" and meta["weights_dtype"] == "float16"
    assert meta["data"]["folder"] == "photos"  # relative to where it ran
    plugins.reset()  # a new process would see the new file
    spec = hub.find_spec("zoo-one")
    assert spec.builtin == target and spec.task == "zoo" and spec.description == "zoo model of photos"
    assert spec.source == "trained by imgperc"  # the file's own provenance wins over the plugin's default
    listed = CliRunner().invoke(cli, ["models", "list", "--task", "zoo", "--json"])
    assert [row["id"] for row in json.loads(listed.output)] == ["zoo-one"]
    assert "### `zoo-one` (zoo)" in CliRunner().invoke(cli, ["models", "doc"]).output


def test_shipping_records_the_given_provenance_and_replaces_only_with_force(zoo, tmp_path, capsys):
    folder, run = zoo
    assert _ship(capsys, run, "zoo-one")[0] == 0
    code, _, err = _ship(capsys, run, "zoo-one")
    assert code == 1 and one_error_line(err) == f"Error: built-in model 'zoo-one' already ships ({folder / 'zoo-one.safetensors'}); use --force to replace it"
    fields = tmp_path / "zoo.json"
    fields.write_text(json.dumps({"license": "CC0-1.0", "training_recipe": {"phases": [{"command": "imgperc train zoo", "iterations": 3}]}}))
    assert _ship(capsys, run, "zoo-one", "--force", "--metadata", fields, "--note", "again")[0] == 0
    meta = read_metadata(folder / "zoo-one.safetensors")
    assert meta["license"] == "CC0-1.0" and meta["training_recipe"]["phases"][0]["iterations"] == 3 and meta["note"] == "again"
    fields.write_text(json.dumps({"source": "a friend"}))
    assert _ship(capsys, "zoo-one", "--metadata", fields)[0] == 0  # NAME alone: the metadata only
    meta = read_metadata(folder / "zoo-one.safetensors")
    assert meta["source"] == "a friend" and meta["license"] == "CC0-1.0"


def test_bad_ships_are_one_line_errors(zoo, tmp_path, capsys):
    folder, run = zoo
    other = tmp_path / "other.safetensors"
    save_model_file(other, {"w": torch.zeros(1)}, {"task": "nothing", "architecture": "identity"})
    code, _, err = _ship(capsys, other, "x")
    assert code == 1 and one_error_line(err) == "Error: no plugin ships models of task 'nothing' (tasks with a weights folder: sr, style, style-decoder, zoo)"
    code, _, err = _ship(capsys, run, "x4-fidelity")
    assert code == 1 and "'x4-fidelity' is already the name of hub model 'x4-fidelity'" in one_error_line(err)
    code, _, err = _ship(capsys, "not-shipped", "--scores", other)
    assert code == 1 and one_error_line(err) == "Error: no shipped model 'not-shipped' (ship it first)"
    assert _ship(capsys, run, "zoo-one")[0] == 0
    report = tmp_path / "eval.json"
    report.write_text(json.dumps({"mean": {"zoo-one": {}}}))
    code, _, err = _ship(capsys, "zoo-one", "--scores", report)
    assert code == 1 and one_error_line(err) == "Error: the plugin of task 'zoo' records no scores"
    report.write_text("[1, 2]")
    code, _, err = _ship(capsys, "zoo-one", "--metadata", report)
    assert code == 1 and one_error_line(err) == f"Error: {report} must hold a JSON object (the fields to record), not list"
    code, _, err = _ship(capsys, "zoo-one")
    assert code == 2 and "give RUN/model.safetensors NAME, or NAME with --scores EVAL.json" in err


def test_scores_of_another_task_or_model_are_refused(tmp_path, monkeypatch, capsys):
    from imgperc_sr import plugin as sr_plugin

    monkeypatch.setattr(sr_plugin, "WEIGHTS_DIR", tmp_path / "weights")
    (tmp_path / "weights").mkdir()
    run = tmp_path / "run.safetensors"
    save_model_file(run, {"w": torch.zeros(2)}, {"task": "sr", "architecture": "sr-shuffle", "config": {"scale": 4}, "scale": 4})
    assert _ship(capsys, run, "x4-tiny")[0] == 0
    code, _, err = _ship(capsys, "x4-tiny", "--scores", run)
    assert code == 1 and one_error_line(err).startswith(f"Error: cannot read {run} as JSON (")
    report = tmp_path / "eval-style.json"
    report.write_text(json.dumps({"data": "photos", "size": 512, "mean": {"x4-tiny": {"style": 1.0, "content": 2.0}}}))
    code, _, err = _ship(capsys, "x4-tiny", "--scores", report)
    assert code == 1 and one_error_line(err) == f"Error: {report} is not an `imgperc eval sr` result"
    code, _, err = _ship(capsys, "x4-tiny", "--scores", report, "--method", "other")
    assert code == 1 and one_error_line(err) == f"Error: {report} has no results for 'other' (methods: x4-tiny)"


# --- the shipped files ------------------------------------------------------------------------


def _options(command_line: str) -> tuple[click.Command, list[str]]:
    """The click command an ``imgperc ...`` line runs, and the options it gives."""
    words = shlex.split(command_line)
    assert words[0] == "imgperc", command_line
    command: click.Command = cli
    words = words[1:]
    while isinstance(command, click.Group):
        command = command.get_command(click.Context(command), words.pop(0))
        command = getattr(command, "resolved", command)
    return command, [w for w in words if w.startswith("--")]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_file_records_its_provenance_and_recipe(path):
    meta = read_metadata(path)
    assert meta["source"] and meta["license"] == "MIT"
    teacher = meta.get("teacher")
    if teacher:  # a distilled model: its licence is its teacher's
        assert teacher["source"] and teacher["license"] == meta["license"]
    for entry in meta["training_data"]:
        assert entry["path"] and entry["images"] > 0 and entry["license"] and entry["what"]
    recipe = meta["training_recipe"]
    phases = recipe["phases"]
    assert recipe["hardware"] and phases and all(p["iterations"] > 0 for p in phases)
    assert f"--iterations {meta['training']['planned_iterations']}" in phases[-1]["command"]
    if teacher:  # a distilled model counts every phase's iterations
        assert sum(p["iterations"] for p in phases) == meta["iterations"]
    for phase in phases:  # every command is a real one, with options it has
        command, options = _options(phase["command"])
        known = {opt for param in command.params for opt in param.opts}
        assert set(options) <= known, (phase["command"], set(options) - known)
    numbers = set(range(1, len(phases) + 1))
    for group in recipe.get("time", []):
        assert set(group["phases"]) <= numbers and group["minutes"] > 0
    if average := recipe.get("average"):  # weights averaged over phases' results: real phases, a convex mix
        assert set(average["phases"]) <= numbers and len(average["phases"]) > 1
        assert len(average["weights"]) == len(average["phases"]) and all(w > 0 for w in average["weights"])
        assert sum(average["weights"]) == pytest.approx(1.0)
        words = average["command"].split()  # the command that mixed them: each phase's result, at its weight
        assert words[:3] == ["imgperc", "models", "average"]
        for n, file in zip(average["phases"], words[3:]):  # its run's output, or the next phase's --init (that file)
            named = {_option(phases[n - 1]["command"], "--out") + "/model.safetensors"}
            assert file in named | ({_option(phases[n]["command"], "--init")} if n < len(phases) else set())
        assert words[words.index("--weights") + 1] == ",".join(f"{w:g}" for w in average["weights"])


def _option(command: str, name: str) -> str:
    """The value of ``name`` in a recorded command ('' if absent)."""
    words = command.split()
    return words[words.index(name) + 1] if name in words else ""


def test_docs_models_md_is_generated_from_the_metadata():
    result = CliRunner().invoke(cli, ["models", "doc"])
    assert result.exit_code == 0, result.output
    current = (REPO / "docs" / "models.md").read_text()
    assert result.output == current, "docs/models.md is stale: run `imgperc models doc > docs/models.md`"
    assert "[docs/models.md](docs/models.md)" in (REPO / "README.md").read_text()


def test_models_doc_shows_the_run_time_fields_a_task_declares():
    """A model's recorded run-time setting is on its section, with what its task says it does."""
    page = CliRunner().invoke(cli, ["models", "doc"]).output
    sections = {s.split("`")[0]: s for s in page.split("\n### `")[1:]}
    shown = 0
    for spec in (s for s in hub.specs().values() if s.builtin is not None):
        meta, task = read_metadata(spec.builtin), plugins.registry("image_tasks").items.get(spec.task)
        for name, what in (task.run_fields if task else {}).items():
            assert (f"- **`{name}`**: {meta.get(name)}: {what}" in sections[spec.id]) == (name in meta), (spec.id, name)
            shown += name in meta
    assert shown >= 2  # wave-fast's video_consistency, x4-real's denoise_pair, ...
