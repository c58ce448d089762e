"""The output-path check every writer calls before any work (videothat.core.outputs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from videothat.core.errors import ParameterError
from videothat.core.outputs import check_output_folder, check_outputs, folder_problem


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder no file can be created in: read-only for a normal user; for root (whom
    permissions do not stop) sysfs, which takes no new files."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if folder_problem(Path("/sys")) is None:
        pytest.skip("no folder here refuses root's writes")
    return Path("/sys")


def test_writable_outputs_pass_and_come_back_as_paths(tmp_path):
    (tmp_path / "old.mp4").write_bytes(b"a previous output")  # overwriting an earlier output is fine
    assert check_outputs([str(tmp_path / "new.mp4"), tmp_path / "old.mp4"]) == [tmp_path / "new.mp4",
                                                                                 tmp_path / "old.mp4"]
    assert [p.name for p in tmp_path.iterdir()] == ["old.mp4"]  # the write test left nothing


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: (p / "out.mp4").mkdir(), "is a folder"),
    (lambda p: None, "does not exist; create it"),
    (lambda p: os.mkfifo(p / "out.mp4"), "not a regular file"),
])
def test_bad_outputs_are_refused_with_the_path(tmp_path, make, words):
    make(tmp_path)
    target = tmp_path / "out.mp4" if words != "does not exist; create it" else tmp_path / "nowhere" / "out.mp4"
    with pytest.raises(ParameterError, match=words) as caught:
        check_outputs([target])
    assert str(target) in str(caught.value)


def test_an_unwritable_folder_is_refused(tmp_path):
    folder = unwritable_folder(tmp_path)
    with pytest.raises(ParameterError, match="not writable"):
        check_outputs([folder / "out.mp4"])
    with pytest.raises(ParameterError, match="not writable"):
        check_output_folder(folder / "new.idx", role="--index")


def test_an_input_is_never_an_output_under_any_name(tmp_path, monkeypatch):
    song = tmp_path / "song.mp4"
    song.write_bytes(b"the song")
    (tmp_path / "link.mp4").symlink_to(song)
    os.link(song, tmp_path / "hard.mp4")
    monkeypatch.chdir(tmp_path)
    for name in ("song.mp4", tmp_path / "song.mp4", "./song.mp4", "link.mp4", "hard.mp4"):
        with pytest.raises(ParameterError, match="is the input .*song.mp4, which would be overwritten"):
            check_outputs([Path("other.json"), Path(name)], inputs=[song])
    assert song.read_bytes() == b"the song"


def test_output_folders(tmp_path):
    assert check_output_folder(tmp_path / "a" / "b.idx") == tmp_path / "a" / "b.idx"
    assert not (tmp_path / "a").exists()  # checked, not made
    (tmp_path / "file").write_text("x")
    with pytest.raises(ParameterError, match="is a file, not a folder"):
        check_output_folder(tmp_path / "file", role="--index")
    with pytest.raises(ParameterError, match="nearest existing path above it.*is not a folder"):
        check_output_folder(tmp_path / "file" / "x.idx", role="--index")
