"""fmm-prepare-recall: the probe's lines, their answers and gaps, checked line by line."""
import json
import random

import pytest

from fmm_tools.data import prepare_recall
from fmm_tools.data.prepare_recall import RecallSpec, generate_line, recall_targets


@pytest.mark.parametrize(
    "spec",
    [RecallSpec(), RecallSpec(length=96, segments=3, segment_length=4, keys=12, fillers=3, min_gap=6, max_gap=60),
     RecallSpec(length=64, segments=4, segment_length=2, keys=6, values=5, min_gap=3, max_gap=40)],
)
def test_every_segment_is_repeated_once_after_a_gap_in_range(spec):
    rng = random.Random(0)
    gaps = []
    for _ in range(200):
        line = generate_line(spec, rng)
        assert len(line) == spec.length
        keys = [token for token in line if token.startswith("k")]
        keys_per_segment = spec.segment_length - bool(spec.values)
        assert len(keys) == 2 * spec.segments * keys_per_segment and all(keys.count(key) == 2 for key in keys)
        targets = list(recall_targets(line))
        assert len(targets) == spec.segments * (spec.segment_length - 1)
        for position, gap, token in targets:
            assert line[position] == token and line[position - gap] == token  # the copy holds the recalled token
            assert line[position - 1] == line[position - 1 - gap]  # after the same key, gap tokens back
            assert spec.min_gap <= gap <= spec.max_gap
            gaps.append(gap)
        vocabulary = {"k": spec.keys, "v": spec.values, "f": spec.fillers}
        assert all(int(token[1:]) < vocabulary[token[0]] for token in line)
    assert min(gaps) < 2 * spec.min_gap and max(gaps) > spec.max_gap // 2  # log-uniform: both ends reached


def test_recall_targets_read_answers_from_the_line_alone():
    line = "f1 k3 k7 k2 f2 f2 k3 k7 k2 f0 k4 v1 f0 f0 k4 v1 f0".split()
    assert list(recall_targets(line)) == [(7, 5, "k7"), (8, 5, "k2"), (15, 4, "v1")]  # k2 -> f2 is no target


@pytest.mark.parametrize("options,named", [
    (["--length", "64", "--max-gap", "60"], "--max-gap 60"),
    (["--segments", "9"], "--segments 9"),
    (["--min-gap", "16"], "--min-gap 16"),
])
def test_impossible_settings_name_the_option(tmp_path, capsys, options, named):
    assert prepare_recall.main([*options, "--destdir", str(tmp_path / "out")]) == 1
    assert named in capsys.readouterr().err


def test_counts_are_checked_before_anything_is_written(capsys):
    with pytest.raises(SystemExit):
        prepare_recall.main(["--train-lines", "0"])
    assert "--train-lines must be >= 1" in capsys.readouterr().err


def test_builds_the_probe(tmp_path):
    destdir = tmp_path / "recall"
    args = ["--length", "64", "--segments", "2", "--segment-length", "4", "--keys", "8", "--min-gap", "6", "--max-gap", "40",
            "--train-lines", "20", "--valid-lines", "4", "--test-lines", "4", "--destdir", str(destdir), "--workers", "1"]
    assert prepare_recall.main(args) == 0
    assert json.loads((destdir / "recall.json").read_text())["max_gap"] == 40
    assert len((destdir / "text" / "test.txt").read_text().splitlines()) == 4
    assert prepare_recall.dataset_complete(destdir)
