"""The CLI shell: version, entry points, one-line errors, --debug tracebacks, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from imgperc import __version__


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgperc", *args], capture_output=True, text=True)


def test_version_via_python_m_and_console_script():
    assert _run("--version").stdout.strip() == f"imgperc, version {__version__}"
    script = subprocess.run(["imgperc", "--version"], capture_output=True, text=True)
    assert script.stdout.strip() == f"imgperc, version {__version__}"


def test_unknown_command_is_a_usage_error():
    result = _run("frobnicate")
    assert result.returncode == 2
    assert "No such command 'frobnicate'" in result.stderr


def test_errors_are_one_line_and_debug_shows_the_traceback():
    plain = _run("models", "path", "no-such-model")
    assert plain.returncode == 1
    assert plain.stderr.strip().splitlines()[-1].startswith("Error: unknown model 'no-such-model'")
    assert "Traceback" not in plain.stderr
    debug = _run("--debug", "models", "path", "no-such-model")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr


def _interrupted(proc: subprocess.Popen) -> tuple[int, list[str]]:
    """Send Ctrl-C; the exit code and the non-blank stderr lines it printed afterwards."""
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    return proc.returncode, [line for line in rest.splitlines() if line.strip()]


# `python -m imgperc ARGS`, but the import of torch stalls at torch.torch_version (imported by
# torch/__init__.py) after saying so: Ctrl-C then lands inside `import torch`, every time.
STALLED_TORCH_IMPORT = """
import runpy, sys, time
class Stall:
    def find_spec(self, name, path=None, target=None):
        if name == "torch.torch_version":
            print("stalled in import torch", file=sys.stderr, flush=True)
            time.sleep(60)
        return None
sys.meta_path.insert(0, Stall())
runpy.run_module("imgperc", run_name="__main__", alter_sys=True)
"""


def test_ctrl_c_while_torch_is_being_imported_is_one_line_and_130(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", STALLED_TORCH_IMPORT, "stylize", str(tmp_path / "a.png"), "--model", str(tmp_path / "m.safetensors")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert proc.stderr.readline() == "stalled in import torch\n"
    code, lines = _interrupted(proc)
    assert (code, lines) == (130, ["Aborted."])


def test_ctrl_c_during_a_stalled_download_is_one_line_and_130():
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts, never answers
        server.settimeout(120)
        env = {**os.environ, "IMGPERC_MIRROR": f"http://127.0.0.1:{server.getsockname()[1]}"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgperc", "models", "pull", "wave"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
        )
        connection, _ = server.accept()
        with connection:
            code, lines = _interrupted(proc)
    assert (code, lines) == (130, ["Aborted."])
