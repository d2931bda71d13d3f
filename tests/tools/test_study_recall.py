"""scripts/studies/recall.py: the MQAR study's mechanics at a tiny budget (one arm, one width, two
learning rates): the sweep, the best rate continued, the test split scored by gap, resume, the page."""
import json
import subprocess
import sys

import pytest

from fmm_tools.paths import ROOT
from fmm_tools.studies import recall as recall_study


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    work = tmp_path_factory.mktemp("recall")
    command = [
        sys.executable, "scripts/studies/recall.py", "--save-root", str(work / "checkpoints"), "--out-root", str(work / "runs"),
        "--docs", str(work / "recall.md"), "--data-root", str(work / "data"), "--tasks", "16:2", "--widths", "32",
        "--vocab", "40", "--train-lines", "64", "--batch-size", "8", "--lrs", "0.001,0.003", "--sweep-updates", "2",
        "--updates", "4", "--warmup", "2", "--validate-every", "2", "--only", "fmm",
    ]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return work, again


def test_sweep_then_the_best_rate_continued_and_scored_by_gap(finished):
    work, _ = finished
    runs = json.loads((work / "recall.json").read_text())["runs"]
    assert sorted(runs) == ["sweep:T16:w32:fmm:lr0.001", "sweep:T16:w32:fmm:lr0.003", "train:T16:w32:fmm"]
    trained = runs["train:T16:w32:fmm"]
    swept = {lr: runs[f"sweep:T16:w32:fmm:lr{lr:g}"]["final_valid_accuracy"] for lr in (0.001, 0.003)}
    assert trained["lr"] == max(swept, key=lambda lr: (swept[lr], lr))
    assert [p["updates"] for p in trained["curve"]] == [2, 4] and trained["updates"] == 4
    assert 0 <= trained["test_accuracy"] <= 1 and trained["chance"] == pytest.approx(1 / 20)
    assert sum(b["queries"] for b in trained["test_buckets"]) == 2 * 1000  # 1,000 test lines, P = 2
    assert [(b["first"], b["last"]) for b in trained["test_buckets"]][0] == (0, 14)  # gaps 2..14: all inside the band
    assert trained["state_size"] == 2 * 20 * 32 + 1 * 2 * 32 * 33


def test_rerun_trains_nothing_and_the_page_has_the_tables(finished):
    work, again = finished
    assert again.returncode == 0 and "training" not in again.stdout
    page = (work / "recall.md").read_text()
    assert "| FMM default (band 20 + elu, elu_flip) | 3,392 |" in page and "Learning-rate sweep" in page
    assert "fmm-recall " in page and "--criterion answer_cross_entropy" in page
    assert (work / "recall_curves.png").stat().st_size > 1000


def test_state_size_of_the_designs():
    """The table's state sizes: softmax 2TW, band 2wW, far heads x maps x F x (d + 1), the Taylor map's F = 153 on 16 dims."""
    assert recall_study.ARMS["softmax"].state_size(256, 64) == 2 * 256 * 64
    assert recall_study.taylor_features(16) == 153
    assert recall_study.ARMS["band_state"].state_size(256, 128) == 2 * recall_study.FMM_STATE_BAND * 128
    assert recall_study.ARMS["fmm_taylor"].state_size(256, 128) == 2 * 20 * 128 + 4 * 153 * 33
    fmm = recall_study.ARMS["fmm"].state_size(256, 64)
    assert abs(recall_study.ARMS["band_state"].state_size(256, 64) - fmm) < 2 * 64  # equal to within one key


@pytest.mark.parametrize("arm", sorted(recall_study.ARMS))
def test_every_arm_parses_and_builds_as_fairseq_train_would(arm, tmp_path):
    """The study must not fail hours in on an option: each arm's command line parses and its model
    builds (on a dictionary of the study's size), with the FMM settings the arm names."""
    from fairseq import options, tasks

    budget = recall_study.Budget(str(tmp_path), [(64, 4)], [64], 512, 100, 32, [0.003], 8, 8, 4, 4)
    arguments = budget.train_arguments(recall_study.ARMS[arm], 64, 4, 64, 0.003, 8)
    data = tmp_path / "mqar-T64-P4-V512"
    data.mkdir()
    (data / "dict.txt").write_text("".join(f"w{i} 1\n" for i in range(512)))
    arguments[0] = str(data)
    args = options.parse_args_and_arch(options.get_training_parser(), arguments)
    model = tasks.setup_task(args).build_model(args)
    assert args.decoder_normalize_before and sum(p.numel() for p in model.parameters()) > 0
    layer = model.decoder.layers[0].self_attn
    if arm == "softmax":
        assert not hasattr(layer, "config")
    else:
        assert layer.config.bandwidth == recall_study.ARMS[arm].band and len(layer.config.feature_maps) == recall_study.ARMS[arm].maps
