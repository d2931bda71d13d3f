"""scripts/bench/train.py and scripts/bench/decode.py: --quick runs end to end, bad options, and what
the measurements rest on (the words/s formula, the run watchdog, bounded FMM decoding state).
No timing is asserted beyond being positive."""
import json
import subprocess
import sys

import pytest

from fmm_tools.bench import common as benchmarking
from fmm_tools.bench import decode as bench_decode
from fmm_tools.bench import train as bench_train
from fmm_tools.paths import ROOT

ARCHS = ("transformer_lm", "fmmformer_lm")
ATTENTION = {"transformer_lm": "MultiheadAttention", "fmmformer_lm": "FMMMultiheadAttention"}


def start(script, *args):
    return subprocess.Popen([sys.executable, f"scripts/bench/{script}", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """Both benchmarks with --quick, side by side (one thread each); {script: (out_dir, stdout + stderr)}."""
    out = {name: tmp_path_factory.mktemp(name) for name in ("train", "decode")}
    processes = {name: start(f"{name}.py", "--quick", "--threads", 1, "--out-dir", out[name]) for name in out}
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"{name} --quick failed:\n{stdout[-3000:]}\n{stderr[-3000:]}"
        results[name] = (out[name], stdout + stderr)
    return results


def check_outputs(out_dir, key, lengths):
    results = json.loads((out_dir / "results.json").read_text())
    rows = {(row["arch"], row[key]): row for row in results["rows"]}
    assert set(rows) == {(arch, length) for arch in ARCHS for length in lengths}
    assert all(row["status"] == "ok" for row in rows.values()), [row["status"] for row in rows.values()]
    assert results["machine"]["cores_usable"] >= 1 and results["machine"]["torch"]
    table = (out_dir / "results.md").read_text()
    assert all(f"| {length:,} |" in table for length in lengths)
    assert (out_dir / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return rows


def test_bench_train_quick_measures_every_arch_and_length(quick_runs):
    out_dir, _ = quick_runs["train"]
    rows = check_outputs(out_dir, "tokens_per_sample", [32, 64])
    for (arch, length), row in rows.items():
        assert row["words_per_second"] > 0 and row["words_per_second_by_arrival"] > 0
        assert row["peak_rss_mib"] > 50  # a python + torch + fairseq process
        assert row["self_attention"] == ATTENTION[arch]
        assert row["batch_size"] * length == 128 and row["updates_logged"] == 3 and row["timed_updates"] == 2
        assert f"--tokens-per-sample {length} " in row["command"] and "--decoder-input-dim 32" in row["command"]
    assert len({row["parameters"] for row in rows.values()}) == 2  # same size up to the FMM blend weights
    assert abs(rows[("fmmformer_lm", 32)]["parameters"] / rows[("transformer_lm", 32)]["parameters"] - 1) < 0.01


def test_bench_decode_quick_measures_every_arch_and_length(quick_runs):
    out_dir, _ = quick_runs["decode"]
    rows = check_outputs(out_dir, "prefix_length", [16, 32])
    for (arch, _), row in rows.items():
        assert row["ms_per_token"] > 0 and row["state_mib"] > 0 and row["rss_growth_mib"] >= 0
        assert row["self_attention"] == ATTENTION[arch]
    assert rows[("transformer_lm", 32)]["state_bytes"] == 2 * rows[("transformer_lm", 16)]["state_bytes"]
    assert rows[("fmmformer_lm", 32)]["state_bytes"] == rows[("fmmformer_lm", 16)]["state_bytes"]  # bandwidth 8 < 16


@pytest.mark.parametrize("script, args, message", [
    ("train.py", ["--lengths", "512,abc"], "expected comma-separated positive integers, got '512,abc'"),
    ("train.py", ["--lengths", "512,1000"], "--tokens-per-update 8192 is not a multiple of tokens per sample [1000]"),
    ("train.py", ["--updates", "2"], "--updates 2 leaves no timed update after --warmup-updates 2"),
    ("train.py", ["--warmup-updates", "0"], "--warmup-updates must be >= 1"),
    ("train.py", ["--data", "no/such/dir"], "no dict.txt there"),
    ("train.py", ["--arch-args=--decoder-layerz 3"], "not a model option of transformer_lm: --decoder-layerz 3"),
    ("decode.py", ["--timed-steps", "0"], "expected a positive integer, got '0'"),
    ("decode.py", ["--lengths", "256,272"], "prefix lengths [(256, 272)] are closer than --timed-steps 32"),
    ("decode.py", ["--fmm-args=--fmm-bandwidth -1"], "invalid FMM option --fmm-bandwidth"),
])
def test_bad_options_stop_before_running_anything(tmp_path, script, args, message):
    out_dir = tmp_path / "out"
    process = start(script, *args, "--out-dir", out_dir)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stdout + stderr
    assert message in stderr and "error:" in stderr, stderr
    assert not out_dir.exists()


def test_words_per_second_is_total_words_over_total_time():
    records = [{"wpb": 100.0, "wps": 0.0}, {"wpb": 100.0, "wps": 50.0}, {"wpb": 300.0, "wps": 100.0}]
    assert bench_train.words_per_second(records, warmup=1) == pytest.approx(400 / (2 + 3))
    assert bench_train.words_per_second_by_arrival(records, [0.0, 2.0, 5.0], warmup=1) == pytest.approx(400 / 5)
    assert bench_train.words_per_second(records, warmup=3) is None


@pytest.mark.parametrize("program, limits, status", [
    ("import time; time.sleep(60)", dict(time_budget=1.0, memory_limit_mib=10_000), "over time budget"),
    ("import time; x = bytearray(400 * 2**20); time.sleep(60)", dict(time_budget=30.0, memory_limit_mib=200), "over memory limit"),
    ("import sys; sys.exit(3)", dict(time_budget=30.0, memory_limit_mib=10_000), "failed (exit code 3)"),
])
def test_a_run_over_its_limits_is_killed_and_recorded(program, limits, status):
    outcome = bench_train.run_training([sys.executable, "-c", program], threads=1, **limits)
    assert outcome.status == status
    assert outcome.wall_seconds < 20 and outcome.peak_rss_mib > 0
    if status == "over memory limit":
        assert outcome.peak_rss_mib > 200


def test_fmm_decoding_state_is_bounded_while_transformer_state_grows():
    lengths, state = [8, 16, 32], {}
    for arch in ARCHS:
        options = benchmarking.model_options(arch, "", "--fmm-bandwidth 4", defaults=benchmarking.QUICK_MODEL_ARGS)
        model = bench_decode.build_lm(arch, options, vocab=50, max_positions=40)
        rows = bench_decode.measure_decoding(model, lengths, timed_steps=2, batch=2, vocab=50)
        state[arch] = [row["state_bytes"] for row in rows]
    layers, dim, batch, float_bytes = 2, 32, 2, 4
    assert state["transformer_lm"] == [2 * layers * batch * n * dim * float_bytes for n in lengths]  # keys + values
    # FMM (w = 4, two maps, heads of 16): the band's 3 keys/values plus [S | z] per map, whatever the prefix
    heads, head_dim, maps = 2, 16, 2
    sums = layers * batch * heads * (3 * 2 * head_dim + maps * head_dim * (head_dim + 1)) * float_bytes
    assert state["fmmformer_lm"] == [sums, sums, sums]
