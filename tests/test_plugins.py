"""Plugin discovery: built-ins and third-party plugins through entry points, broken ones, filtering."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from imgperc import core_plugin, plugins
from imgperc.cli.main import cli
from imgperc.errors import PluginError
from imgperc.lazy import Deferred, LazyCommand

from plugin_factory import activate, make_plugin

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"

# Runs the CLI in a fresh process, then says on stderr whether torch got imported.
LIGHT_RUN = """
import sys
from imgperc.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("torch imported" if "torch" in sys.modules else "torch not imported", file=sys.stderr)
"""

# Shows every command's --help (root, groups, subcommands, plugins' included) as a user would, in
# one process, and says which were shown and which one first imported torch (null: none did).
EVERY_HELP = """
import json, sys
import click
from click.testing import CliRunner
from imgperc.cli.main import cli

shown, torch_by = [], None

def show(command, path, parent):
    global torch_by
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="imgperc", catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout.startswith(f"Usage: {' '.join(['imgperc', *path])} "), (path, result.output)
    shown.append(" ".join(path))
    if torch_by is None and "torch" in sys.modules:
        torch_by = " ".join(path) or "--help"
    command = getattr(command, "resolved", command)  # a LazyCommand lists what its real command has
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "imgperc", parent=parent)
        for name in command.list_commands(ctx):
            show(command.get_command(ctx, name), [*path, name], ctx)

