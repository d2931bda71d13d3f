"""fmm-prepare-long-docs: every example's label is its passage's class, the passage is where the manifest
says (past the offset, a window of its document), the preamble is from no class, splits share no document."""
import json
from collections import Counter

import pytest
import sentencepiece

from docs_tree import tiny_docs_and_tokenizer
from fmm_tools.data import prepare_long_docs
from fmm_tools.data.prepare_long_docs import group_of, split_of

OPTIONS = ["--classes", "alpha,beta", "--max-tokens", "160", "--min-offset", "60", "--max-offset", "100",
           "--passage-tokens", "40", "--min-passage", "20", "--examples", "24,6,12", "--workers", "1"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A documentation tree of 3 folders (alpha, beta: the classes; other: preambles only), 30 documents
    each of tiny_lm's lines, with tiny_lm's sentencepiece model and dictionary; the task built on it."""
    work = tmp_path_factory.mktemp("long_docs")
    tiny_docs_and_tokenizer(work, "lm")
    destdir = work / "topics"
    assert prepare_long_docs.main(["--docs-dir", str(work / "docs"), "--spm-dir", str(work / "lm"), "--destdir", str(destdir),
                                   *OPTIONS]) == 0
    return work, destdir


def test_examples_answer_what_the_manifest_says(built):
    work, destdir = built
    sp = sentencepiece.SentencePieceProcessor(model_file=str(destdir / "spm.model"))
    pieces = prepare_long_docs.tokenised(prepare_long_docs.tree_documents(work / "docs"), sp)
    documents = {}
    for split, count in (("train", 24), ("valid", 6), ("test", 12)):
        records = [json.loads(line) for line in (destdir / f"{split}.jsonl").read_text().splitlines()]
        assert len(records) == count and Counter(r["label"] for r in records) == {0: count // 2, 1: count // 2}
        for r in records:
            assert ["alpha", "beta"][r["label"]] == r["class"] == group_of(r["document"])
            assert 60 <= r["offset"] <= 100 and 20 <= r["length"] <= 40 and r["offset"] + r["length"] <= 160
            assert all(group_of(p) == "other" for p in r["preamble"])
            documents.setdefault(split, set()).update([r["document"], *r["preamble"]])
            assert all(split_of(p) == split for p in [r["document"], *r["preamble"]])
        # the binarised input holds the preamble, then exactly the passage's window of its document
        for r, line in zip(records, read_lines(destdir, split)):
            assert len(line) == r["offset"] + r["length"]
            assert line[r["offset"]:] == pieces[r["document"]][r["start"]:r["start"] + r["length"]]
    assert not (documents["train"] & documents["test"]) and not (documents["valid"] & documents["test"])


def read_lines(destdir, split):
    """The binarised input0 lines back as pieces (fairseq's dictionary, </s> dropped)."""
    from fairseq.data import Dictionary, data_utils

    dictionary = Dictionary.load(str(destdir / "input0" / "dict.txt"))
    dataset = data_utils.load_indexed_dataset(str(destdir / "input0" / split), dictionary)
    return [[dictionary[i] for i in dataset[k][:-1]] for k in range(len(dataset))]


def test_labels_are_the_classes_in_order(built):
    _, destdir = built
    assert [line.split()[0] for line in (destdir / "label" / "dict.txt").read_text().splitlines()] == ["alpha", "beta"]
    summary = json.loads((destdir / "long_docs.json").read_text())
    assert summary["chance"] == 0.5 and summary["examples"] == {"train": 24, "valid": 6, "test": 12}


@pytest.mark.parametrize("options, named", [
    (["--classes", "alpha"], "--classes alpha: need two or more"),
    (["--classes", "alpha,gamma"], "--classes: no folder gamma"),
    (["--min-offset", "120", "--max-offset", "100"], "--min-offset 120 / --max-offset 100"),
    (["--max-offset", "150"], "--max-offset 150 + --min-passage 20 does not fit --max-tokens 160"),
])
def test_impossible_settings_name_the_option(built, tmp_path, capsys, options, named):
    work, _ = built
    assert prepare_long_docs.main(["--docs-dir", str(work / "docs"), "--spm-dir", str(work / "lm"),
                                   "--destdir", str(tmp_path / "out"), *OPTIONS, *options]) == 1
    assert named in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_missing_tokenizer_is_named(built, tmp_path, capsys):
    work, _ = built
    assert prepare_long_docs.main(["--docs-dir", str(work / "docs"), "--spm-dir", str(tmp_path), "--destdir",
                                   str(tmp_path / "out"), *OPTIONS]) == 1
    assert f"--spm-dir {tmp_path} has no spm.model or dict.txt" in capsys.readouterr().err
