"""The model hub: mirror rewrite, verified downloads, offline mode, atomic and concurrent installs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from imgperc import hub
from imgperc.cli.main import cli
from imgperc.errors import DownloadError, ModelNotAvailable
from imgperc.modelfile import load_model_file

from conftest import MIRROR_DIR
from plugin_factory import activate, make_plugin

ML5 = "raw.githubusercontent.com/ml5js/ml5-data-and-models/0612a3e7c51cbffdc5db701dff49d16d1ac26fa8"
VGG = "raw.githubusercontent.com/DavidCai1111/vgg19-tensorflowjs-model/08d09052bc6258d3abdfa341850122fc4b746db6"

TOY = f'''
import os, time
import torch
from pathlib import Path
from imgperc import hookimpl
from imgperc.hub import ModelSpec, RemoteFile

FILES = (
    RemoteFile("https://{ML5}/LICENSE", 1059, "c0085440de5c9c8159cff4d047e6f83cc073d42ba1717ddae0a5759730a2cdf1", name="ml5-license"),
    RemoteFile("https://{VGG}/README.md", 534, "bf782e5ff47b1f4d125c85b617e2c74e5dd6cf8f72b40134a8da847e19fa96d1"),
)

def convert(raw):
    log = os.environ.get("TOY_CONVERT_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{{os.getpid()}}\\n")
        time.sleep(0.5)  # widen the window in which a second puller could collide
    tensors = {{name: torch.tensor(list(Path(p).read_bytes()), dtype=torch.uint8) for name, p in raw.items()}}
    return tensors, {{"architecture": "none"}}

@hookimpl
def register_models(register):
    register(ModelSpec("toy", "test", "two small text files", "MIT", "tests", FILES, convert, aliases=("toy-alias",)))
    bad = (RemoteFile(FILES[0].url, 1059, "0" * 64),)
    register(ModelSpec("toy-bad-sha", "test", "wrong checksum", "MIT", "tests", bad, convert))
    missing = (RemoteFile("https://{VGG}/model/group9-shard1of1", 4719616, None),)
    register(ModelSpec("toy-missing", "test", "a file the mirror lacks", "MIT", "tests", missing, convert))
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A third-party plugin declaring small models served from the mirror."""
    root = tmp_path / "plug"
    root.mkdir()
    activate(make_plugin(root, "toy", TOY), monkeypatch)


def test_resolve_url_rewrites_scheme_and_host():
    url = "https://example.org/a/b/c.bin"
    assert hub.resolve_url(url, "http://127.0.0.1:9/m/") == "http://127.0.0.1:9/m/example.org/a/b/c.bin"
    assert hub.resolve_url(url, "/srv/mirror") == "/srv/mirror/example.org/a/b/c.bin"
    assert hub.resolve_url(url, "") == url


def test_pull_through_http_mirror_converts_once_and_installs(toy, use_mirror, imgperc_env):
    path = hub.ensure("toy-alias")
    assert path == imgperc_env / "models" / "toy" / "model.safetensors"
    tensors, meta = load_model_file(path)
    assert bytes(tensors["ml5-license"].tolist()) == (MIRROR_DIR / ML5 / "LICENSE").read_bytes()
    assert meta["id"] == "toy" and meta["license"] == "MIT"
    assert sorted(use_mirror.requests) == sorted([f"/{ML5}/LICENSE", f"/{VGG}/README.md"])
    info = json.loads((path.parent / "info.json").read_text())
    assert info["files"][0]["sha256"].startswith("c0085440")
    # the raw downloads are gone, no temp files are left
    assert not (imgperc_env / "downloads" / "toy").exists()
    assert [p.name for p in (imgperc_env / "models").iterdir()] == ["toy"]
    # a second ensure is served from the store
    use_mirror.requests.clear()
    assert hub.ensure("toy") == path and use_mirror.requests == []


