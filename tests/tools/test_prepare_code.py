"""fmm-prepare-code: Python sources -> a fairseq LM corpus with identifiers whole, split by file."""
import json

import pytest

from fmm_tools.data import prepare_code
from fmm_tools.paths import ROOT

TINY = ROOT / "tests" / "data" / "tiny_code"


def test_tokens_keep_identifiers_whole_and_mark_indentation():
    source = 'def helper_3(path):\n    counter = Counter3()  # count "them all"\n    return counter.value\n'
    lines = list(prepare_code.code_lines(source))
    assert lines == [
        ["def", "helper_3", "(", "path", ")", ":"],
        ["<indent>", "counter", "=", "Counter3", "(", ")", "#", "count", '"', "them", "all", '"'],
        ["return", "counter", ".", "value"],
        ["<dedent>"],
    ]


def test_split_is_by_file_and_stable():
    assert prepare_code.assign_split("module_14.py") == "valid" and prepare_code.assign_split("module_38.py") == "test"
    assert prepare_code.assign_split("module_1.py") == "train"


def test_builds_a_binarised_corpus_and_skips_untokenisable_files(tmp_path):
    destdir = tmp_path / "code"
    assert prepare_code.main(["--source-dir", str(TINY), "--destdir", str(destdir), "--workers", "1"]) == 0
    record = json.loads((destdir / "corpus.json").read_text())
    assert record["skipped_files"] == 1  # broken.py
    assert {split: record["splits"][split]["files"] for split in ("train", "valid", "test")} == {"train": 37, "valid": 2, "test": 1}
    assert all((destdir / f"{split}.bin").stat().st_size > 0 for split in ("train", "valid", "test"))
    words = {line.split()[0] for line in (destdir / "dict.txt").read_text().splitlines()}
    assert {"Counter1", "helper_1", "<indent>", "<dedent>", "__init__"} <= words
    assert prepare_code.main(["--source-dir", str(TINY), "--destdir", str(destdir)]) == 0  # already there


def test_bad_source_dir_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        prepare_code.main(["--source-dir", str(tmp_path / "missing")])
    assert "--source-dir" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert prepare_code.main(["--source-dir", str(tmp_path / "empty"), "--destdir", str(tmp_path / "out")]) == 1
    assert "no .py files" in capsys.readouterr().err
