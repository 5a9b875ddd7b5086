"""`imgperc.settings`: every IMGPERC_* variable in one table, the README's table from it, one
parser per kind of value and one error style."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from imgperc import settings
from imgperc.errors import InputError

from hardening_cli import one_error_line, run_cli

REPO = Path(__file__).resolve().parents[1]
SOURCES = [p for folder in ("imgperc", "plugins") for p in sorted((REPO / folder).rglob("*.py"))]


def test_the_readme_table_is_the_settings_table():
    readme = (REPO / "README.md").read_text()
    assert settings.markdown_table() in readme, (
        "README.md's table of environment settings is out of date: replace it with the output of\n"
        "python -c 'from imgperc.settings import markdown_table; print(markdown_table())'"
    )


def test_every_variable_the_code_names_is_in_the_table():
    named = {m for path in SOURCES for m in re.findall(r"\bIMGPERC_[A-Z_]+\b", path.read_text())}
    assert named - {"IMGPERC_X"} <= {s.name for s in settings.SETTINGS}


def test_only_settings_reads_the_environment():
    readers = [str(p.relative_to(REPO)) for p in SOURCES if "os.environ" in p.read_text()]
    assert readers == ["imgperc/settings.py"]


@pytest.mark.parametrize(
    "name, text, value",
    [
        ("IMGPERC_THREADS", " 3 ", 3),
        ("IMGPERC_MAX_PIXELS", "1_000_000", 1_000_000),
        ("IMGPERC_MEMORY", "512MiB", 512 << 20),
        ("IMGPERC_MEMORY", "3G", 3 << 30),
        ("IMGPERC_MEMORY", "1.5g", 3 << 29),
        ("IMGPERC_COMPILE", "Never", "never"),
        ("IMGPERC_DOWNLOAD_TIMEOUT", "2.5", 2.5),
        ("IMGPERC_OFFLINE", "yes", True),
        ("IMGPERC_OFFLINE", "0", False),
        ("IMGPERC_OFFLINE", "", False),
        ("IMGPERC_PLUGINS", " style, gatys ", {"style", "gatys"}),
        ("IMGPERC_PLUGINS", "", set()),
    ],
)
def test_values(monkeypatch, name, text, value):
    monkeypatch.setenv(name, text)
    (setting,) = [s for s in settings.SETTINGS if s.name == name]
    assert setting.get() == value


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("IMGPERC_THREADS", "0", "a positive whole number"),
        ("IMGPERC_MAX_PIXELS", "1.5", "a positive whole number"),
        ("IMGPERC_MEMORY", "lots", "a memory size such as 3G or 512M"),
        ("IMGPERC_MEMORY", "-1G", "a memory size such as 3G or 512M"),
        ("IMGPERC_DOWNLOAD_TIMEOUT", "inf", "a positive number of seconds"),
        ("IMGPERC_OFFLINE", "banana", "1, true, yes, on, 0, false, no or off"),
    ],
)
def test_one_error_style(monkeypatch, name, text, expected):
    monkeypatch.setenv(name, text)
    (setting,) = [s for s in settings.SETTINGS if s.name == name]
    with pytest.raises(InputError) as caught:
        setting.get()
    assert str(caught.value) == f"{name} must be {expected}, got '{text}'"


def test_unset_means_the_default(monkeypatch):
    for setting in settings.SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    assert settings.max_pixels() == settings.DEFAULT_MAX_PIXELS and settings.download_timeout() == 30.0
    assert settings.compile_mode() == "auto" and settings.offline() is False
    assert settings.threads() is None and settings.memory() is None and settings.plugin_allowlist() is None


def test_a_bad_setting_on_the_command_line_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("IMGPERC_OFFLINE", "maybe")
    code, _, err = run_cli(capsys, "models", "pull", "muse")
    assert code == 1
    assert one_error_line(err) == "Error: IMGPERC_OFFLINE must be 1, true, yes, on, 0, false, no or off, got 'maybe'"


def test_set_default_leaves_the_users_value(monkeypatch):
    monkeypatch.setenv("IMGPERC_THREADS", "2")
    settings.set_default("IMGPERC_THREADS", 5)
    assert os.environ["IMGPERC_THREADS"] == "2"
    monkeypatch.delenv("IMGPERC_THREADS")
    settings.set_default("IMGPERC_THREADS", 5)
    assert settings.threads() == 5


def test_launch_is_alone_without_torchrun(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert settings.launch() == (1, 0, 0, 1)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    assert settings.launch().rank == 3 and settings.launch().world == 4
