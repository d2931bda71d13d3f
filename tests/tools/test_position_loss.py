"""fmm-position-loss: fairseq-eval-lm's figure, split by position; fmm-recall on a trained model."""
import json
import re
import subprocess

import pytest

from fmm_tools.data import prepare_recall
from fmm_tools.eval import position_loss
from fmm_tools.paths import BIN, ROOT

CORPUS = ROOT / "tests" / "data" / "tiny_lm"
TINY_MODEL = [
    "--user-dir", "fmm_fairseq", "--task", "language_modeling", "--arch", "fmmformer_lm_tiny", "--fmm-bandwidth", "8",
    "--decoder-embed-dim", "32", "--decoder-ffn-embed-dim", "64", "--optimizer", "adam", "--lr", "0.003", "--cpu",
    "--no-progress-bar", "--seed", "1",
]


def run(tool, *args):
    result = subprocess.run([str(BIN / tool), *map(str, args)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    work = tmp_path_factory.mktemp("position_loss")
    run("fairseq-preprocess", "--only-source", "--trainpref", CORPUS / "train.txt", "--validpref", CORPUS / "valid.txt",
        "--testpref", CORPUS / "test.txt", "--destdir", work / "data", "--workers", "1")
    run("fairseq-train", work / "data", *TINY_MODEL, "--tokens-per-sample", "64", "--batch-size", "8", "--max-update", "8",
        "--save-dir", work / "lm")
    return work


@pytest.mark.parametrize("context_window", [0, 16])
def test_overall_figure_is_fairseq_eval_lm_s(lm, context_window):
    common = ["--gen-subset", "test", "--tokens-per-sample", "48", "--batch-size", "4", "--context-window", context_window, "--cpu"]
    eval_lm = run("fairseq-eval-lm", lm / "data", "--user-dir", "fmm_fairseq", "--path", lm / "lm" / "checkpoint_last.pt", *common)
    ours = run("fmm-position-loss", lm / "data", "--path", lm / "lm" / "checkpoint_last.pt", *common, "--output", lm / f"out{context_window}")
    want = re.search(r"Loss \(base 2\): ([\d.]+), Perplexity: ([\d.]+)", eval_lm.split("fairseq_cli.eval_lm")[-1]).groups()
    got = re.search(r"lm: Loss \(base 2\): ([\d.]+), Perplexity: ([\d.]+)", ours).groups()
    assert got[0] == want[0] and abs(float(got[1]) - float(want[1])) <= 0.011
    record = json.loads((lm / f"out{context_window}.json").read_text())["checkpoints"][0]
    evaluated = int(re.search(r"Evaluated ([\d,]+) tokens", eval_lm).group(1).replace(",", ""))
    assert record["tokens"] == evaluated == sum(row["tokens"] for row in record["buckets"])
    assert record["bandwidth"] == 8 and record["buckets"][-1]["last"] == 47  # with a context window, fewer new tokens per sample
    assert (lm / f"out{context_window}.png").stat().st_size > 0


def test_buckets_start_at_the_band_and_double():
    assert position_loss.bucket_edges(2048, 20) == [0, 20, 32, 64, 128, 256, 512, 1024, 2048]
    assert position_loss.bucket_edges(64, None) == [0, 16, 32, 64]


def test_recall_is_scored_at_every_query(lm):
    data = lm / "recall"
    assert prepare_recall.main(["--length", "64", "--segments", "2", "--segment-length", "4", "--keys", "8", "--min-gap", "6",
                                "--max-gap", "40", "--train-lines", "40",
                                "--valid-lines", "4", "--test-lines", "6", "--destdir", str(data), "--workers", "1"]) == 0
    run("fairseq-train", data, *TINY_MODEL, "--sample-break-mode", "eos", "--tokens-per-sample", "65", "--batch-size", "4",
        "--required-batch-size-multiple", "1",
        "--max-update", "4", "--save-dir", lm / "recall-lm")
    out = run("fmm-recall", data, "--path", lm / "recall-lm" / "checkpoint_last.pt", "--output", lm / "recall-out")
    record = json.loads((lm / "recall-out.json").read_text())
    assert sum(row["queries"] for row in record["checkpoints"][0]["buckets"]) == 6 * 2 * 3
    assert record["edges"][:2] == [0, 8] and "chance 0.125" in out
