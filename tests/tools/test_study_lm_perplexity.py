"""scripts/studies/lm_perplexity.py: the perplexity study's mechanics on the tiny committed corpus."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmm_tools.paths import BIN, ROOT
from fmm_tools.studies import fairseq_output
from fmm_tools.studies import lm_perplexity as study_module
from fmm_tools.studies.skeleton import Records, train_command

CORPUS = ROOT / "tests" / "data" / "tiny_lm"
TINY_MODEL = (
    "--decoder-layers 1 --decoder-embed-dim 32 --decoder-input-dim 32 --decoder-output-dim 32 "
    "--decoder-ffn-embed-dim 64 --decoder-attention-heads 2"
)


def study(work: Path, *args):
    command = [
        sys.executable, "scripts/studies/lm_perplexity.py", "--data", str(work / "data-bin"),
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


def records(work: Path) -> dict:
    return json.loads((work / "results.json").read_text())["runs"]


def test_finished_runs_write_scores_curve_and_report(finished):
    work, _ = finished
    for name, long_context in (("fmm2", False), ("softmax_long", True)):
        result = records(work)[name]
        assert result["long_context"] is long_context
        for key in ("valid_ppl", "test_ppl", "valid_ppl_window96", "test_ppl_window96") if not long_context else (
            "valid_ppl", "test_ppl", "valid_ppl_window192", "test_ppl_window192"
        ):
            assert 1 < result[key] < 1e5, (name, key, result[key])
        assert result["curve"] and all(point["valid_ppl"] > 1 for point in result["curve"])
    fmm2 = records(work)["fmm2"]
    assert fmm2["updates"] == 4 and [point["updates"] for point in fmm2["curve"]] == [2, 4]
    report = (work / "results.md").read_text()
    assert "| FMM: band 20 + elu, elu_flip (near weight from 0) | 128 | 4 |" in report
    assert "| linear | not run yet |" in report
    evaluation = next(line for line in report.splitlines() if "fairseq-eval-lm " in line and "--path" in line)
    assert f"--path {work / 'checkpoints' / 'fmm2' / 'checkpoint_best.pt'}" in evaluation, evaluation
    assert "--user-dir fmm_fairseq --" in evaluation and "--gen-subset SUBSET" in evaluation
    assert (work / "results_curves.png").stat().st_size > 10_000


def test_wall_clock_run_stops_on_its_time_budget(finished):
    work, _ = finished
    result = records(work)["softmax_long"]
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


def test_report_only_rewrites_the_page_from_its_records_alone(finished, tmp_path):
    """The page and its .json copied elsewhere: --report-only with every option at its default (not the
    study's) writes the same page, from the recorded settings; commands quoted as a reader types them."""
    work, _ = finished
    for name in ("results.md", "results.json"):
        shutil.copy(work / name, tmp_path / name)
    result = subprocess.run([sys.executable, "scripts/studies/lm_perplexity.py", "--report-only", "--docs",
                             str(tmp_path / "results.md")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    page = (tmp_path / "results.md").read_text()
    assert page == (work / "results.md").read_text()
    assert str(BIN) not in page and "- `fmm2`: `fairseq-train " in page and "    fairseq-eval-lm " in page
    assert "python scripts/studies/lm_perplexity.py --max-update 4 " in page


def test_unknown_run_fails_before_training(tmp_path):
    result = study(tmp_path, "--only", "fmm2,fmm9")
    assert result.returncode == 2
    assert "unknown run(s) fmm9" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_valid_curve_reads_every_validation_once_across_resumes():
    line = '2026-01-01 00:00:00 | INFO | valid | {{"epoch": 1, "valid_ppl": "{ppl}", "valid_num_updates": "{n}"}}'
    log = "\n".join([line.format(ppl=900.5, n=100), line.format(ppl=400.0, n=200), "resumed", line.format(ppl=401.0, n=200)])
    assert fairseq_output.valid_curve(log) == [{"updates": 100, "valid_ppl": 900.5}, {"updates": 200, "valid_ppl": 401.0}]


def test_seeded_runs_train_each_variant_once_per_seed_with_its_init():
    variants = study_module.seeded_variants([2, 3], list(study_module.SEED_VARIANTS))
    assert [v.name for v in variants] == [f"{v}_seed{s}" for s in (2, 3) for v in study_module.SEED_VARIANTS]
    budget = study_module.Budget(800, 0.5, 100)
    runs = [study_module.study_run(variant, budget) for variant in variants]
    commands = {run.name: train_command(run, Path("SAVE")) for run in runs}
    for name, command in commands.items():
        assert command[command.index("--seed") + 1] == name[-1] and command.count("--seed") == 1
    assert commands["fmm2_seed2"][commands["fmm2_seed2"].index("--fmm-near-init") + 1] == "0"
    assert commands["fmm2_near1_seed3"][commands["fmm2_near1_seed3"].index("--fmm-near-init") + 1] == "1"
    assert "--fmm-near-init" not in commands["softmax_seed2"] and "--arch" in commands["softmax_seed2"]


def test_seeds_report_gives_mean_spread_ratios_and_the_paired_init_comparison(tmp_path):
    valid = {"softmax": (100.0, 110.0), "fmm2": (104.0, 110.0), "fmm2_near1": (96.0, 115.5)}
    results = {
        f"{variant}_seed{seed}": {
            "seed": seed, "valid_ppl": valid[variant][seed - 1], "test_ppl": valid[variant][seed - 1] + 10,
            "curve": [{"updates": 100, "valid_ppl": 2 * valid[variant][seed - 1]},
                      {"updates": 200, "valid_ppl": valid[variant][seed - 1]}],
        }
        for variant in valid for seed in (1, 2)
    }
    records = Records(tmp_path / "seeds.md")
    records.settings, records.runs = vars(study_module.Budget(200, 0.5, 100)), results
    report = "\n".join(study_module.seeds_report(records))
    # mean ± sample sd over the two seeds; ratio = mean over seeds of variant / softmax of the same seed
    assert "| softmax (transformer_lm) | 100.00 | 110.00 | 105.00 ± 7.07 | 115.00 ± 7.07 | 1.000 |" in report
    assert "| FMM 2 maps, near weight starts at 1 | 96.00 | 115.50 | 105.75 ± 13.79 | 115.75 ± 13.79 | 1.005 |" in report
    assert "| near init 1 / near init 0 | 0.923 | 1.050 | 0.987 |" in report
    assert "Near init 1 is lower on 1 of 2 seed(s)." in report
    assert "| FMM: band 20 + elu, elu_flip (near weight from 0) | 214.00 | 107.00 |" in report  # mean curve at 100 and 200 updates
    assert "band only" not in report


@pytest.mark.parametrize("args,message", [
    (["--seeds", "1,1"], "distinct"), (["--seeds", "1,x"], "comma-separated integers"),
    (["--seeds", "1,2", "--only", "linear"], "unknown run(s) linear"),
    (["--parallel", "0"], "argument --parallel: expected a positive integer, got '0'"),
])
def test_bad_seeds_options_fail_before_training(tmp_path, args, message):
    result = study(tmp_path, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()
