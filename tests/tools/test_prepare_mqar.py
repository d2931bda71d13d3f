"""fmm-prepare-mqar: Zoology's MQAR lines, their answers and gaps, checked line by line; a tiny build."""
import json
import random

import pytest

from fmm_tools.data import prepare_mqar
from fmm_tools.data.prepare_mqar import MQARGenerator, MQARSpec, read_answers
from fmm_tools.data.prepare_recall import recall_targets

TINY = ["--length", "32", "--pairs", "4", "--vocab", "64", "--train-lines", "50", "--valid-lines", "10",
        "--test-lines", "10", "--workers", "1"]


@pytest.mark.parametrize("spec", [
    MQARSpec(), MQARSpec(length=64, pairs=4, vocab=100, random_fillers=5),
    MQARSpec(length=16, pairs=4, vocab=20),  # as many pairs as slots: every slot is a query
])
def test_every_key_is_asked_once_and_answered_by_its_value(spec):
    generator, rng = MQARGenerator(spec), random.Random(0)
    for _ in range(100):
        line, answers = generator.line(rng)
        assert len(line) == spec.length
        pairs = dict(zip(line[0 : 2 * spec.pairs : 2], line[1 : 2 * spec.pairs : 2]))
        assert len(pairs) == spec.pairs and len(set(pairs.values())) == spec.pairs  # distinct keys and values
        assert all(key[0] == "k" and value[0] == "v" for key, value in pairs.items())
        rest = line[2 * spec.pairs :]
        assert sorted(token for token in rest if token[0] == "k") == sorted(pairs)  # each key asked exactly once
        assert sorted(token for token in rest if token[0] == "v") == sorted(pairs.values())
        assert all(rest[i][0] == "k" for i in range(0, len(rest), 2) if rest[i][0] != "f")  # keys only at slots
        assert len(answers) == spec.pairs and answers == sorted(answers)
        for position, gap, value in answers:
            key = line[position - 1]
            assert line[position] == value == pairs[key]  # the token after the query key, its paired value
            assert line.index(key) == position - 1 - gap and line[position - 1 - gap + 1] == value  # gap: key to key
            assert (position - 1) % 2 == 0 and position - 1 >= 2 * spec.pairs
        assert list(recall_targets(line)) == answers  # fmm-prepare-recall's reader finds the same answers
        vocabulary = {"k": spec.vocab // 2, "v": spec.vocab // 2, "f": max(1, spec.random_fillers)}
        assert all(int(token[1:]) < vocabulary[token[0]] for token in line)
    if spec.random_fillers > 1:
        assert len({token for token in line if token[0] == "f"}) > 1


def test_queries_lean_to_short_gaps():
    spec = MQARSpec(length=128, pairs=8, vocab=256)
    generator, rng = MQARGenerator(spec), random.Random(1)
    slots = [(position - 1 - 2 * spec.pairs) // 2 for _ in range(300) for position, _, _ in generator.line(rng)[1]]
    uniform_mean = (spec.slots - 1) / 2  # 27.5
    assert sum(slots) / len(slots) < 0.75 * uniform_mean
    assert min(slots) == 0 and max(slots) > spec.slots // 2  # the tail is reached too


def test_the_seed_decides_the_lines():
    spec = MQARSpec(length=64, pairs=8, vocab=128)
    draw = lambda seed: [MQARGenerator(spec).line(rng) for rng in [random.Random(seed)] for _ in range(20)]
    assert draw(3) == draw(3) and draw(3) != draw(4)


@pytest.mark.parametrize("options,named", [
    (["--length", "32", "--pairs", "4", "--vocab", "32"], "--vocab 32"),
    (["--length", "32", "--pairs", "9", "--vocab", "64"], "--pairs 9"),
    (["--length", "33", "--vocab", "64"], "--length 33"),
    (["--power-a", "0"], "--power-a 0"),
])
def test_impossible_settings_name_the_option(tmp_path, capsys, options, named):
    assert prepare_mqar.main([*options, "--destdir", str(tmp_path / "out")]) == 1
    assert named in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_counts_are_checked_before_anything_is_written(capsys):
    with pytest.raises(SystemExit):
        prepare_mqar.main(["--test-lines", "0"])
    assert "--test-lines must be >= 1" in capsys.readouterr().err


def test_builds_the_data_and_resumes(tmp_path, capsys):
    destdir = tmp_path / "mqar"
    assert prepare_mqar.main([*TINY, "--seed", "2", "--destdir", str(destdir)]) == 0
    assert prepare_mqar.dataset_complete(destdir)
    assert all((destdir / f"{split}.{ext}").is_file() for split in ("train", "valid", "test") for ext in ("bin", "idx"))
    symbols = [line.split()[0] for line in (destdir / "dict.txt").read_text().splitlines()]
    assert symbols == [f"k{i}" for i in range(32)] + [f"v{i}" for i in range(32)] + ["f0"]  # all, drawn or not
    settings = json.loads((destdir / "mqar.json").read_text())
    assert (settings["length"], settings["pairs"], settings["vocab"], settings["seed"]) == (32, 4, 64, 2)
    assert settings["lines"] == {"train": 50, "valid": 10, "test": 10}
    lines = (destdir / "text" / "test.txt").read_text().splitlines()
    answers = read_answers(destdir / "text" / "test.answers.jsonl")
    assert len(lines) == len(answers) == 10
    assert [list(recall_targets(line.split())) for line in lines] == answers
    assert lines != (destdir / "text" / "valid.txt").read_text().splitlines()  # each split its own seed
    capsys.readouterr()
    assert prepare_mqar.main([*TINY, "--destdir", str(destdir)]) == 0
    assert "already holds" in capsys.readouterr().out
