"""Which files a command line names, and where their results go."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgperc.errors import InputError
from imgperc.io import collect_inputs, output_paths


def touch(root: Path, *names: str) -> list[Path]:
    paths = [root / name for name in names]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return paths


def test_files_are_taken_as_given(tmp_path):
    a, b = touch(tmp_path, "b.jpg", "notes.txt")
    assert collect_inputs([a, str(b)]) == [a, b]  # reading decides whether a file is an image


def test_missing_input(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        collect_inputs([tmp_path / "gone.jpg"])


def test_folder_expands_to_its_images_sorted(tmp_path):
    touch(tmp_path, "b.png", "a.JPG", "c.webp", "notes.txt", ".a.tmp.png", "sub/d.jpg", ".hidden/e.jpg")
    assert [p.name for p in collect_inputs([tmp_path])] == ["a.JPG", "b.png", "c.webp"]
    found = collect_inputs([tmp_path], recursive=True)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.JPG", "b.png", "c.webp", "sub/d.jpg"]


def test_folder_without_images(tmp_path):
    touch(tmp_path, "notes.txt", "sub/d.jpg")
    with pytest.raises(InputError, match="no images found.*--recursive"):
        collect_inputs([tmp_path])
    assert [p.name for p in collect_inputs([tmp_path], recursive=True)] == ["d.jpg"]


def test_duplicates_removed_in_order(tmp_path):
    a, b = touch(tmp_path, "a.jpg", "b.jpg")
    assert collect_inputs([b, tmp_path, a, tmp_path / "." / "b.jpg"]) == [b, a]


def test_outputs_beside_inputs(tmp_path):
    a, b = touch(tmp_path, "a.jpg", "sub/b.PNG")
    assert output_paths([a, b], tag="wave") == [tmp_path / "a.wave.jpg", tmp_path / "sub/b.wave.PNG"]
    assert output_paths([a, b], tag="x4", ext="png") == [tmp_path / "a.x4.png", tmp_path / "sub/b.x4.png"]
    assert output_paths([a], tag="x4", ext=".TIF") == [tmp_path / "a.x4.TIF"]


def test_unwritable_input_extension_defaults_to_png(tmp_path):
    (gif,) = touch(tmp_path, "anim.gif")
    assert output_paths([gif], tag="wave") == [tmp_path / "anim.wave.png"]


def test_unsupported_output_extension(tmp_path):
    (a,) = touch(tmp_path, "a.jpg")
    with pytest.raises(InputError, match="unsupported output format '.gif'"):
        output_paths([a], tag="t", ext="gif")
    with pytest.raises(InputError, match="unsupported output format '.xyz'"):
        output_paths([a], tag="t", output=tmp_path / "out.xyz")


def test_one_input_and_an_output_file(tmp_path):
    (a,) = touch(tmp_path, "a.jpg")
    assert output_paths([a], tag="t", output=tmp_path / "new/result.png") == [tmp_path / "new/result.png"]
    assert (tmp_path / "new").is_dir()


def test_one_input_and_an_output_folder(tmp_path):
    (a,) = touch(tmp_path, "in/a.jpg")
    (tmp_path / "existing.png").mkdir()
    assert output_paths([a], tag="t", output=tmp_path / "existing.png") == [tmp_path / "existing.png/a.t.jpg"]
    assert output_paths([a], tag="t", output=tmp_path / "outdir") == [tmp_path / "outdir/a.t.jpg"]
    assert output_paths([a], tag="t", output=f"{tmp_path}/slash/", ext="png") == [tmp_path / "slash/a.t.png"]
    assert (tmp_path / "outdir").is_dir() and (tmp_path / "slash").is_dir()


def test_several_inputs_into_a_folder(tmp_path):
    a, b = touch(tmp_path, "in/a.jpg", "in/b.png")
    assert output_paths([a, b], tag="t", output=tmp_path / "out") == [tmp_path / "out/a.t.jpg", tmp_path / "out/b.t.png"]
    assert (tmp_path / "out").is_dir()


def test_recursive_inputs_keep_their_sub_folders(tmp_path):
    touch(tmp_path, "in/a.jpg", "in/x/a.jpg", "in/x/y/c.png")
    inputs = collect_inputs([tmp_path / "in"], recursive=True)
    results = output_paths(inputs, tag="t", output=tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in results] == ["a.t.jpg", "x/a.t.jpg", "x/y/c.t.png"]
    assert (tmp_path / "out/x/y").is_dir()


def test_several_inputs_need_a_folder(tmp_path):
    a, b = touch(tmp_path, "a.jpg", "b.jpg")
    with pytest.raises(InputError, match="need an output folder"):
        output_paths([a, b], tag="t", output=tmp_path / "result.png")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError, match="is a file"):
        output_paths([a, b], tag="t", output=tmp_path / "file")


def test_colliding_outputs(tmp_path):
    a, b = touch(tmp_path, "a.jpg", "a.png")
    with pytest.raises(InputError, match="would both be written to"):
        output_paths([a, b], tag="t", ext="png")


def test_output_never_replaces_an_input(tmp_path):
    a, b = touch(tmp_path, "a.jpg", "a.t.jpg")
    with pytest.raises(InputError, match="would overwrite an input"):
        output_paths([a, b], tag="t")
    with pytest.raises(InputError, match="would overwrite an input"):
        output_paths([a], tag="t", output=a)
