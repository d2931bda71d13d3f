"""The long-context study at a tiny budget: every stage runs, resumes, and writes its page and records."""
import json
import math

import numpy
import pytest

from fmm_tools.data import prepare_code, prepare_recall
from fmm_tools.paths import BIN, ROOT
from fmm_tools.studies import long_context, skeleton
from fmm_tools.studies.fairseq_output import valid_curve
from fmm_tools.studies.skeleton import Records

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


def crossover_study(corpora, *extra):
    """The crossover stage at a tiny budget (60 updates, validation every 20), with its own page and folders."""
    work = corpora / "crossover"
    return long_context.main([
        "--docs", str(work / "page.md"), "--save-root", str(work / "checkpoints"), "--out-root", str(work / "runs"),
        "--code-data", str(corpora / "code"), "--docs-data", str(corpora / "docs"), "--model-size", TINY,
        "--long-tokens", "64", "--tokens-per-update", "256", "--crossover-updates", "60", "--validate-every", "20", *extra,
    ])


def stop_early(work, name, updates):
    """What a study stopped at update ``updates`` leaves of run ``name``: its checkpoints and train log,
    made by the run's own command (the recorded settings) with that --max-update."""
    records = Records(work / "page.md")
    records.settings = {**records.settings, "arms": [name.split(":")[2]]}
    run = next(run for run in long_context.runs(records) if run.name == name)
    command = skeleton.train_command(run, work / "checkpoints" / long_context.run_directory(name))
    command[command.index("--max-update") + 1] = str(updates)
    skeleton.run_measured(command, work / "runs" / long_context.run_directory(name) / "train.log", threads=1)


def train_log(work, name):
    return (work / "runs" / long_context.run_directory(name) / "train.log").read_text()


def row(updates, *cells):
    return f"| {updates:,} | " + " | ".join(cells) + " |"


