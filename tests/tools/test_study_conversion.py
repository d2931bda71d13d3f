"""scripts/studies/conversion.py: the conversion study's mechanics on the tiny committed corpora."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmm_tools.paths import BIN, ROOT
from fmm_tools.studies import conversion as conversion_study
TINY_LM = (
    "--decoder-layers 1 --decoder-embed-dim 32 --decoder-input-dim 32 --decoder-output-dim 32 "
    "--decoder-ffn-embed-dim 64 --decoder-attention-heads 2"
)
TINY_MT = (
    "--encoder-layers 1 --decoder-layers 1 --encoder-embed-dim 32 --decoder-embed-dim 32 --encoder-ffn-embed-dim 64 "
    "--decoder-ffn-embed-dim 64 --encoder-attention-heads 2 --decoder-attention-heads 2 --share-all-embeddings"
)


def run(*command):
    result = subprocess.run([str(part) for part in command], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def study(work: Path, *args):
    return subprocess.run(
        [sys.executable, "scripts/studies/conversion.py", "--data", str(work / "lm"),
         "--save-root", str(work / "checkpoints"), "--out-root", str(work / "runs"), "--docs", str(work / "conversion.md"),
         "--base-updates", "4", "--extra-updates", "2,3", "--transfer-updates", "1", "--validate-every", "2",
         "--tokens-per-sample", "64", "--long-tokens-per-sample", "128", "--tokens-per-update", "256",
         "--context-hours", "0.001", "--model-size", TINY_LM, "--translation-data", str(work / "mt"),
         "--translation-base", str(work / "mt_softmax" / "checkpoint_last.pt"), "--translation-extra-updates", "2",
         "--translation-model-size", TINY_MT, *args],
        cwd=ROOT, capture_output=True, text=True,
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Every stage, one arm each beside the softmax model, on the tiny LM and translation corpora."""
    work = tmp_path_factory.mktemp("conversion_study")
    corpus = ROOT / "tests" / "data" / "tiny_lm"
    run(BIN / "fairseq-preprocess", "--only-source", "--trainpref", corpus / "train.txt", "--validpref",
        corpus / "valid.txt", "--testpref", corpus / "test.txt", "--destdir", work / "lm", "--workers", "1")
    run(BIN / "fmm-prepare-translation", "--raw-dir", ROOT / "tests" / "data" / "tiny_mt",
        "--vocab-size", "300", "--destdir", work / "mt")
    run(BIN / "fairseq-train", work / "mt", "--task", "translation", "--arch", "transformer", *TINY_MT.split(),
        "--optimizer", "adam", "--lr", "0.003", "--max-tokens", "1024", "--max-update", "6", "--cpu", "--seed", "1",
        "--no-epoch-checkpoints", "--save-dir", work / "mt_softmax")
    result = study(work, "--only", "band20_transfer,band20_2048,mt_band20_ft")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work, result.stdout


def records(work: Path) -> dict:
    return json.loads((work / "conversion.json").read_text())["runs"]


def point(work: Path, arm: str, extra: int) -> dict:
    return records(work)[f"{arm}@{extra}"]


def test_lm_stage_scores_the_softmax_model_the_transfer_and_the_fine_tune(finished):
    work, _ = finished
    softmax = point(work, "softmax", 0)
    assert softmax["total_updates"] == 4 and "--arch transformer_lm" in softmax["command"]
    transfer, tuned = point(work, "band20_transfer", 1), point(work, "band20_transfer", 3)
    assert "--criterion fmm_attention_transfer" in transfer["command"]
    assert "--finetune-from-model" in tuned["command"] and "transfer/checkpoint_last.pt" in tuned["command"]
    assert "--max-update 2" in tuned["command"]  # 3 extra updates, 1 of them spent on the transfer
    assert tuned["total_updates"] == 4 + 3
    for value in (softmax, transfer, tuned):
        assert 1 < value["valid_ppl"] < 1e5 and 1 < value["test_ppl"] < 1e5
    assert not (work / "runs" / "fmm_scratch").exists() and not (work / "runs" / "band64").exists()


