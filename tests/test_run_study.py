"""scripts/run_study.py: the perplexity study's mechanics on the tiny committed corpus."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import run_study  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "tiny_lm"
BIN = Path(sys.executable).parent
TINY_MODEL = (
    "--decoder-layers 1 --decoder-embed-dim 32 --decoder-input-dim 32 --decoder-output-dim 32 "
    "--decoder-ffn-embed-dim 64 --decoder-attention-heads 2"
)


def study(work: Path, *args):
    command = [
        sys.executable, str(ROOT / "scripts" / "run_study.py"), "--data", str(work / "data-bin"),
        "--save-root", str(work / "checkpoints"), "--out-root", str(work / "runs"), "--docs", str(work / "results.md"),
        "--max-update", "4", "--validate-every", "2", "--wall-clock-hours", "0.0003", "--tokens-per-update", "256",
        "--tokens-per-sample", "128", "--long-tokens-per-sample", "256", "--model-size", TINY_MODEL, *args,
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Two runs of the study (one equal-update, one equal-wall-clock) on the tiny corpus."""
    work = tmp_path_factory.mktemp("study")
    subprocess.run(
        [str(BIN / "fairseq-preprocess"), "--only-source", "--trainpref", CORPUS / "train.txt", "--validpref",
         CORPUS / "valid.txt", "--testpref", CORPUS / "test.txt", "--destdir", work / "data-bin", "--workers", "1"],
        check=True, capture_output=True,
    )
    result = study(work, "--only", "fmm2,softmax_long")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return work, result.stdout


def test_finished_runs_write_scores_curve_and_report(finished):
    work, _ = finished
    for name, long_context in (("fmm2", False), ("softmax_long", True)):
        result = json.loads((work / "runs" / name / "result.json").read_text())
        assert result["long_context"] is long_context
        for key in ("valid_ppl", "test_ppl", "valid_ppl_window96", "test_ppl_window96") if not long_context else (
            "valid_ppl", "test_ppl", "valid_ppl_window192", "test_ppl_window192"
        ):
            assert 1 < result[key] < 1e5, (name, key, result[key])
        assert result["curve"] and all(point["valid_ppl"] > 1 for point in result["curve"])
    fmm2 = json.loads((work / "runs" / "fmm2" / "result.json").read_text())
    assert fmm2["updates"] == 4 and [point["updates"] for point in fmm2["curve"]] == [2, 4]
    report = (work / "results.md").read_text()
    assert "| FMM: band 20 + elu, elu_flip | 128 | 4 |" in report
    assert "| linear | not run yet |" in report
    evaluation = next(line for line in report.splitlines() if "fairseq-eval-lm " in line and "--path" in line)
    assert f"--path {work / 'checkpoints' / 'fmm2' / 'checkpoint_best.pt'}" in evaluation, evaluation
    assert "--user-dir fmm_fairseq --" in evaluation and "--gen-subset SUBSET" in evaluation
    assert (work / "results_curves.png").stat().st_size > 10_000


def test_wall_clock_run_stops_on_its_time_budget(finished):
    work, _ = finished
    result = json.loads((work / "runs" / "softmax_long" / "result.json").read_text())
    assert "--stop-time-hours 0.0003" in result["command"]
    assert result["training_hours"] >= 0.0003


def test_rerun_skips_finished_runs_and_keeps_notes(finished):
    work, _ = finished
    docs = work / "results.md"
    docs.write_text(docs.read_text() + "\nMy reading of the figures.\n")
    result = study(work, "--only", "fmm2,softmax_long")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "[fmm2] already finished" in result.stdout and "training" not in result.stdout
    assert "My reading of the figures." in docs.read_text()


def test_unknown_run_fails_before_training(tmp_path):
    result = study(tmp_path, "--only", "fmm2,fmm9")
    assert result.returncode == 2
    assert "unknown run(s) fmm9" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_valid_curve_reads_every_validation_once_across_resumes():
    line = '2026-01-01 00:00:00 | INFO | valid | {{"epoch": 1, "valid_ppl": "{ppl}", "valid_num_updates": "{n}"}}'
    log = "\n".join([line.format(ppl=900.5, n=100), line.format(ppl=400.0, n=200), "resumed", line.format(ppl=401.0, n=200)])
    assert run_study.valid_curve(log) == [{"updates": 100, "valid_ppl": 900.5}, {"updates": 200, "valid_ppl": 401.0}]
