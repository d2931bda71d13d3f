"""ListOps (fmm_tools.data.listops, fmm-prepare-listops): answers checked by an
independent evaluator of LRA's parenthesised form, lengths, determinism, the TSV round trip, and
bad rows refused with their file and line before anything is written."""
import json
import statistics
import subprocess

import pytest

from fmm_tools.data import listops
from fmm_tools.paths import BIN, ROOT


def lra_value(source: str) -> int:
    """Evaluates LRA's TSV form as its generator builds it: each node a (left, right) pair in
    parentheses, (op, a1) -> unsaturated function, (f, a) -> one more argument, (f, ']') -> apply."""
    tokens = source.split()
    position = 0

    def term():
        nonlocal position
        token = tokens[position]
        position += 1
        if token != "(":
            return token if token.startswith("[") or token == "]" else int(token)
        left, right = term(), term()
        assert tokens[position] == ")"
        position += 1
        if isinstance(left, str):
            return (left, [right])
        if right == "]":
            op, args = left
            return {"[MIN": min, "[MAX": max, "[MED": lambda a: int(statistics.median(a)), "[SM": lambda a: sum(a) % 10}[op](args)
        return (left[0], left[1] + [right])

    value = term()
    assert position == len(tokens)
    return value


@pytest.fixture(scope="module")
def examples():
    return list(listops.generate_examples(60, seed=3, min_length=30, max_length=400))


def test_generated_answers_agree_with_an_independent_evaluator(examples):
    for text, value in examples:
        assert lra_value(listops.with_parentheses(text.split())) == value
        assert listops.evaluate(text.split()) == value


def test_lengths_are_strictly_within_bounds_and_examples_distinct(examples):
    lengths = [len(text.split()) for text, _ in examples]
    assert all(30 < length < 400 for length in lengths)
    assert len({text for text, _ in examples}) == len(examples)
    tokens = {token for text, _ in examples for token in text.split()}
    assert tokens <= set(listops.VOCABULARY) and set(listops.OPERATORS) <= tokens


def test_default_bounds_are_lras():
    text, value = next(listops.generate_examples(1, seed=0))
    assert 500 < len(text.split()) < 2000 and 0 <= value <= 9
    depth = deepest = 0
    for token in text.split():
        depth += token in listops.OPERATORS
        depth -= token == "]"
        deepest = max(deepest, depth)
    assert deepest <= 9  # the root is at depth 1 and a node at depth 10 is a digit: at most 9 operators deep


def test_generation_is_deterministic_in_the_seed():
    first = list(listops.generate_examples(5, seed=11, min_length=20, max_length=200))
    assert first == list(listops.generate_examples(5, seed=11, min_length=20, max_length=200))
    assert first != list(listops.generate_examples(5, seed=12, min_length=20, max_length=200))


def test_operators_follow_lra():
    assert listops.apply_operator("[MED", [2, 5]) == 3 and listops.apply_operator("[MED", [1, 9, 4]) == 4
    assert listops.apply_operator("[SM", [7, 8, 9]) == 4
    assert listops.apply_operator("[MIN", [3, 1, 2]) == 1 and listops.apply_operator("[MAX", [3, 1, 2]) == 3


def test_tsv_round_trip_in_lras_format(tmp_path, examples):
    path = tmp_path / "basic_test.tsv"
    assert listops.write_tsv(path, examples) == len(examples)
    lines = path.read_text().splitlines()
    assert lines[0] == "Source\tTarget" and lines[1].startswith("( ")
    assert listops.read_tsv(path) == examples


def test_impossible_settings_stop_instead_of_looping():
    with pytest.raises(listops.ListOpsError, match="no new expression"):
        list(listops.generate_examples(10**6, seed=0, min_length=1, max_length=6, max_depth=2, max_args=2))


def run_script(*args):
    return subprocess.run([str(BIN / "fmm-prepare-listops"), *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "row,message",
    [
        ("( ( ( [MAX 2 ) 9 ) ] )\t7", "the target is 7 but the expression evaluates to 9"),
        ("( ( ( [MAX 2 ) 9 ) ] )", "expected 2 tab-separated fields"),
        ("( ( ( [MAX 2 ) x ) ] )\t9", "'x' is not a ListOps token"),
        ("( ( [MAX 2 ) 9 )\t9", "never closed"),
        ("( ( ( [MAX 2 ) 9 ) ] )\tnine", "is not an integer"),
    ],
)
def test_a_malformed_row_names_its_file_and_line_before_anything_is_written(tmp_path, row, message):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = "Source\tTarget\n( ( ( [MIN 2 ) 9 ) ] )\t2\n"
    (raw / "basic_train.tsv").write_text(good)
    (raw / "basic_val.tsv").write_text(good + "( ( ( [SM 4 ) 9 ) ] )\t3\n" + row + "\n")
    (raw / "basic_test.tsv").write_text(good)
    result = run_script("--raw-dir", raw, "--destdir", tmp_path / "out", "--workers", "1")
    assert result.returncode == 1
    assert f"{raw / 'basic_val.tsv'}:4: " in result.stderr and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_a_wrong_header_is_refused(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("basic_train.tsv", "basic_val.tsv", "basic_test.tsv"):
        (raw / name).write_text("Input\tLabel\n( ( ( [MIN 2 ) 9 ) ] )\t2\n")
    result = run_script("--raw-dir", raw, "--destdir", tmp_path / "out", "--workers", "1")
    assert result.returncode == 1 and "basic_train.tsv:1: expected the header" in result.stderr


def test_script_generates_raw_tsvs_and_the_sentence_prediction_layout(tmp_path):
    from fairseq.data import Dictionary, data_utils

    out = tmp_path / "listops"
    options = ["--destdir", out, "--train-size", "40", "--valid-size", "5", "--test-size", "5", "--min-length", "20",
               "--max-length", "120", "--seed", "4", "--workers", "1"]
    result = run_script(*options)
    assert result.returncode == 0, result.stderr
    assert "data ready" in result.stdout
    record = json.loads((out / "listops.json").read_text())
    assert record["examples"] == {"train": 40, "valid": 5, "test": 5} and record["settings"]["seed"] == 4
    train = listops.read_tsv(out / "raw" / "basic_train.tsv")
    assert train == list(listops.generate_examples(40, seed=4, min_length=20, max_length=120))
    dictionary = Dictionary.load(str(out / "input0" / "dict.txt"))
    labels = Dictionary.load(str(out / "label" / "dict.txt"))
    inputs = data_utils.load_indexed_dataset(str(out / "input0" / "train"), dictionary)
    targets = data_utils.load_indexed_dataset(str(out / "label" / "train"), labels)
    assert len(inputs) == len(targets) == 40
    for index in (0, 39):
        assert dictionary.string(inputs[index]) == train[index][0]
        assert labels.string(targets[index]) == str(train[index][1])
    again = run_script(*options)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_outer_operator_prior_answers_each_operators_most_frequent_training_label():
    train = [("[MAX 1 9 ]", 9), ("[MAX 2 9 ]", 9), ("[MAX 4 3 ]", 4), ("[MIN 3 4 ]", 3), ("5", 5)]
    evaluated = [("[MAX 3 4 ]", 4), ("[MAX [MIN 9 9 ] 0 ]", 9), ("[MIN 0 7 ]", 0), ("[MIN 3 8 ]", 3), ("[SM 1 2 ]", 3)]
    # guesses: [MAX -> 9 (right once), [MIN -> 3 (right once), [SM never seen in train (wrong)
    assert listops.outer_operator_prior(train, evaluated) == 2 / 5