def test_context_stage_records_time_memory_and_both_lengths(finished):
    work, _ = finished
    result = records(work)["band20_2048"]
    assert "--max-target-positions 256" in result["command"]
    stop_hours = float(result["command"].split("--stop-time-hours ")[1].split()[0])
    assert stop_hours > 0.001  # the budget on top of the softmax checkpoint's own recorded training time
    # 3.6 s of fine-tuning on top of the softmax model's own training time, which fairseq carries over
    assert result["updates"] >= 2 and 0 < result["train_seconds"] < 60 and result["train_peak_mib"] > 100
    for key in ("valid_128", "test_128", "valid_256", "test_256"):
        assert 1 < result["scores"][key]["ppl"] < 1e5 and result["scores"][key]["peak_mib"] > 100


def test_translation_stage_scores_base_conversion_and_fine_tune(finished):
    work, _ = finished
    base = records(work)["mt_base"]
    converted, tuned = point(work, "mt_band20_ft", 0), point(work, "mt_band20_ft", 2)
    assert base["updates"] == 6
    assert "--arch fmmformer" in tuned["command"] and "--max-update 2" in tuned["command"]
    for value in (base["bleu"], converted["bleu"], tuned["bleu"]):
        assert 0 <= value <= 100


def test_report_and_rerun(finished):
    work, _ = finished
    docs = work / "conversion.md"
    report = docs.read_text()
    assert "| softmax transformer_lm | 0 | 4 |" in report
    assert "| converted, band 20, attention transfer first (1 of them) | 3 | 7 |" in report
    assert "Targets: not all of their runs have finished yet." in report
    assert "| softmax, fine-tuned at 2,048 | not run yet |" in report
    assert "| converted fmmformer (band 20 both sides), fine-tuned | 2 |" in report
    assert point(work, "band20_transfer", 2)["total_updates"] == 4 + 2
    docs.write_text(report + "\nMy reading.\n")
    again = study(work, "--only", "band20_transfer,band20_2048,mt_band20_ft")
    assert again.returncode == 0, again.stderr[-3000:]  # its checkpoints are past the first fine-tuning point
    assert "fine-tuning" not in again.stdout and "scoring" not in again.stdout
    assert "My reading." in docs.read_text()


def test_report_only_rewrites_the_page_from_its_records_alone(finished, tmp_path):
    work, _ = finished
    for name in ("conversion.md", "conversion.json"):
        shutil.copy(work / name, tmp_path / name)
    assert conversion_study.main(["--report-only", "--docs", str(tmp_path / "conversion.md")]) == 0
    page = (tmp_path / "conversion.md").read_text()
    assert page == (work / "conversion.md").read_text()
    assert str(BIN) not in page and "`fmm-convert " in page and ": `fairseq-train " in page


@pytest.mark.parametrize("args, message", [
    (["--extra-updates", "1", "--transfer-updates", "1"], "--transfer-updates must be fewer"),
    (["--only", "band21"], "unknown arm(s): band21"),
    (["--stages", "lm,speed"], "unknown stage(s): speed"),
    (["--extra-updates", "0,250"], "expected comma-separated positive integers, got '0,250'"),
    (["--stages", "translation"], "scripts/studies/translation.py --max-update 600` first"),
])
def test_bad_options_fail_before_anything_runs(tmp_path, capsys, args, message):
    paths = ["--data", str(tmp_path / "lm"), "--out-root", str(tmp_path / "runs"), "--save-root", str(tmp_path / "ck"),
             "--docs", str(tmp_path / "conversion.md"), "--translation-base", str(tmp_path / "missing.pt")]
    with pytest.raises(SystemExit) as stopped:
        conversion_study.main(paths + args)
    assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_schedule_lr_follows_fairseq_inverse_sqrt():
    schedule = ["--lr", "0.002", "--warmup-updates", "150"]
    assert conversion_study.schedule_lr(schedule, 150) == pytest.approx(0.002)
    assert conversion_study.schedule_lr(schedule, 2500) == pytest.approx(0.002 * (150 / 2500) ** 0.5)
    assert conversion_study.schedule_lr(schedule, 74) == pytest.approx(0.002 * 74 / 150)