show(cli, [], None)
print(json.dumps({"shown": shown, "torch_imported_by": torch_by, "torch_imported": "torch" in sys.modules}))
"""

HELLO = '''
import click
from imgperc import hookimpl

@click.command()
@click.argument("who", default="world")
def hello(who):
    """Say hello (third-party plugin)."""
    click.echo(f"hello {who}")

@hookimpl
def register_commands(cli):
    cli.add_command(hello)

@hookimpl
def register_transform_nets(register):
    register("identity-net", lambda **config: __import__("torch").nn.Identity())
'''

BROKEN = '''
raise ImportError("this plugin is broken on purpose")
'''

FAILS_IN_HOOK = '''
from imgperc import hookimpl

@hookimpl
def register_transform_nets(register):
    raise RuntimeError("boom in hook")
'''


def _run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgperc", *args], capture_output=True, text=True, env=env)


def test_third_party_plugin_command_and_listing(tmp_path, monkeypatch):
    activate(make_plugin(tmp_path, "hello", HELLO, version="1.2.3"), monkeypatch)
    runner = CliRunner()
    help_text = runner.invoke(cli, ["--help"]).output
    assert "hello" in help_text and "Say hello" in help_text
    assert runner.invoke(cli, ["hello", "you"]).output.strip() == "hello you"

    listing = json.loads(runner.invoke(cli, ["plugins", "--json"]).stdout)
    hello = next(p for p in listing if p["name"] == "hello")
    assert hello["version"] == "1.2.3"
    assert hello["provides"]["commands"] == ["hello"]
    assert hello["provides"]["transform_nets"] == ["identity-net"]
    assert hello["error"] is None


def test_builtin_plugins_load_through_entry_points():
    from importlib.metadata import entry_points

    builtin = {ep.name for ep in entry_points(group=plugins.ENTRY_POINT_GROUP)}
    assert "style" in builtin
    assert "style" in plugins.host().infos
    assert plugins.host().infos["style"].module == "imgperc_style.plugin"


def test_third_party_plugin_in_a_fresh_process(tmp_path, monkeypatch):
    activate(make_plugin(tmp_path, "hello", HELLO), monkeypatch)
    result = _run("--help")
    assert result.returncode == 0
    assert "hello" in result.stdout
    assert _run("hello", "ci").stdout.strip() == "hello ci"


def test_broken_plugin_warns_in_one_line_and_the_rest_works(tmp_path, monkeypatch):
    make_plugin(tmp_path, "broken", BROKEN)
    make_plugin(tmp_path, "hello", HELLO)
    activate(tmp_path, monkeypatch)
    result = _run("hello")
    assert result.returncode == 0
    assert result.stdout.strip() == "hello world"
    warnings = [line for line in result.stderr.splitlines() if "broken" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("Warning: plugin 'broken' failed to load")
    assert "Traceback" not in result.stderr


def test_plugin_failing_inside_a_hook_is_skipped(tmp_path, monkeypatch):
    make_plugin(tmp_path, "failing", FAILS_IN_HOOK)
    make_plugin(tmp_path, "hello", HELLO)
    activate(tmp_path, monkeypatch)
    nets = plugins.registry("transform_nets")
    assert "identity-net" in nets
    assert "boom in hook" in plugins.host().infos["failing"].error


def test_plugins_listing_reports_failures(tmp_path, monkeypatch):
    activate(make_plugin(tmp_path, "broken", BROKEN), monkeypatch)
    listing = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).stdout)
    broken = next(p for p in listing if p["name"] == "broken")
    assert "broken on purpose" in broken["error"]


def test_env_var_limits_which_plugins_load(tmp_path, monkeypatch):
    activate(make_plugin(tmp_path, "hello", HELLO), monkeypatch)
    monkeypatch.setenv("IMGPERC_PLUGINS", "hello")
    plugins.reset()
    loaded = set(plugins.host().infos)
    assert loaded == {"imgperc", "hello"}
    monkeypatch.setenv("IMGPERC_PLUGINS", "")
    plugins.reset()
    assert set(plugins.host().infos) == {"imgperc"}
    result = CliRunner().invoke(cli, ["--help"])
    assert "hello" not in result.output and "models" in result.output


def test_command_name_clash_is_reported_not_fatal(tmp_path, monkeypatch):
    clash = '''
import click
from imgperc import hookimpl

@hookimpl
def register_commands(cli):
    cli.add_command(click.Command("models", callback=lambda: None))
'''
    activate(make_plugin(tmp_path, "clash", clash), monkeypatch)
    result = _run("--help")
    assert result.returncode == 0
    assert "Pretrained models" in result.stdout
    assert "plugin 'clash' failed in register_commands" in result.stderr


# --- instant CLI: nothing imports torch until a command runs -------------------------------


def _light_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LIGHT_RUN, *args], capture_output=True, text=True)


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["plugins"], ["plugins", "--json"], ["train", "--help"], ["eval", "--help"], ["models", "--help"]])
def test_listing_commands_and_plugins_does_not_import_torch(args):
    result = _light_run(*args)
    assert result.stdout and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == "torch not imported"


def test_importing_the_cli_and_listing_every_command_does_not_import_torch():
    code = (
        "import sys, click\n"
        "from imgperc.cli.main import cli\n"
        "ctx = click.Context(cli)\n"
        "names = cli.list_commands(ctx)\n"
        "assert {'stylize', 'upscale', 'video', 'train', 'bench'} <= set(names), names\n"
        "assert all(cli.get_command(ctx, n).get_short_help_str() for n in names)\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_help_page_imports_torch():
    result = subprocess.run([sys.executable, "-c", EVERY_HELP], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    known = {"", "stylize", "upscale", "video", "bench", "gatys", "distill", "export", "plugins", "models list",
             "train style", "train sr", "eval style", "eval sr"}
    assert known <= set(report["shown"]), report["shown"]
    assert report["torch_imported_by"] is None and not report["torch_imported"], report


def test_the_light_stand_ins_describe_their_commands_as_the_commands_do():
    ctx = click.Context(cli)
    commands = [cli.get_command(ctx, name) for name in cli.list_commands(ctx)]
    commands += [plugins.registry(kind).get(name) for kind in ("trainers", "evaluators") for name in plugins.registry(kind)]
    lazy = [command for command in commands if isinstance(command, LazyCommand)]
    assert {"bench", "stylize", "upscale", "video", "gatys"} <= {command.name for command in lazy}
    for command in lazy:
        assert command.short_help == command.resolved.get_short_help_str(limit=300), command.name


def test_a_lazy_command_that_cannot_be_loaded_is_one_line():
    group = click.Group("root", commands=[LazyCommand("gone", "imgperc_no_such_module:command", "Nothing.")])
    assert "gone  Nothing." in CliRunner().invoke(group, ["--help"]).output
    result = CliRunner().invoke(group, ["gone"])
    assert isinstance(result.exception, PluginError)
    assert str(result.exception) == "command 'gone' could not be loaded (ModuleNotFoundError: No module named 'imgperc_no_such_module')"


def test_the_core_registers_every_loss_preset_and_network_it_has():
    from imgperc.losses.recipe import PRESETS

    assert set(core_plugin.PRESETS) == set(PRESETS)
    recipes, networks, models = (plugins.registry(kind) for kind in ("loss_recipes", "loss_networks", "models"))
    assert all(recipes.get(name) is recipe for name, recipe in PRESETS.items())
    for name in core_plugin.NETWORKS:
        assert networks.get(name).name == name and models.get(name).id == name and networks.owners[name] == "imgperc"


# --- typed hook contracts, checked at registration ---------------------------------------

WRONG_ITEMS = """
import click
from imgperc import hookimpl
from imgperc.lazy import Deferred

