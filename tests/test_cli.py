"""The CLI shell: version, entry points, one-line errors, --debug tracebacks."""

from __future__ import annotations

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
