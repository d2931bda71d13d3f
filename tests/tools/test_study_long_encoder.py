"""The long-encoder study at a tiny budget: pretrain at 32 tokens, extend to 128 (copy and random),
continue, classify; every stage writes its records and page, and a rerun resumes."""
import json

import pytest

from docs_tree import tiny_docs_and_tokenizer
from fmm_tools.data import prepare_long_docs
from fmm_tools.paths import ROOT
from fmm_tools.studies import long_encoder

TINY = "--encoder-layers 1 --encoder-embed-dim 16 --encoder-ffn-embed-dim 32 --encoder-attention-heads 2"


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    work = tmp_path_factory.mktemp("long_encoder")
    tiny_docs_and_tokenizer(work, "mlm")
    assert prepare_long_docs.main(["--docs-dir", str(work / "docs"), "--spm-dir", str(work / "mlm"), "--destdir", str(work / "topics"),
                                   "--classes", "alpha,beta", "--max-tokens", "126", "--min-offset", "40", "--max-offset", "80",
                                   "--passage-tokens", "40", "--min-passage", "20", "--examples", "16,8,8", "--workers", "1"]) == 0
    return work


def study(work, *extra):
    return long_encoder.main([
        "--docs", str(work / "page.md"), "--save-root", str(work / "checkpoints"), "--out-root", str(work / "runs"),
        "--mlm-data", str(work / "mlm"), "--topics-data", str(work / "topics"), "--model-size", TINY,
        "--pretrain-updates", "4", "--continue-updates", "2", "--classify-updates", "4", "--cost-updates", "4",
        "--short", "32", "--long", "128", "--tokens-per-update", "256", "--classify-batch", "4", "--bandwidth", "8", *extra,
    ])


def test_stages_write_records_and_page_and_resume(corpora):
    assert study(corpora) == 0
    runs = json.loads((corpora / "page.json").read_text())["runs"]
    assert set(runs) == {"pretrain", "convert:copy", "convert:random", "continue:copy", "continue:random", "cost:softmax4096",
                         "classify:softmax512", "classify:fmm4096", "classify:fmm4096_mean"}
    assert set(runs["pretrain"]["valid"]) == {"32"} and set(runs["continue:copy"]["valid"]) == {"32", "128"}
    assert "--position-init copy" in runs["convert:copy"]["convert_command"]
    # copied positions: within 32 tokens the converted model is the pretrained one restricted to the band; random ones are
    # never read there, so both conversions give the same loss at 32 and differ at 128
    assert runs["convert:copy"]["valid"]["32"]["loss"] == runs["convert:random"]["valid"]["32"]["loss"]
    assert runs["convert:copy"]["valid"]["128"]["loss"] != runs["convert:random"]["valid"]["128"]["loss"]
    classified = runs["classify:fmm4096"]
    assert classified["examples"] == 8 and classified["chance"] == 0.5 and 0 <= classified["accuracy"] <= 1
    assert "--max-positions 128" in classified["command"] and "--max-positions 32" in runs["classify:softmax512"]["command"]
    assert "--classification-pooling mean" in runs["classify:fmm4096_mean"]["command"]
    page = (corpora / "page.md").read_text()
    assert "## Masked LM: 32 -> 128 tokens" in page and "## Long-document classification" in page
    assert "fairseq-train " in page and "fmm-convert " in page and ".venv" not in page and str(ROOT) not in page
    assert study(corpora) == 0  # every run is recorded: nothing trains again
    assert json.loads((corpora / "page.json").read_text())["runs"] == runs
    before = page
    assert study(corpora, "--report-only") == 0 and (corpora / "page.md").read_text() == before