def test_crossover_stage_resumes_a_stopped_run_and_its_page_shows_the_records(corpora):
    work = corpora / "crossover"
    band_runs = [f"crossover:{corpus}:band_alibi:seed{seed}" for seed in (1, 2) for corpus in ("docs", "code")]
    stopped = "crossover:docs:fmm_long:seed1"
    assert crossover_study(corpora, "--stages", "crossover", "--only", "band_alibi") == 0
    band_records = {name: json.loads((work / "page.json").read_text())["runs"][name] for name in band_runs}
    assert [band_records[name]["updates"] for name in band_runs] == [60] * 4
    stop_early(work, stopped, 40)

    # a stopped run: on the page, marked partial, as far as its train log goes
    assert crossover_study(corpora, "--report-only") == 0
    records = json.loads((work / "page.json").read_text())
    progress = records["facts"]["crossover_progress"]
    assert set(progress) == {stopped} and progress[stopped]["updates"] == 40
    assert progress[stopped]["curve"] == valid_curve(train_log(work, stopped))
    page = (work / "page.md").read_text()
    assert "**Partial**: 1 of 5 runs started not finished yet" in page
    assert "| docs | fmmformer_lm_long | 1 | 40 | **partial** (of 60) |" in page
    fmm = {p["updates"]: p["valid_ppl"] for p in progress[stopped]["curve"]}
    band = {p["updates"]: p["valid_ppl"] for p in records["runs"]["crossover:docs:band_alibi:seed1"]["curve"]}
    assert row(20, f"{band[20]:.2f}", f"{fmm[20]:.2f}", f"{fmm[20] / band[20]:.3f}") in page

    # the next invocation skips the finished runs and resumes the stopped one from its checkpoint
    assert crossover_study(corpora, "--stages", "crossover", "--only", "band_alibi,fmm_long") == 0
    records = json.loads((work / "page.json").read_text())
    runs = records["runs"]
    assert {name for name in runs if name.startswith("crossover:")} == set(band_runs) | {
        f"crossover:{corpus}:fmm_long:seed{seed}" for seed in (1, 2) for corpus in ("docs", "code")}
    assert {name: runs[name] for name in band_runs} == band_records
    assert all(train_log(work, name).count("\n$ ") == 1 for name in band_runs)
    log = train_log(work, stopped)
    assert log.count("\n$ ") == 2 and "@ 40 updates)" in log  # fairseq's "Loaded checkpoint ... (epoch N @ 40 updates)"
    assert runs[stopped]["updates"] == 60 and runs[stopped]["curve"] == valid_curve(log)
    assert {20, 40, 60} <= {p["updates"] for p in runs[stopped]["curve"]}
    assert records["facts"]["crossover_progress"] == {}

    # the page: every figure from the records
    page = (work / "page.md").read_text()
    assert "**Partial**" not in page and "| docs | fmmformer_lm_long | 1 | 60 | finished |" in page
    assert "--crossover-updates 60 --validate-every 20 --parallel 2 --only band_alibi,fmm_long\n" in page
    docs = page.split("### Linux documentation", 1)[1].split("### Python", 1)[0]
    cells = []
    for seed in (1, 2):
        fmm_run, band_run = runs[f"crossover:docs:fmm_long:seed{seed}"], runs[f"crossover:docs:band_alibi:seed{seed}"]
        fmm = {p["updates"]: p["valid_ppl"] for p in fmm_run["curve"]}
        band = {p["updates"]: p["valid_ppl"] for p in band_run["curve"]}
        # at equal time: band's log perplexity interpolated at the seconds fmm_long trained for 20 updates
        seconds, band_seconds = 20 * fmm_run["seconds_per_update"], [u * band_run["seconds_per_update"] for u in sorted(band)]
        band_then = math.exp(numpy.interp(seconds, band_seconds, [math.log(band[u]) for u in sorted(band)]))
        equal_time = f"{fmm[20] / band_then:.3f}" if band_seconds[0] <= seconds <= band_seconds[-1] else ""
        cells += [f"{band[20]:.2f}", f"{fmm[20]:.2f}", f"{fmm[20] / band[20]:.3f}", equal_time]
        assert f"seed {seed}: " in docs and f"{fmm[60] / band[60]:.3f} at 60" in docs.split("Crossover: ", 1)[1].split("\n")[0]
        test_ratio = fmm_run["test"]["ppl"] / band_run["test"]["ppl"]
        deltas = [own["loss"] - base["loss"] for own, base in
                  zip(fmm_run["position_loss"]["buckets"], band_run["position_loss"]["buckets"])]
        best = min(fmm, key=fmm.get)
        assert (f"| fmmformer_lm_long | {seed} | 60 | {best} | {fmm_run['train_peak_mib']:,} | {fmm_run['valid']['ppl']:.2f} | "
                f"{fmm_run['test']['ppl']:.2f} | {test_ratio:.3f} | " + " | ".join(f"{d:+.3f}" for d in deltas) + " |") in docs
    assert row(20, *cells) in docs
    tests = {arm: [runs[f"crossover:docs:{arm}:seed{seed}"]["test"]["ppl"] for seed in (1, 2)] for arm in ("fmm_long", "band_alibi")}
    assert f"**{sum(tests['fmm_long']) / sum(tests['band_alibi']):.3f}×**" in page
    for corpus in ("docs", "code"):
        assert f"(page_crossover_{corpus}.png)" in page and (work / f"page_crossover_{corpus}.png").stat().st_size > 0
    assert f"- `{stopped}`: `{runs[stopped]['command']}`" in page and "--max-update 60 " in runs[stopped]["command"]
    before = (page, (work / "page.json").read_text())
    assert crossover_study(corpora, "--report-only") == 0
    assert ((work / "page.md").read_text(), (work / "page.json").read_text()) == before