@pytest.mark.needs_shared("mirror")
def test_local_folder_mirror(toy, monkeypatch):
    monkeypatch.setenv("IMGPERC_MIRROR", str(MIRROR_DIR))
    assert hub.ensure("toy").is_file()


def test_checksum_mismatch_is_rejected_and_nothing_installed(toy, use_mirror, imgperc_env):
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        hub.ensure("toy-bad-sha")
    assert hub.installed_path(hub.find_spec("toy-bad-sha")) is None
    leftovers = [p for p in imgperc_env.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert leftovers == []


def test_missing_upstream_file_is_a_clear_error(toy, use_mirror):
    with pytest.raises(DownloadError, match=r"group9-shard1of1: HTTP 404"):
        hub.ensure("toy-missing")


def test_offline_never_touches_the_network(toy, use_mirror, monkeypatch):
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    with pytest.raises(ModelNotAvailable, match=r"model 'toy' is not installed.*imgperc models pull toy"):
        hub.ensure("toy")
    assert use_mirror.requests == []


def test_offline_uses_installed_models(toy, use_mirror, monkeypatch):
    path = hub.ensure("toy")
    monkeypatch.setenv("IMGPERC_OFFLINE", "1")
    assert hub.ensure("toy") == path


def test_unknown_model_lists_known_ones(toy):
    with pytest.raises(ModelNotAvailable, match=r"unknown model 'nope' \(known: .*toy"):
        hub.find_spec("nope")


def test_concurrent_pulls_do_not_corrupt_the_cache(toy, use_mirror, tmp_path, monkeypatch):
    log = tmp_path / "conversions.log"
    monkeypatch.setenv("TOY_CONVERT_LOG", str(log))
    procs = [
        subprocess.Popen([sys.executable, "-m", "imgperc", "models", "pull", "toy"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], results
    assert len(log.read_text().split()) == 1  # converted exactly once
    tensors, _ = load_model_file(hub.ensure("toy"))
    assert bytes(tensors["README.md"].tolist()) == (MIRROR_DIR / VGG / "README.md").read_bytes()


def test_models_cli_list_pull_path_rm(toy, use_mirror):
    runner = CliRunner()
    listing = json.loads(runner.invoke(cli, ["models", "list", "--json", "--task", "test"]).stdout)
    toy_row = next(r for r in listing if r["id"] == "toy")
    assert toy_row["installed"] is False and toy_row["size"] == 1059 + 534 and toy_row["license"] == "MIT"

    missing = runner.invoke(cli, ["models", "path", "toy"])
    assert missing.exit_code != 0 and "not installed" in missing.output

    pulled = runner.invoke(cli, ["models", "pull", "toy"])
    assert pulled.exit_code == 0, pulled.output
    where = runner.invoke(cli, ["models", "path", "toy"]).stdout.strip()
    assert Path(where).is_file()
    listing = json.loads(runner.invoke(cli, ["models", "list", "--json", "--task", "test"]).stdout)
    assert next(r for r in listing if r["id"] == "toy")["installed"] is True

    removed = runner.invoke(cli, ["models", "rm", "toy"])
    assert removed.stdout.strip() == "removed toy" and not Path(where).exists()
    assert runner.invoke(cli, ["models", "rm", "toy"]).stdout.strip() == "toy was not installed"


def test_cli_errors_are_one_line(toy, use_mirror):
    result = subprocess.run([sys.executable, "-m", "imgperc", "models", "pull", "toy-bad-sha"], capture_output=True, text=True)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: could not download model 'toy-bad-sha'")
    assert "Traceback" not in result.stderr


def test_model_file_roundtrip_rejects_foreign_files(tmp_path):
    from imgperc.errors import InputError
    from imgperc.modelfile import read_metadata, save_model_file

    save_model_file(tmp_path / "m.safetensors", {"w": torch.ones(2)}, {"architecture": "x"})
    assert read_metadata(tmp_path / "m.safetensors") == {"architecture": "x"}
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a valid imgperc model file"):
        read_metadata(tmp_path / "junk.safetensors")
