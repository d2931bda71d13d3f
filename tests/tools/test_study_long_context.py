"""The long-context study at a tiny budget: every stage runs, resumes, and writes its page and records."""
import json

import pytest

from fmm_tools.data import prepare_code, prepare_recall
from fmm_tools.paths import BIN, ROOT
from fmm_tools.studies import long_context

TINY = "--decoder-layers 1 --decoder-embed-dim 16 --decoder-ffn-embed-dim 32 --decoder-input-dim 16 --decoder-output-dim 16 --decoder-attention-heads 2"


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    import subprocess

    work = tmp_path_factory.mktemp("long_context")
    lm = ROOT / "tests" / "data" / "tiny_lm"
    subprocess.run([str(BIN / "fairseq-preprocess"), "--only-source", "--trainpref", str(lm / "train.txt"), "--validpref",
                    str(lm / "valid.txt"), "--testpref", str(lm / "test.txt"), "--destdir", str(work / "docs"), "--workers", "1"],
                   check=True, capture_output=True)
    assert prepare_code.main(["--source-dir", str(ROOT / "tests" / "data" / "tiny_code"), "--destdir", str(work / "code"), "--workers", "1"]) == 0
    assert prepare_recall.main(["--length", "64", "--segments", "2", "--segment-length", "4", "--keys", "8", "--min-gap", "6",
                                "--max-gap", "40", "--train-lines", "32", "--valid-lines", "8",
                                "--test-lines", "8", "--destdir", str(work / "recall"), "--workers", "1"]) == 0
    return work


def study(corpora, *extra):
    work = corpora
    return long_context.main([
        "--docs", str(work / "page.md"), "--save-root", str(work / "checkpoints"), "--out-root", str(work / "runs"),
        "--recall-data", str(work / "recall"), "--code-data", str(work / "code"), "--docs-data", str(work / "docs"),
        "--model-size", TINY, "--recall-updates", "4", "--calibration-updates", "6", "--minutes", "0.1",
        "--extrapolation-updates", "3", "--eval-lengths", "32,64", "--long-tokens", "64", "--extrapolation-tokens", "32",
        "--tokens-per-update", "256", *extra,
    ])


def test_stages_write_records_and_page_and_resume(corpora):
    assert study(corpora, "--only", "band,fmm_split", "--stages", "recall,code,extrapolate") == 0  # code calibrates first
    records = json.loads((corpora / "page.json").read_text())
    runs = records["runs"]
    assert {"recall:band", "recall:fmm_split", "code:band:seed1", "code:fmm_split:seed1", "calibrate:code:band",
            "calibrate:code:fmm_split", "extrapolate:band_none", "extrapolate:fmm_split_none"} == set(runs)
    cost = runs["calibrate:code:fmm_split"]["seconds_per_update"]
    assert runs["code:fmm_split:seed1"]["updates_planned"] == max(1, round(0.1 * 60 / cost))  # equal calibrated time
    assert sum(row["queries"] for row in runs["recall:band"]["buckets"]) == 8 * 2 * 3
    position_buckets = runs["code:fmm_split:seed1"]["position_loss"]["buckets"]
    assert position_buckets[0]["first"] == 0 and position_buckets[-1]["last"] == 63
    assert set(runs["extrapolate:band_none"]["eval"]) == {"32", "64"}
    page = (corpora / "page.md").read_text()
    assert "## Recall probe (trained at 64 tokens" in page and "Python standard library sources" in page and "Trained at 32 tokens" in page
    assert "Loss by position (`fmm-position-loss`, test, nats) at 64 tokens" in page  # past the training length of 32
    losses = [round(row["loss"], 3) for row in runs["extrapolate:band_none"]["position_loss"]["buckets"]]
    assert "| band only, w = 20, positions: none | " + " | ".join(f"{loss:.3f}" for loss in losses) + " |" in page
    assert "fairseq-train " in page and ".venv" not in page and str(ROOT) not in page
    # finished runs are skipped; the page's command still names every arm recorded
    assert study(corpora, "--only", "band", "--stages", "recall") == 0
    assert json.loads((corpora / "page.json").read_text())["runs"]["recall:band"] == runs["recall:band"]
    assert "--only band,fmm_split\n" in (corpora / "page.md").read_text()
    # the seeds stage trains seed 2 of the close extrapolation pair, listed beside seed 1; the in-band
    # bias is budgeted as the band without it (TIMED_AS), with no calibration of its own
    assert study(corpora, "--only", "band_alibi", "--stages", "code,extrapolate,seeds") == 0
    runs = json.loads((corpora / "page.json").read_text())["runs"]
    assert runs["extrapolate:band_alibi_none:seed2"]["seed"] == 2 and runs["extrapolate:band_alibi_none"]["seed"] == 1
    assert runs["code:band_alibi:seed1"]["updates_planned"] == runs["code:band:seed1"]["updates_planned"]
    assert "calibrate:code:band_alibi" not in runs
    page = (corpora / "page.md").read_text()
    assert "| band only, w = 20, relative bias in the band, positions: none (seed 2) | " in page
    assert "--only band,band_alibi,fmm_split\n" in page
    before = page
    assert study(corpora, "--report-only") == 0
    assert (corpora / "page.md").read_text() == before


def test_band_of_equal_cost_interpolates_the_band_timings():
    costs = {"band": 1.0, f"band{long_context.BAND_PROBE}": 2.08, "fmm": 1.5}  # 0.01 s per unit of w
    assert long_context.band_of_equal_cost(costs) == 72  # 20 + 0.5 / 0.01 = 70, to a multiple of 4
    assert long_context.band_of_equal_cost({**costs, "fmm": 0.9}) == 20  # never below the band itself


def test_unknown_arm_is_named(capsys):
    with pytest.raises(SystemExit):
        long_context.main(["--only", "fmm,band21", "--report-only"])
    assert "unknown arm(s) band21" in capsys.readouterr().err