def test_crossover_runs_in_the_order_of_the_first_signal_with_their_arguments(tmp_path):
    declared = [run for run in long_context.runs(Records(tmp_path / "page.md")) if run.stage == "crossover"]  # default budget
    pairs = [f"crossover:{corpus}:{arm}:seed{seed}" for seed in (1, 2) for corpus in ("docs", "code") for arm in ("band_alibi", "fmm_long")]
    ceiling = [f"crossover:{corpus}:softmax:seed{seed}" for seed in (1, 2) for corpus in ("docs", "code")]
    assert [run.name for run in declared] == pairs + ceiling
    for run in declared:
        train = [str(word) for word in run.train]
        assert train[0] == ("data-bin/linux-doc" if ":docs:" in run.name else "data-bin/python-stdlib")
        assert [skeleton.last_value(train, option) for option in (
            "--max-update", "--tokens-per-sample", "--batch-size", "--validate-interval-updates", "--save-interval-updates")] == \
            ["5000", "2048", "2", "250", "250"]
        assert run.seed == int(run.name[-1]) and run.facts["updates_planned"] == 5000
    assert {run.name.split(":")[2]: skeleton.last_value([str(word) for word in run.train], "--arch") for run in declared} == {
        "band_alibi": "fmmformer_lm", "fmm_long": "fmmformer_lm_long", "softmax": "transformer_lm"}


def model_config(train):
    """The model configuration fairseq-train builds from a command's arguments."""
    from fairseq import options
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    args = options.parse_args_and_arch(options.get_training_parser(), input_args=[str(word) for word in train])
    return OmegaConf.to_container(convert_namespace_to_omegaconf(args).model, resolve=True)


def test_crossover_arms_differ_from_fmmformer_lm_long_in_attention_only(tmp_path):
    declared = {run.name: run for run in long_context.runs(Records(tmp_path / "page.md"))}
    fmm, band, softmax = (model_config(declared[f"crossover:docs:{arm}:seed1"].train) for arm in ("fmm_long", "band_alibi", "softmax"))
    # base_shuffle: fairseq's BASE layers, which none of them has
    assert {key for key in fmm.keys() | band.keys() if fmm.get(key) != band.get(key)} == {
        "_name", "base_shuffle", "fmm_feature_maps", "fmm_far_outside_band", "fmm_far_horizons", "fmm_learn_far_weight"}
    assert fmm["base_layers"] == band["base_layers"] == 0
    assert band["fmm_feature_maps"] == "none" and band["fmm_near_alibi"] and fmm["fmm_near_alibi"]
    assert fmm["no_token_positional_embeddings"] and fmm["decoder_normalize_before"]  # what fmmformer_lm_long sets
    assert {key for key in softmax if softmax[key] != band[key]} == {"_name"}


def test_crossing_is_where_the_ratio_stays_below_one_or_where_its_fitted_line_gets_there():
    assert long_context.crossing({250: 1.02, 500: 0.99, 750: 1.01, 1000: 0.98, 1250: 0.97}) == 1000
    assert long_context.crossing({250: 0.99, 500: 1.01}) is None
    falling = {u: 1 + 0.02 * math.log(8000 / u) for u in (1000, 1500, 2000, 2500, 3000)}  # 1 at 8,000
    assert long_context.extrapolated_crossing({250: 5.0, **falling}) == pytest.approx(8000)  # 250: before the last half
    assert long_context.extrapolated_crossing({u: 2 - r for u, r in falling.items()}) is None  # rising
    assert long_context.extrapolated_crossing({u: 1 + 0.002 * math.log(10 ** 6 / u) for u in falling}) is None  # 1 past 10x
    reading = long_context.crossover_reading({1: {250: 1.02, 500: 0.99}, 2: {250: 0.98, 500: 0.97, 750: 0.99}})
    assert reading.startswith("crossover for both seeds at update **500**")
    assert long_context.crossover_reading({1: falling, 2: {250: 0.98}}).startswith("crossover for both seeds extrapolated at ≈ **8,000**")


def test_ratio_at_equal_time_interpolates_band_in_log_perplexity():
    band = {"seconds_per_update": 1.0, "curve": [{"updates": 100, "valid_ppl": 200.0}, {"updates": 200, "valid_ppl": 100.0}]}
    fmm = {"seconds_per_update": 1.5, "curve": [{"updates": 100, "valid_ppl": 150.0}, {"updates": 200, "valid_ppl": 90.0}]}
    # 150 s: halfway between band's 100 s and 200 s in log perplexity; 300 s: past band's curve
    assert long_context.ratio_at_equal_time(fmm, band) == {100: pytest.approx(150 / math.sqrt(200 * 100))}
    assert long_context.ratio_at_equal_time(fmm, {**band, "seconds_per_update": None}) == {}