def factory(**config):
    raise AssertionError("never called")

@hookimpl
def register_loss_networks(register):
    register("old-style", factory)          # what the docs once said: not a NetworkDef

@hookimpl
def register_models(register):
    register("later", Deferred(lambda: "not a spec"))

@hookimpl
def register_image_tasks(register):
    register("broken", Deferred("imgperc_wrong:missing"))

@hookimpl
def register_commands(cli):
    cli.add_command(lambda: None)
"""


def test_a_wrong_item_is_refused_at_registration_naming_the_plugin(tmp_path, monkeypatch, capsys):
    activate(make_plugin(tmp_path, "wrong", WRONG_ITEMS), monkeypatch)
    assert "old-style" not in plugins.registry("loss_networks")
    assert "vgg16" in plugins.registry("loss_networks")
    message = plugins.host().infos["wrong"].error
    assert "loss network 'old-style' from plugin 'wrong' must be an imgperc.losses.NetworkDef, not function" in message
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("Warning: plugin 'wrong' failed in register_loss_networks")

    plugins.host().commands()
    assert "plugin 'wrong' added a function as a command" in capsys.readouterr().err


def test_a_deferred_item_is_checked_when_first_used(tmp_path, monkeypatch, capsys):
    activate(make_plugin(tmp_path, "wrong", WRONG_ITEMS), monkeypatch)
    models = plugins.registry("models")
    assert "later" in models  # listed without being made
    with pytest.raises(PluginError, match="model 'later' from plugin 'wrong' must be an imgperc.hub.ModelSpec, not str"):
        models.get("later")
    tasks = plugins.registry("image_tasks")
    assert "broken" not in tasks.items and "style" in tasks.items
    assert "plugin 'wrong' could not provide image task 'broken' (AttributeError" in capsys.readouterr().err
    assert "broken" not in tasks


def test_registration_checks_names(tmp_path, monkeypatch):
    registry = plugins.registry("loss_recipes")
    paper = registry.get("paper")
    with pytest.raises(PluginError, match="recipe 'other' from plugin 'tests' is registered as 'other' but its name is 'paper'"):
        registry.add("other", paper, "tests")
    with pytest.raises(PluginError, match="plugin 'tests' registered a loss recipe without a name"):
        registry.add(None, paper, "tests")
    with pytest.raises(PluginError, match="clashes with plugin 'imgperc'"):
        registry.add("paper", Deferred("x:y"), "tests")


def test_a_missing_task_names_what_is_missing(monkeypatch):
    monkeypatch.setenv("IMGPERC_PLUGINS", "")
    plugins.reset()
    with pytest.raises(PluginError, match="the 'style' image task is not available: install or enable the plugin that provides it"):
        plugins.registry("image_tasks").require("style")
    result = CliRunner().invoke(cli, ["eval", "sr"])
    assert result.exit_code == 2 and "No such command 'sr': no evaluator of that name (known: none installed" in result.output


# --- the plugin that docs/plugins.md builds: every hook, each thing used --------------------


@pytest.fixture
def sepia(tmp_path, monkeypatch):
    """docs/plugins.md's python blocks, in order, installed as the plugin ``sepia``."""
    source = "\n\n".join(re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S))
    activate(make_plugin(tmp_path, "sepia", source), monkeypatch)


