"""Plugin discovery: built-ins and third-party plugins through entry points, broken ones, filtering."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from imgperc import plugins
from imgperc.cli.main import cli

from plugin_factory import activate, make_plugin

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


def test_the_documented_example_plugin_works(tmp_path, monkeypatch):
    """The sepia plugin in docs/plugins.md is real code: it loads, adds a command and a task."""
    import re
    from pathlib import Path

    import torch

    doc = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    source = re.search(r"```python\n# imgperc_sepia.py\n(.*?)```", doc, re.S).group(1)
    activate(make_plugin(tmp_path, "sepia", source), monkeypatch)
    assert "tensor" in CliRunner().invoke(cli, ["sepia-info"]).stdout
    task = plugins.registry("image_tasks").get("sepia")
    out = task.prepare()(torch.ones(1, 3, 4, 4))
    assert out.shape == (1, 3, 4, 4) and torch.allclose(out[0, :, 0, 0], torch.tensor([1.0, 1.0, 0.937]))
