"""scripts/studies/lra.py: the ListOps study's mechanics on the tiny committed LRA-format corpus."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmm_tools.paths import BIN, ROOT
from fmm_tools.studies import lra as lra_study
from fmm_tools.studies.skeleton import train_command


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """Two stage-1 runs of 4 updates on tests/data/tiny_listops; then a rerun that must skip them."""
    work = tmp_path_factory.mktemp("lra")
    subprocess.run(
        [str(BIN / "fmm-prepare-listops"), "--raw-dir", "tests/data/tiny_listops", "--destdir", str(work / "data"), "--workers", "1"],
        cwd=ROOT, check=True, capture_output=True,
    )
    command = [
        sys.executable, "scripts/studies/lra.py", "--data", str(work / "data"), "--save-root", str(work / "checkpoints"),
        "--out-root", str(work / "runs"), "--docs", str(work / "lra.md"), "--max-update", "4", "--batch-size", "8",
        "--warmup", "2", "--validate-every", "2", "--only", "softmax,fmm2",
    ]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return work, first.stdout, again


def records(work: Path) -> dict:
    return json.loads((work / "lra.json").read_text())["runs"]


def test_runs_write_accuracy_curve_and_timing(finished):
    work, _, _ = finished
    for name in ("softmax_seed1", "fmm2_seed1"):
        result = records(work)[name]
        assert result["updates"] == 4 and [p["updates"] for p in result["curve"]] == [2, 4]
        assert 0 <= result["test_accuracy"] <= 100 and result["test_examples"] == 60
        assert result["seconds_per_update"] > 0 and "--fmm-bandwidth" in result["command"]


def test_report_has_the_table_baselines_and_commands(finished):
    work, _, _ = finished
    report = (work / "lra.md").read_text()
    fmm2 = records(work)["fmm2_seed1"]
    assert f"| FMM: band 5 + elu, elu_flip | 1 | {fmm2['test_accuracy']:.2f} |" in report
    assert "| majority class of the test split |" in report and "| Transformer (LRA paper), published" in report
    assert "fairseq-validate " in report and "--required-batch-size-multiple 1" in report
    assert (work / "lra_curves.png").stat().st_size > 1000


def test_report_only_rewrites_the_page_from_its_records_alone(finished, tmp_path):
    """Only the page and its .json, the data and checkpoints gone: --report-only with every option at its
    default writes the same page (data facts and settings recorded), commands as a reader types them."""
    work, _, _ = finished
    for name in ("lra.md", "lra.json"):
        shutil.copy(work / name, tmp_path / name)
    lra_study.main(["--report-only", "--docs", str(tmp_path / "lra.md"), "--data", str(tmp_path / "no-data")])
    page = (tmp_path / "lra.md").read_text()
    assert page == (work / "lra.md").read_text()
    assert str(BIN) not in page and "`fairseq-train " in page and "    fairseq-validate " in page
    assert "400 / 60 / 60 examples" in page  # the data's facts, recorded when it was built
    assert not (tmp_path / "no-data").exists()


def test_finished_runs_are_skipped_when_run_again(finished):
    work, _, again = finished
    assert again.returncode == 0 and "training" not in again.stdout


def test_best_fmm_is_chosen_by_valid_accuracy_not_test():
    results = {
        "fmm1_seed1": {"variant": "fmm1", "best_valid_accuracy": 30.0, "test_accuracy": 40.0},
        "fmm2_seed1": {"variant": "fmm2", "best_valid_accuracy": 35.0, "test_accuracy": 20.0},
        "softmax_seed1": {"variant": "softmax", "best_valid_accuracy": 50.0, "test_accuracy": 50.0},
    }
    assert lra_study.best_fmm(results) == "fmm2"


@pytest.mark.parametrize("argv, message", [
    (["--min-length", "300", "--max-length", "301"], "--max-length (301) must exceed --min-length (300) by at least 2"),
    (["--parallel", "0"], "argument --parallel: expected a positive integer, got '0'"),
    (["--only", "softmax,quadratic"], "unknown variant(s) quadratic"),
])
def test_bad_options_stop_before_any_work(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit):
        lra_study.main(["--data", str(tmp_path / "missing"), *argv])
    assert message in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_investigations_override_the_schedule_after_it():
    budget = lra_study.Budget("data", 100, 8, 0.001, 10, 50)
    best = lra_study.BY_NAME["fmm2_near1"]
    first, faster = lra_study.investigations(best, budget)
    assert (first.name, faster.name) == ("fmm2_near1_first", "fmm2_near1_lr2x")
    command = train_command(lra_study.study_run(faster, 1, budget, "investigate"), Path("save"))
    assert command.index("0.002") > command.index("0.001")  # fairseq keeps the last --lr
    assert first.attention == best.attention and "--classification-pooling" in train_command(
        lra_study.study_run(first, 1, budget, "investigate"), Path("save"))