def test_the_documented_plugin_provides_every_kind_and_stays_light(sepia):
    result = _light_run("plugins", "--json")
    assert result.stderr.splitlines()[-1] == "torch not imported"
    listing = {p["name"]: p for p in json.loads(result.stdout)}
    assert listing["sepia"]["error"] is None
    assert listing["sepia"]["provides"] == {
        "commands": ["sepia-info"],
        "models": ["sepia-classic"],
        "transform_nets": ["sepia"],
        "loss_networks": ["luma"],
        "loss_recipes": ["keep-luma"],
        "loss_terms": ["brightness"],
        "trainers": ["sepia"],
        "evaluators": ["sepia"],
        "image_tasks": ["sepia"],
    }


def test_the_documented_command_model_and_net(sepia, tmp_path, monkeypatch):
    import torch

    from imgperc import hub
    from imgperc.modelfile import build_model

    assert CliRunner().invoke(cli, ["sepia-info"]).stdout.splitlines()[0] == "0.393 0.769 0.189"
    mirror = tmp_path / "mirror" / "example.org" / "imgperc-sepia" / "v1"
    mirror.mkdir(parents=True)
    (mirror / "sepia.txt").write_text("0.393 0.769 0.189\n0.349 0.686 0.168\n0.272 0.534 0.131\n")
    monkeypatch.setenv("IMGPERC_MIRROR", str(tmp_path / "mirror"))
    net, meta = build_model(hub.ensure("sepia-classic"))
    assert meta["architecture"] == "sepia"
    x = torch.rand(1, 3, 5, 4)
    with torch.no_grad():
        assert torch.allclose(net(x), plugins.registry("transform_nets").get("sepia")()(x))


def test_the_documented_loss_network_and_recipe(sepia):
    import torch

    from imgperc.losses import PerceptualLoss, resolve_recipe

    loss = PerceptualLoss(resolve_recipe("keep-luma"))
    output = torch.rand(1, 3, 8, 8, requires_grad=True)
    report = loss(output, content=torch.rand(1, 3, 8, 8))
    report.total.backward()
    assert "content:luma" in report.values() and output.grad.abs().sum() > 0
    assert report.values()["brightness"] >= 0 and plugins.registry("loss_terms").owners["brightness"] == "sepia"


def test_the_documented_trainer_evaluator_and_task(sepia, tmp_path):
    import numpy as np
    import torch
    from PIL import Image as PILImage

    from imgperc.modelfile import build_model

    runner = CliRunner()
    trained = tmp_path / "trained.safetensors"
    assert runner.invoke(cli, ["train", "sepia", "-o", str(trained)]).exit_code == 0
    net, _ = build_model(trained)
    assert torch.allclose(net.weight.flatten(), torch.tensor(_sepia_matrix()).flatten(), atol=0.02)

    folder = tmp_path / "photos"
    folder.mkdir()
    PILImage.fromarray(np.full((4, 4, 3), 128, np.uint8)).save(folder / "gray.png")
    gray = 128 / 255
    expected = sum(abs(min(sum(row) * gray, 1.0) - gray) for row in _sepia_matrix()) / 3
    distance = float(runner.invoke(cli, ["eval", "sepia", str(folder)]).stdout.split()[-1])
    assert distance == pytest.approx(expected, abs=1e-4)

    task = plugins.registry("image_tasks").get("sepia")
    assert task.prepare()(torch.ones(1, 3, 2, 2))[0, :, 0, 0].tolist() == pytest.approx([1.0, 1.0, 0.937])
    result = runner.invoke(cli, ["bench", "--task", "sepia", "--sizes", "8", "--runs", "1", "--warmup", "0", "--compile", "never", "--no-baseline"])
    assert result.exit_code == 0, result.output
    assert "task sepia, net sepia, reflection pad 0" in result.output


def _sepia_matrix() -> tuple[tuple[float, ...], ...]:
    """The documented plugin's own matrix."""
    return sys.modules["imgperc_sepia"].SEPIA
