"""Every option of every command says what it does, and every `imgperc ...` line the README and
docs/*.md show names a real subcommand and real options.

Both walk the live click tree (plugin commands, `train`/`eval` subcommands included), so a command
or option added later is checked without touching this file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import click
import pytest

from imgperc.cli.main import cli
from imgperc.lazy import LazyCommand

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL = {"", "sh", "bash", "shell", "console"}  # code blocks holding command lines (not python, json, ...)

# `imgperc` as a command word (not `imgperc/`, `imgperc.stylize`), then what follows it up to the
# end of the shell command (a comment, `;`, `&&`, a pipe, a closing quote or parenthesis).
COMMAND = re.compile(r"(?:^|(?<=[\s(\"'`]))imgperc[ \t]+([^#;&\n\"')`]*?)(?=\s+#|\s+\|\s|[#;&\n\"')`]|$)")


def _real(command: click.Command) -> click.Command:
    return command.resolved if isinstance(command, LazyCommand) else command


def _commands(command: click.Command, path: tuple[str, ...] = ("imgperc",)) -> Iterator[tuple[str, click.Command]]:
    """Every command of the tree below ``command`` (itself included), by its command line."""
    command = _real(command)
    yield " ".join(path), command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            yield from _commands(command.get_command(ctx, name), (*path, name))


def _options(command: click.Command) -> dict[str, click.Parameter]:
    ctx = click.Context(command)
    return {name: p for p in command.get_params(ctx) if isinstance(p, click.Option) for name in (*p.opts, *p.secondary_opts)}


def test_every_option_of_every_command_has_help():
    missing = [
        f"{line} {' / '.join(param.opts)}"
        for line, command in _commands(cli)
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert not missing, "options without help: " + "; ".join(missing)


def test_every_help_renders_and_says_what_the_command_does():
    helps = _help_texts()
    assert {"imgperc stylize", "imgperc upscale", "imgperc train style", "imgperc train sr", "imgperc eval sr", "imgperc models rm"} <= set(helps)
    for line, command in _commands(cli):
        assert (command.help or command.short_help or "").strip(), f"`{line}` has no help text"
        assert helps[line].startswith(f"Usage: {line.split()[-1]}"), line


def _shown_commands(text: str) -> Iterator[str]:
    """The `imgperc ...` command lines in shell code blocks (continuation lines joined) and inline code."""
    blocks = [body for lang, body in re.findall(r"^```(\w*)[^\n]*\n(.*?)^```", text, flags=re.S | re.M) if lang in SHELL]
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    spans = [*(block.replace("\\\n", " ") for block in blocks), *re.findall(r"`([^`\n]+)`", prose)]
    for span in spans:
        for match in COMMAND.finditer(span):
            yield match.group(1).strip()


def _tokens(line: str) -> list[str]:
    """Shell-ish words of a usage line, its optional-part brackets dropped (``[-o OUT]``)."""
    return [word.strip("[]") for word in line.replace("\\|", "|").split() if word.strip("[]")]


def _placeholder(word: str) -> bool:
    return word in {"...", "…"} or word.isupper() or word.startswith("$")


def _problems(command: click.Command, words: list[str], shown: str) -> list[str]:
    """What in ``words`` (after ``shown``) the command tree does not know."""
    command = _real(command)
    options = _options(command)
    index = 0
    while index < len(words):
        word = words[index]
        if word.startswith("-") and len(word) > 1 and not word[1].isdigit():
            name = word.split("=", 1)[0]
            if name not in options:
                return [f"`{shown}` has no option {name}"]
            param = options[name]
            takes_value = not (param.is_flag or param.count) and "=" not in word
            index += 2 if takes_value else 1
            continue
        if isinstance(command, click.Group):
            if _placeholder(word):
                return []
            ctx = click.Context(command, info_name=shown.split()[-1])
            found: list[str] = []
            for name in word.split("|"):  # `train style|sr`: each alternative
                sub = command.get_command(ctx, name)
                if sub is None:
                    found.append(f"`{shown}` has no subcommand {name!r}")
                else:
                    found += _problems(sub, words[index + 1 :], f"{shown} {name}")
            return found
        index += 1
    return []


def _doc_commands() -> list[tuple[str, str]]:
    return [(doc.relative_to(REPO).as_posix(), line) for doc in DOCS for line in _shown_commands(doc.read_text(encoding="utf-8"))]


def test_the_docs_show_commands_to_check():
    shown = {line for _, line in _doc_commands()}
    assert "stylize --style muse photo.jpg" in shown and any(line.startswith("train sr") for line in shown)


@pytest.mark.parametrize("doc", sorted({doc for doc, _ in _doc_commands()}))
def test_every_command_shown_in_the_docs_parses(doc):
    problems = [
        f"{problem} (in {doc}: `imgperc {line}`)"
        for where, line in _doc_commands()
        if where == doc
        for problem in _problems(cli, _tokens(line), "imgperc")
    ]
    assert not problems, "\n".join(problems)


def test_the_docs_check_catches_an_unknown_subcommand_or_option():
    assert _problems(cli, _tokens("models lst"), "imgperc") == ["`imgperc models` has no subcommand 'lst'"]
    assert _problems(cli, _tokens("stylize --styl wave x.jpg"), "imgperc") == ["`imgperc stylize` has no option --styl"]
    assert _problems(cli, _tokens("train style|sr [--data DIR] [--name NAME]"), "imgperc") == []


def _help_texts() -> dict[str, str]:
    return {line: command.get_help(click.Context(command, info_name=line.split()[-1])) for line, command in _commands(cli)}


def test_no_command_list_cuts_a_commands_help_at_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # as a terminal of 80 columns (click leaves a margin)
    cut = [
        f"{line}: {row.strip()}"
        for line, command in _commands(cli)
        if isinstance(command, click.Group)
        for row in command.get_help(click.Context(command, info_name=line.split()[-1])).split("Commands:", 1)[1].splitlines()
        if row.endswith("...")
    ]
    assert not cut, "cut with '...': " + "; ".join(cut)


def _user_facing_text() -> str:
    return "\n".join([*(doc.read_text(encoding="utf-8") for doc in DOCS), *_help_texts().values()])


def test_one_spelling_of_stylize_and_of_nproc_per_node():
    text = _user_facing_text()
    assert not re.findall(r"\w*stylis\w*", text, flags=re.I)
    assert "--nproc_per_node" not in text and "--nproc-per-node" in text


def test_the_fast_styles_cost_is_stated_one_way_and_matches_the_shipped_metadata():
    ratios = _fast_style_ratios()
    statement = f"{min(ratios)}-{max(ratios)}x fewer FLOPs"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    stylize_help = " ".join(_help_texts()["imgperc stylize"].split())
    assert statement in readme and statement in stylize_help
    for wrong in ("a ninth of the FLOPs", "about a tenth of the FLOPs"):
        assert wrong not in _user_facing_text()


def _fast_style_ratios() -> list[int]:
    from imgperc.modelfile import read_metadata

    weights = REPO / "plugins" / "imgperc_style" / "weights"
    costs = [read_metadata(path)["cost"] for path in sorted(weights.glob("*.safetensors"))]
    return [round(cost["teacher_gflop"] / cost["gflop"]) for cost in costs]


def test_the_readme_gives_muses_download_size_as_models_list_does():
    from imgperc import hub
    from imgperc.cli.models_cmd import _size

    shown = _size(hub.find_spec("muse").download_size)
    assert f"the `muse` weights, {shown}," in " ".join((REPO / "README.md").read_text(encoding="utf-8").split())


def test_help_nits():
    helps = {line: " ".join(text.split()) for line, text in _help_texts().items()}
    style_option = helps["imgperc stylize"].split("Options:", 1)[1].split("--style NAME", 1)[1].split("--model", 1)[0]
    assert "`imgperc models list" in style_option and "imgperc stylize --help" not in style_option
    assert "--log FILE " in helps["imgperc gatys"] and "FILE.csv" not in helps["imgperc gatys"]
    video = (REPO / "docs" / "video.md").read_text(encoding="utf-8")
    assert "once that plugin exists" not in video and "scale 2 or 4" not in video
