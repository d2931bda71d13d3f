"""The corpus builders' staging: a finished build replaces the destination's entries, a failed one leaves it as it was."""
import pytest

from fmm_tools.data.preparation import staged


def test_finished_build_replaces_entries_and_keeps_the_others(tmp_path):
    destdir = tmp_path / "out"
    (destdir / "old_dir").mkdir(parents=True)
    (destdir / "old_dir" / "stale.bin").write_text("stale")
    (destdir / "kept.txt").write_text("kept")
    with staged(destdir) as staging:
        assert staging.parent == tmp_path and staging != destdir
        (staging / "old_dir").mkdir()
        (staging / "old_dir" / "new.bin").write_text("new")
        (staging / "dict.txt").write_text("a 1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left behind
    assert sorted(p.name for p in (destdir / "old_dir").iterdir()) == ["new.bin"]
    assert (destdir / "dict.txt").read_text() == "a 1\n" and (destdir / "kept.txt").read_text() == "kept"


def test_failed_build_leaves_destination_as_it_was(tmp_path):
    destdir = tmp_path / "nested" / "out"
    with pytest.raises(RuntimeError, match="half way"):
        with staged(destdir) as staging:
            (staging / "dict.txt").write_text("partial")
            raise RuntimeError("half way")
    assert not destdir.exists()
    assert list((tmp_path / "nested").iterdir()) == []
