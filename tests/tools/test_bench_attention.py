"""scripts/bench/attention.py: a quick real run, budgets, option errors, reports, and the methods agreeing."""
import json
import subprocess
import sys
import time

import pytest
import torch

from fmm_attention.config import DEFAULT_EPS
from fmm_attention.far import mean_linear_attention
from fmm_attention.feature_maps import resolve_feature_maps
from fmm_attention.near import band_attention
from fmm_tools.bench import attention as bench
from fmm_tools.paths import ROOT


def run_bench(*args):
    return subprocess.run(
        [sys.executable, "scripts/bench/attention.py", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )


def statuses(out_dir):
    rows = json.loads((out_dir / "results.json").read_text())["rows"]
    return {(row["method"], row["length"]): row["status"] for row in rows}


def test_quick_run_measures_every_method_and_writes_reports(tmp_path):
    result = run_bench("--quick", "--out-dir", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    rows = {(row["method"], row["length"]): row for row in report["rows"]}
    assert set(rows) == {(method, n) for method in bench.METHODS for n in bench.QUICK_DEFAULTS["lengths"]}
    for (method, _), row in rows.items():
        not_installed = method == "fast_transformers" and not bench.fast_transformers_installed()
        assert row["status"] == ("not installed" if not_installed else "ok"), row
        if row["status"] == "ok":
            assert row["forward_ms"] > 0 and row["forward_backward_ms"] > 0, row
            assert row["peak_memory_mib"] is not None, row
    assert {"cpu", "cores_usable", "threads", "torch", "date"} <= set(report["machine"])
    markdown = (tmp_path / "results.md").read_text()
    assert "## forward+backward (ms)" in markdown and "## peak memory" in markdown
    for method in bench.METHODS:
        assert f"`{method}`" in markdown
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_over_time_budget_skips_longer_sequences_and_still_exits_0(tmp_path):
    result = run_bench("--quick", "--methods", "band,sdpa_causal", "--lengths", "64,128", "--time-budget", "0.05",
                       "--out-dir", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert statuses(tmp_path) == {
        ("band", 64): "over time budget", ("band", 128): "skipped: over time budget at N=64",
        ("sdpa_causal", 64): "over time budget", ("sdpa_causal", 128): "skipped: over time budget at N=64",
    }
    markdown = (tmp_path / "results.md").read_text()
    assert "| 64 | over time | over time |" in markdown and "| 128 | skipped | skipped |" in markdown


@pytest.mark.parametrize("code, time_budget_s, memory_budget_gib, expected", [
    ("import time; time.sleep(60)", 0.5, 4, "over time budget"),
    ("import time; memory = bytearray(600 * 2**20); time.sleep(60)", 60, 0.25, "over memory budget"),
    ("raise ValueError('broken input')", 60, 4, "failed: ValueError: broken input"),
    ("print('{\"forward_ms\": 1.5}')", 60, 4, "ok"),
])
def test_run_worker_kills_over_budget_and_reports_failures(code, time_budget_s, memory_budget_gib, expected):
    start = time.monotonic()
    status, measured = bench.run_worker([sys.executable, "-c", code], time_budget_s, memory_budget_gib * 2**30)
    assert status == expected
    assert measured == ({"forward_ms": 1.5} if expected == "ok" else None)
    assert time.monotonic() - start < 30  # killed, not waited for


def test_bad_option_fails_before_anything_runs(tmp_path):
    result = run_bench("--methods", "fmm,flash", "--out-dir", tmp_path / "out")
    assert result.returncode == 2
    assert "unknown method(s) 'flash'; choose from fairseq_mha" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["--lengths", "1024,0"], "argument --lengths: expected comma-separated positive integers, got '1024,0'"),
    (["--lengths", "1k"], "argument --lengths: expected comma-separated positive integers, got '1k'"),
    (["--heads", "-2"], "argument --heads: expected a positive integer, got '-2'"),
    (["--worker", "--methods", "fmm,band", "--lengths", "64"], "--worker measures exactly one method at one length"),
])
def test_bad_options_name_the_problem(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_markdown_report_tables_ratios_and_growth():
    args = bench.parse_args(["--methods", "sdpa_causal,seed_dense,fmm", "--lengths", "1024,2048,8192"])
    measured = {("fmm", 1024): 10.0, ("fmm", 2048): 20.0, ("fmm", 8192): 88.0, ("sdpa_causal", 1024): 5.0,
                ("sdpa_causal", 2048): 30.0, ("seed_dense", 1024): 30.0}
    other = {("sdpa_causal", 8192): "over time budget", ("seed_dense", 2048): "failed: RuntimeError: out of memory",
             ("seed_dense", 8192): "skipped: failed at N=2048"}
    rows = [dict(method=m, length=n, status="ok", forward_ms=t / 2, forward_backward_ms=t, peak_memory_mib=1.0)
            for (m, n), t in measured.items()]
    rows += [dict(method=m, length=n, status=s, forward_ms=None, forward_backward_ms=None, peak_memory_mib=None)
             for (m, n), s in other.items()]
    machine = dict(cpu="test cpu", cores_usable=2, threads=2, torch="2.13.0", date="today")
    markdown = bench.markdown_report(args, machine, rows)
    assert "| 8192 | over time | skipped | 88.0 |" in markdown
    assert "| 2048 | 30.0 | failed | 20.0 |" in markdown
    assert "- N=1024: sdpa_causal/fmm 0.50x, seed_dense/fmm 3.00x" in markdown
    assert "- N=2048: sdpa_causal/fmm 1.50x, seed_dense/fmm n/a" in markdown
    assert "1024->2048 x2.00, 2048->8192 x2.10" in markdown
    assert "- seed_dense N=2048: failed: RuntimeError: out of memory" in markdown
    assert "| N | sdpa_causal | fmm |" in markdown  # GFLOP/s only where the operations are counted
    sdpa_gflops = 3.5 * 2 * 1024 * 1024 * 64 * 8 / 5.0 / 1e6  # 3.5 x the causal half of q k^T and p v, in 5 ms
    assert f"| 1024 | {bench.format_number(sdpa_gflops)} |" in markdown


@pytest.mark.parametrize("method", ["fmm", "band", "linear", "bmm"])
@pytest.mark.parametrize("length", [30, 100, 1100])  # shorter than a chunk, a ragged last chunk, two blocks of chunks
def test_matrix_product_flops_are_what_torch_counts(method, length):
    """The GFLOP/s table's operation counts equal FlopCounterMode's count of the matrix products run."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    _, attend = bench.build_method(method, length, 2, 8)
    grad_output = torch.randn_like(attend())
    with FlopCounterMode(display=False) as forward:
        attend()
    with FlopCounterMode(display=False) as forward_backward:
        attend().backward(grad_output)
    counted = (forward.get_total_flops(), forward_backward.get_total_flops())
    assert bench.matrix_product_flops(method, length, 2, 8) == counted


def attend_with(method, length=150, heads=2, head_dim=16):
    """Output and input gradients of one benchmarked method on the inputs every method draws from seed 0."""
    torch.manual_seed(0)
    leaves, attend = bench.build_method(method, length, heads, head_dim)
    out = attend()
    grad_output = torch.randn_like(out)
    return out, torch.autograd.grad(out, leaves, grad_output)


def test_seed_dense_computes_what_fmm_computes():
    out, grads = attend_with("fmm")
    dense_out, dense_grads = attend_with("seed_dense")
    torch.testing.assert_close(dense_out, out, atol=1e-5, rtol=1e-4)
    for dense_grad, grad in zip(dense_grads, grads):
        torch.testing.assert_close(dense_grad, grad, atol=1e-4, rtol=1e-4)


def test_fast_transformers_fields_match_ours():
    pytest.importorskip("fast_transformers")
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 3, 150, 16, requires_grad=True) for _ in range(3))
    maps = resolve_feature_maps(bench.FEATURE_MAP_NAMES)
    ours = mean_linear_attention(q, k, v, maps, causal=True)
    theirs = bench.fast_transformers_linear_field(q, k, v, eps=DEFAULT_EPS)
    torch.testing.assert_close(theirs, ours, atol=1e-5, rtol=1e-4)
    ours_band = band_attention(q, k, v, bench.BANDWIDTH, causal=True)
    torch.testing.assert_close(bench.fast_transformers_band(q, k, v, bench.BANDWIDTH), ours_band, atol=1e-5, rtol=1e-4)

    out, grads = attend_with("fmm")
    peer_out, peer_grads = attend_with("fast_transformers")
    torch.testing.assert_close(peer_out, out, atol=1e-5, rtol=1e-4)
    for peer_grad, grad in zip(peer_grads, grads):
        torch.testing.assert_close(peer_grad, grad, atol=1e-4, rtol=1e-4)
