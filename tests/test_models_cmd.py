"""`imgperc models`: your trained models beside the hub's, removal, did-you-mean, and tables
that stay readable at 80 columns."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner
from rich.console import Console

from imgperc.cli.main import cli
from imgperc.cli.models_cmd import list_rows, models_tables
from imgperc.hub.store import models_dir
from imgperc.hub.user import install_user_model
from imgperc.modelfile import save_model_file


def _invoke(*args: str, columns: int = 80):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": str(columns)})


def _train(tmp_path, name: str, task: str = "sr") -> None:
    source = tmp_path / f"{name}.safetensors"
    save_model_file(source, {"w": torch.zeros(1)}, {"architecture": "sr-shuffle", "task": task, "iterations": 120})
    install_user_model(source, name)


def test_models_list_path_and_rm_see_your_trained_models(tmp_path):
    _train(tmp_path, "my-x4")
    listed = {row["id"]: row for row in json.loads(_invoke("models", "list", "--json").output)}
    assert listed["my-x4"]["task"] == "sr" and listed["my-x4"]["status"] == "trained" and listed["my-x4"]["user"]
    assert listed["muse"]["user"] is False and listed["muse-fast"]["status"] == "built-in"
    table = _invoke("models", "list", "--task", "sr").output
    assert "my-x4" in table and "trained by you (sr-shuffle net, 120 iterations)" in " ".join(table.split())
    assert "muse" not in table
    path = _invoke("models", "path", "my-x4")
    assert path.exit_code == 0 and path.output.strip() == str(models_dir() / "my-x4" / "model.safetensors")
    removed = _invoke("models", "rm", "my-x4")
    assert removed.exit_code == 0 and removed.output.strip() == "removed my-x4 (trained by you)"
    assert not (models_dir() / "my-x4").exists()
    assert "my-x4" not in _invoke("models", "list").output


def test_removing_a_built_in_model_is_a_one_line_error_and_removes_nothing(tmp_path, capfd):
    from imgperc.cli.main import main

    _train(tmp_path, "my-x4")
    code = None
    try:
        main(["models", "rm", "my-x4", "muse-fast"])
    except SystemExit as exc:
        code = exc.code
    err = capfd.readouterr().err
    assert code == 1 and err == "Error: model 'muse-fast' is built in (shipped with its plugin) and cannot be removed\n"
    assert (models_dir() / "my-x4").is_dir()


def test_a_mistyped_name_gets_a_did_you_mean(tmp_path):
    _train(tmp_path, "my-x4")
    for args, expected in (
        (("models", "path", "muse-fats"), "unknown model 'muse-fats'; did you mean 'muse-fast'"),
        (("models", "rm", "my-x5"), "unknown model 'my-x5'; did you mean 'my-x4'"),
        (("stylize", "--style", "wvae", "x.png"), "unknown style 'wvae'; did you mean 'wave'"),
        (("upscale", "--model", "x4-perceptal", "x.png"), "unknown super-resolution model 'x4-perceptal'; did you mean 'x4-perceptual'"),
    ):
        result = _invoke(*args)
        assert result.exit_code != 0 and expected in str(result.exception), (args, result.exception)


def test_models_list_never_cuts_an_id_at_80_columns(tmp_path):
    _train(tmp_path, "a-rather-long-model-name-x4")
    rows = list_rows(None)
    console = Console(width=80, record=True)
    for table in models_tables(rows):
        console.print(table)
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in text
    starts = {line.split(" ", 1)[0] for line in lines}
    assert {row["id"] for row in rows} <= starts  # every id whole, at the start of its row
    assert len(lines) < 3 * len(rows) + 20
    cli_text = _invoke("models", "list").output
    assert "matilde-perez-fast " in cli_text and "x4-perceptual " in cli_text and "…" not in cli_text


def test_models_list_wide_has_one_line_per_model_and_the_licence():
    text = _invoke("models", "list", "--wide", "--task", "style").output
    rows = [line for line in text.splitlines() if line.startswith("muse")]
    assert len(rows) == 2 and "MIT" in rows[0] and "Picasso" in rows[0]


def test_help_says_downloaded_on_first_use_only_for_models_not_installed():
    def muse_row() -> str:
        text = " ".join(_invoke("stylize", "--help").output.split())
        return text.split("La Muse (1935) (", 1)[1].split(")", 1)[0]

    assert "downloaded on first use" in muse_row()
    (models_dir() / "muse").mkdir(parents=True)
    (models_dir() / "muse" / "model.safetensors").write_bytes(b"installed")
    assert "installed" in muse_row() and "downloaded on first use" not in muse_row()
