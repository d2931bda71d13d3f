"""fmm-prepare-recall: the probe's lines, their answers and gaps, checked line by line."""
import json
import random

import pytest

from fmm_tools.data import prepare_recall
from fmm_tools.data.prepare_recall import RecallSpec, generate_line, recall_targets


@pytest.mark.parametrize("spec", [RecallSpec(), RecallSpec(length=64, pairs=3, min_gap=2, max_gap=40, keys=5)])
def test_every_key_is_queried_once_after_a_gap_in_range_with_its_value(spec):
    rng = random.Random(0)
    gaps = []
    for _ in range(200):
        line = generate_line(spec, rng)
        assert len(line) == spec.length
        keys = [token for token in line if token.startswith("k")]
        assert len(keys) == 2 * spec.pairs and all(keys.count(key) == 2 for key in keys)
        targets = list(recall_targets(line))
        assert len(targets) == spec.pairs
        for position, gap, value in targets:
            assert line[position] == value and value.startswith("v")  # the query is answered by the pair's value
            assert line[position - 1] == line[position - 1 - gap] and line[position - gap] == value
            assert spec.min_gap <= gap <= spec.max_gap
            gaps.append(gap)
        assert all(token[0] in "kvf" and int(token[1:]) < {"k": spec.keys, "v": spec.values, "f": spec.fillers}[token[0]] for token in line)
    assert min(gaps) < 2 * spec.min_gap + 2 and max(gaps) > spec.max_gap // 2  # log-uniform: both ends reached


def test_recall_targets_read_answers_from_the_line_alone():
    line = "f1 k3 v7 f2 f2 k3 v7 k4 v1 f0 k4 v1".split()
    assert list(recall_targets(line)) == [(6, 4, "v7"), (11, 3, "v1")]


def test_impossible_settings_name_the_option(tmp_path, capsys):
    assert prepare_recall.main(["--length", "64", "--max-gap", "80", "--destdir", str(tmp_path / "a")]) == 1
    assert "--max-gap 80" in capsys.readouterr().err
    assert prepare_recall.main(["--pairs", "70", "--destdir", str(tmp_path / "b")]) == 1
    assert "--pairs 70" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        prepare_recall.main(["--train-lines", "0"])
    assert "--train-lines must be >= 1" in capsys.readouterr().err


def test_builds_the_probe(tmp_path):
    destdir = tmp_path / "recall"
    args = ["--length", "64", "--pairs", "3", "--max-gap", "40", "--train-lines", "20", "--valid-lines", "4",
            "--test-lines", "4", "--destdir", str(destdir), "--workers", "1"]
    assert prepare_recall.main(args) == 0
    assert json.loads((destdir / "recall.json").read_text())["max_gap"] == 40
    assert len((destdir / "text" / "test.txt").read_text().splitlines()) == 4
    assert prepare_recall.dataset_complete(destdir)
