"""The GPU benchmark's dry run works on any machine (Triton's interpreter on CPU)."""
import importlib.util
import json
import subprocess
import sys

import pytest

from fmm_tools.paths import ROOT

# not importorskip: importing triton here, before the kernels' runtime chooses the interpreter,
# would break tests/attention/test_kernels.py in the same worker
pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton is not installed")


def test_benchmark_dry_run(tmp_path):
    """fmm_tools.bench.attention_gpu --dry-run: every method at tiny sizes on this machine, JSON and markdown written."""
    result = subprocess.run(
        [sys.executable, "-m", "fmm_tools.bench.attention_gpu", "--dry-run", "--output-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "bench_gpu.json").read_text())
    methods = {row["method"] for row in report["results"]}
    assert methods == {"sdpa_causal", "flex_sliding_window", "torch_path", "triton_band", "triton_separate", "triton_fused",
                       "triton_split"}
    assert all(row["status"] in ("ok", "skipped") for row in report["results"])
    for kernel in ("triton_fused", "triton_split"):
        assert any(row["status"] == "ok" and row["method"] == kernel for row in report["results"])
    assert "| method |" in (tmp_path / "bench_gpu.md").read_text()
