"""scripts/bench/prefill.py --quick: the prompt through FMMAttention.step equals forward, and the
state it returns decodes on equal to forward (the benchmark checks what it times)."""
import json

from fmm_tools.bench import prefill


def test_quick_prefill_checks_equal_outputs(tmp_path):
    assert prefill.main(["--quick", "--backend", "torch", "--out-dir", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [row["length"] for row in results["rows"]] == [64, 128]
    for row in results["rows"]:
        assert row["forward_ms"] > 0 and row["prefill_ms"] > 0
        assert row["max_difference"] < 1e-5 and row["decode_difference"] < 1e-5 and row["decode_steps"] == 16
    assert "prefill / forward" in (tmp_path / "results.md").read_text()
