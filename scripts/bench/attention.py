#!/usr/bin/env python
"""CPU attention scaling: forward and forward+backward time and peak memory against sequence length N.

    python scripts/bench/attention.py                                     # every method, N = 1k..64k
    python scripts/bench/attention.py --lengths 1024,2048 --methods sdpa_causal,fmm,seed_dense
    python scripts/bench/attention.py --quick --out-dir /tmp/bench        # tiny sizes: checks the script runs

One attention layer, batch 1, fp32, --heads x --head-dim (default 8 x 64), causal. Every
(method, N) runs in its own worker process (this module with --worker; it imports no fairseq). It first runs the method
once at N <= 64, measuring nothing (thread pools, lazily loaded kernels), then prints one JSON line:
  forward_ms          median of --repeats no-grad forwards, after one warm-up forward
  forward_backward_ms median of --repeats o.backward(g) with a fixed random g, after one warm-up
  peak_memory_mib     the worker's peak resident memory (VmHWM) minus its resident memory once the
                      inputs exist, i.e. what the attention itself needs, forward+backward included
Dense N x N masks (fairseq_mha, fast_transformers) are built once during the warm-up and cached,
as fairseq's decoder caches its future mask: they count in peak memory, not in time.
A worker that runs past --time-budget seconds or --memory-budget GiB of resident memory is killed;
after that, or a failure, the method's larger N are skipped. Writes results.json, results.md and plot.png to --out-dir.
"""
import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F

from fmm_attention import FMMConfig, compiled, fmm_attention
from fmm_attention.config import DEFAULT_EPS
from fmm_attention.chunking import CHUNKS_PER_BLOCK
from fmm_attention.feature_maps import apply_feature_map, resolve_feature_maps
from fmm_attention.naive import dense_fmm_attention
from fmm_tools.bench.common import machine_info as common_machine_info
from fmm_tools.bench.common import process_memory_kib, usable_cores
from fmm_tools.cli_types import positive_float, positive_int, positive_ints
from fmm_tools.paths import ROOT
from fmm_tools.plotting import pyplot

BANDWIDTH = 20
FEATURE_MAP_NAMES = ("elu", "elu_flip")
FIELDS = {  # the FMM methods' fields: both, near only, far only
    "fmm": dict(bandwidth=BANDWIDTH, feature_maps=FEATURE_MAP_NAMES),
    "band": dict(bandwidth=BANDWIDTH, feature_maps=()),
    "linear": dict(bandwidth=0, feature_maps=FEATURE_MAP_NAMES),
}
FMM_SETTINGS = {  # FMMConfig fields of the methods computed by this package: the torch path and the compiled kernels
    "seed_dense": dict(FIELDS["fmm"], backend="torch"),
    **{name: dict(fields, backend="torch") for name, fields in FIELDS.items()},
    **{f"{name}_compiled": dict(fields, backend="compiled") for name, fields in FIELDS.items()},
}
NEAR_WEIGHT, FAR_WEIGHT = 0.5, 1.0
FAST_TRANSFORMERS_MASK_FILL = -1e24  # the finite "minus infinity" fast-transformers itself uses
START_UP_LENGTH = 64  # a worker first runs its method once at this N, measuring nothing
CHUNK = 64  # FMMConfig's default chunk_size, which the fmm methods use
COUNTED_METHODS = ("sdpa_causal", "fmm", "band", "linear", "fmm_compiled", "band_compiled", "linear_compiled", "bmm")
FMM_METHODS = ("fmm", "fmm_compiled")  # the rows of the time ratios

METHODS = {
    "fairseq_mha": "fairseq.modules.MultiheadAttention(self_attention=True) on N x 1 x (heads*head_dim) input, "
    "causal through a dense N x N float -inf attn_mask as fairseq's decoder builds it; includes the q/k/v "
    "and output projections (and their weight gradients), which the other methods do not",
    "sdpa_causal": "torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True) on (1, H, N, d): "
    "exact causal softmax, O(N^2) work, whichever CPU kernel torch picks",
    "seed_dense": f"the seed paper's released formulation (fmm_attention.naive.dense_fmm_attention): "
    f"band of {BANDWIDTH} keys as a dense masked N x N softmax plus dense causal linear attention (N x N kernel) "
    f"for elu and elu_flip, blended: O(N^2) time and memory",
    "fmm": f"fmm_attention.fmm_attention, torch backend: band of {BANDWIDTH} keys by chunks plus chunked "
    f"causal linear attention for elu and elu_flip, blended with per-channel weights: O(N) time and memory",
    "band": f"near field only: fmm_attention with bandwidth {BANDWIDTH} and no feature maps",
    "linear": "far field only: fmm_attention with bandwidth 0 and maps elu, elu_flip",
    "fmm_compiled": "fmm with backend 'compiled': the band and the causal far field by the C++ CPU kernels "
    "(fmm_attention/csrc; the far field in its recurrent form, no chunk products)",
    "band_compiled": "band with backend 'compiled'",
    "linear_compiled": "linear with backend 'compiled'",
    "fast_transformers": f"pytorch-fast-transformers doing fmm's work: causal_dot_product (its CPU kernel) once per "
    f"map (elu, elu_flip) with the same sum-normalised features and denominators, plus local_dot_product / "
    f"local_weighted_average with local_context {2 * BANDWIDTH - 1}. Its local window is centred, so causality "
    f"needs a dense N x N additive mask (built once, cached): not linear memory. fp32 only; inputs passed "
    f"contiguous, as its own attention layers do",
    "bmm": f"torch.bmm of the far field's typical product: (H*N/{CHUNK}) pairs of ({CHUNK} x d) @ (d x (d+1)) fp32 "
    f"matrices, and its two gradient products backward; the rate a plain batched matmul reaches on this machine "
    f"(the roofline column of the GFLOP/s table), not an attention",
}
FULL_DEFAULTS = dict(lengths=(1024, 2048, 4096, 8192, 16384, 32768, 65536), heads=8, head_dim=64, repeats=3,
                     threads=usable_cores(), time_budget=120.0, memory_budget=16.0)
# One length: a worker's start-up (python + torch import, ~3 s on 2 busy cores) dominates the test suite's time.
QUICK_DEFAULTS = dict(lengths=(64,), heads=2, head_dim=16, repeats=1, threads=1, time_budget=30.0, memory_budget=2.0)
SHORT_STATUS = {"over time budget": "over time", "over memory budget": "over memory", "not installed": "not installed"}


def comma_list_of_methods(text: str):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in METHODS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {', '.join(map(repr, unknown)) or '(none given)'}; choose from {', '.join(METHODS)}"
        )
    return tuple(names)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    full, quick = FULL_DEFAULTS, QUICK_DEFAULTS
    parser.add_argument("--methods", type=comma_list_of_methods, default=tuple(METHODS),
                        help=f"comma-separated among {', '.join(METHODS)} (default: all)")
    parser.add_argument("--lengths", type=positive_ints,
                        help=f"comma-separated N (default {','.join(map(str, full['lengths']))}, --quick "
                        f"{','.join(map(str, quick['lengths']))})")
    parser.add_argument("--heads", type=positive_int, help=f"default {full['heads']} (--quick {quick['heads']})")
    parser.add_argument("--head-dim", type=positive_int,
                        help=f"default {full['head_dim']} (--quick {quick['head_dim']})")
    parser.add_argument("--repeats", type=positive_int,
                        help=f"timed runs after the warm-up; the median is kept (default {full['repeats']}, "
                        f"--quick {quick['repeats']})")
    parser.add_argument("--threads", type=positive_int,
                        help=f"torch threads per worker (default: every core this process may use, here "
                        f"{full['threads']}; --quick {quick['threads']})")
    parser.add_argument("--time-budget", type=positive_float,
                        help=f"seconds per (method, N) worker, start-up included (default {full['time_budget']:g}, "
                        f"--quick {quick['time_budget']:g})")
    parser.add_argument("--memory-budget", type=positive_float,
                        help=f"GiB of resident memory per worker, interpreter and torch included "
                        f"(default {full['memory_budget']:g}, --quick {quick['memory_budget']:g})")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "runs" / "bench_attention",
                        help="where results.json, results.md and plot.png go (default runs/bench_attention)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and budgets, for the tests")
    parser.add_argument("--worker", action="store_true",
                        help="internal: measure the one --methods entry at the one --lengths entry, print JSON")
    args = parser.parse_args(argv)
    for name, value in (QUICK_DEFAULTS if args.quick else FULL_DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.worker and (len(args.methods) != 1 or len(args.lengths) != 1):
        parser.error("--worker measures exactly one method at one length")
    return args


# ---------------------------------------------------------------- worker side: what is measured


@lru_cache(maxsize=None)
def future_mask(length: int, fill: float) -> torch.Tensor:
    """(N, N) float: 0 on and below the diagonal, ``fill`` above (fairseq's decoder mask with -inf)."""
    return torch.full((length, length), fill).triu(1)


def fast_transformers_linear_field(q, k, v, eps: float):
    """Our far field, mean over elu and elu_flip of causal linear attention, by fast-transformers' kernel.

    phi is sum-normalised as ours; numerator phi(q_i) . sum_{j<=i} phi(k_j) v_j^T from
    causal_dot_product, denominator phi(q_i) . sum_{j<=i} phi(k_j) + eps as CausalLinearAttention's.
    """
    from fast_transformers.causal_product import causal_dot_product

    fields = []
    for phi in resolve_feature_maps(FEATURE_MAP_NAMES):
        phi_q = apply_feature_map(phi, q, normalize=True).contiguous()
        phi_k = apply_feature_map(phi, k, normalize=True).contiguous()
        numerator = causal_dot_product(phi_q, phi_k, v.contiguous())
        denominator = (phi_q * phi_k.cumsum(dim=2)).sum(dim=-1, keepdim=True) + eps
        fields.append(numerator / denominator)
    return sum(fields) / len(fields)


def fast_transformers_band(q, k, v, bandwidth: int):
    """Causal band softmax over keys i-w < j <= i by local_dot_product and local_weighted_average.

    Its window is centred (local_context 2w-1 covers i-w+1 .. i+w-1); the future half is removed by
    the dense N x N additive mask it reads, the only way it offers to be causal.
    """
    from fast_transformers.local_product import local_dot_product, local_weighted_average

    batch, _, length, head_dim = q.shape
    key_lengths = torch.full((batch,), length, dtype=torch.int64)
    mask = future_mask(length, FAST_TRANSFORMERS_MASK_FILL)
    scores = local_dot_product(q.contiguous(), k.contiguous(), mask, key_lengths, 2 * bandwidth - 1)
    weights = torch.softmax(scores * head_dim ** -0.5, dim=-1)
    return local_weighted_average(weights, v.contiguous())


def fast_transformers_fmm(q, k, v, near_weight, far_weight, bandwidth: int, eps: float):
    """near_weight * band + far_weight * linear field, both fields by fast-transformers' kernels."""
    return near_weight * fast_transformers_band(q, k, v, bandwidth) + far_weight * fast_transformers_linear_field(
        q, k, v, eps
    )


def build_method(method: str, length: int, heads: int, head_dim: int):
    """(leaves, attend): the tensors that receive gradients, and a call running one attention layer."""
    if method == "fairseq_mha":
        from fairseq.modules import MultiheadAttention

        layer = MultiheadAttention(heads * head_dim, heads, self_attention=True)
        x = torch.randn(length, 1, heads * head_dim, requires_grad=True)

        def attend():
            mask = future_mask(length, float("-inf"))
            return layer(x, x, x, attn_mask=mask, need_weights=False)[0]

        return [x, *layer.parameters()], attend

    if method == "bmm":
        pairs = max(heads * length // CHUNK, 1)
        a = torch.randn(pairs, CHUNK, head_dim, requires_grad=True)
        b = torch.randn(pairs, head_dim, head_dim + 1, requires_grad=True)
        return [a, b], lambda: torch.bmm(a, b)

    q, k, v = (torch.randn(1, heads, length, head_dim, requires_grad=True) for _ in range(3))
    if method == "sdpa_causal":
        return [q, k, v], lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)

    near_weight = torch.full((heads, 1, head_dim), NEAR_WEIGHT, requires_grad=True)
    far_weight = torch.full((heads, 1, head_dim), FAR_WEIGHT, requires_grad=True)
    leaves = [q, k, v, near_weight, far_weight]
    if method == "fast_transformers":
        return leaves, lambda: fast_transformers_fmm(q, k, v, near_weight, far_weight, BANDWIDTH, DEFAULT_EPS)
    config = FMMConfig(causal=True, **FMM_SETTINGS[method])
    if method == "seed_dense":
        return leaves, lambda: dense_fmm_attention(q, k, v, config, near_weight, far_weight)
    return leaves, lambda: fmm_attention(q, k, v, config, near_weight, far_weight)


def median_ms(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def reset_peak_memory():
    """Set this process's VmHWM back to its current VmRSS (Linux: /proc/self/clear_refs, value 5)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def forward_backward(leaves, attend, grad_output):
    attend().backward(grad_output)
    for leaf in leaves:
        leaf.grad = None


def measure(method: str, length: int, heads: int, head_dim: int, repeats: int) -> dict:
    """Median forward and forward+backward milliseconds and peak memory above the inputs of one method."""
    torch.manual_seed(0)
    # One-time start-up (thread pools, lazily loaded kernels) on a short sequence, so it counts nowhere.
    leaves, attend = build_method(method, min(length, START_UP_LENGTH), heads, head_dim)
    with torch.no_grad():
        grad_output = torch.randn_like(attend())
    forward_backward(leaves, attend, grad_output)

    leaves, attend = build_method(method, length, heads, head_dim)
    reset_peak_memory()
    inputs_rss = process_memory_kib(os.getpid(), "VmRSS") * 1024
    with torch.no_grad():
        grad_output = torch.randn_like(attend())  # warm-up forward; builds any cached mask
        forward_ms = median_ms(attend, repeats)
    forward_backward(leaves, attend, grad_output)  # warm-up
    forward_backward_ms = median_ms(lambda: forward_backward(leaves, attend, grad_output), repeats)
    peak_growth = process_memory_kib(os.getpid(), "VmHWM") * 1024 - inputs_rss
    return {
        "forward_ms": forward_ms,
        "forward_backward_ms": forward_backward_ms,
        "peak_memory_mib": peak_growth / 2**20,
        "inputs_rss_mib": inputs_rss / 2**20,
        "threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------- parent side: budgets and reports


def run_worker(command, time_budget: float, memory_budget_bytes: float):
    """Run one worker command under the budgets: (status, the JSON it printed or None).

    status is "ok", "over time budget", "over memory budget" or "failed: <last error line>".
    """
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        deadline = time.monotonic() + time_budget
        status = None
        while process.poll() is None:
            if process_memory_kib(process.pid, "VmRSS") * 1024 > memory_budget_bytes:
                status = "over memory budget"
            elif time.monotonic() > deadline:
                status = "over time budget"
            else:
                time.sleep(0.02)
                continue
            process.kill()
            process.wait()
        if status is not None:
            return status, None
        if process.returncode != 0:
            stderr.seek(0)
            lines = [line for line in stderr.read().decode(errors="replace").splitlines() if line.strip()]
            return f"failed: {lines[-1].strip() if lines else f'exit status {process.returncode}'}", None
        stdout.seek(0)
        return "ok", json.loads(stdout.read().decode().strip().splitlines()[-1])


def worker_command(args, method: str, length: int):
    return [
        sys.executable, "-m", "fmm_tools.bench.attention", "--worker", "--methods", method, "--lengths", str(length),
        "--heads", str(args.heads), "--head-dim", str(args.head_dim), "--repeats", str(args.repeats),
        "--threads", str(args.threads),
    ]


def fast_transformers_installed() -> bool:
    return importlib.util.find_spec("fast_transformers") is not None


def run_benchmark(args):
    """One row per (method, N): measured, over a budget, failed, skipped or not installed."""
    rows = []
    for method in args.methods:
        stopped = None  # (status, N) that stopped this method
        for length in args.lengths:
            row = {"method": method, "length": length, "forward_ms": None, "forward_backward_ms": None,
                   "peak_memory_mib": None}
            if (method == "fast_transformers" and not fast_transformers_installed()) or (
                    method.endswith("_compiled") and compiled.unavailable_reason()):
                row["status"] = "not installed"
            elif stopped is not None:
                row["status"] = f"skipped: {stopped[0]} at N={stopped[1]}"
            else:
                start = time.monotonic()
                status, measured = run_worker(
                    worker_command(args, method, length), args.time_budget, args.memory_budget * 2**30
                )
                row.update(measured or {}, status=status, wall_s=round(time.monotonic() - start, 2))
                if status != "ok":
                    stopped = (status.split(":")[0], length)
            rows.append(row)
            print(f"{method:>17} N={length:<6} {describe_row(row)}", flush=True)
    return rows


def matrix_product_flops(method: str, length: int, heads: int, head_dim: int):
    """(forward, forward+backward) floating-point operations of a method's matrix products, as its
    algorithm computes them (a multiply-add counts 2), or None for a method without a count here.

    sdpa_causal: the causal half of q k^T and of p v forward, 2 N^2 d per head; backward recomputes the
    scores and takes four gradient products, so forward+backward is 3.5x forward. band: per query its
    window of chunk + w - 1 keys, two products forward, five backward (scores recomputed, weights',
    q's, k's and v's gradients). linear, per map: the four per-chunk products forward (phi(k)^T W,
    phi(q) phi(k)^T, scores W, phi(q) P, with W = [v, 1] of width e = d + 1) and the prefix sums over
    the chunks of each block (one triangular product), all recomputed backward, and eight gradient
    products plus the gradient's suffix sums; the whole chunks first, the rest as one chunk of its own
    (tests/tools/test_bench_attention.py checks these counts against torch's FlopCounterMode). The
    compiled kernels' arithmetic, counted the same way: band, per query its keys (w, fewer at the start)
    by two products forward and five backward; linear, per map and position, the state's update and
    read (2 d e each) forward, and backward the update, read and S u again, then D's update, D w and D^T k.
    """
    d, e, chunk = head_dim, head_dim + 1, min(CHUNK, length)
    chunks = -(-length // chunk)
    n = chunks * chunk * heads  # positions the chunked methods compute: N rounded up to whole chunks
    if method == "bmm":
        forward = 2 * max(heads * length // CHUNK, 1) * CHUNK * d * e
        return forward, 3 * forward
    if method == "sdpa_causal":
        forward = 2 * length * length * d * heads
        return forward, 3.5 * forward
    band = linear = (0, 0)
    if method in ("fmm", "band"):
        window = chunk + BANDWIDTH - 1
        band = (4 * n * window * d, 14 * n * window * d)
    if method in ("fmm", "linear"):
        maps = len(FEATURE_MAP_NAMES)
        whole = length - length % chunk  # whole chunks, then the rest as one chunk of its own
        for positions, size in ((whole, chunk), (length - whole, length - whole)):
            if not positions:
                continue
            count = positions // size
            forward = 4 * d * e + 2 * size * d + 2 * size * e
            block_sizes = [min(CHUNKS_PER_BLOCK, count - first) for first in range(0, count, CHUNKS_PER_BLOCK)]
            prefix_sums = 2 * sum(blocks * blocks for blocks in block_sizes) * d * e * heads  # per map and pass
            linear = (linear[0] + maps * (positions * heads * forward + prefix_sums),
                      linear[1] + maps * (positions * heads * (2 * forward + 4 * size * e + 4 * size * d + 8 * d * e)
                                          + 3 * prefix_sums))
    if method in ("fmm", "band", "linear"):
        return band[0] + linear[0], band[1] + linear[1]
    if method in ("fmm_compiled", "band_compiled", "linear_compiled"):
        keys = heads * sum(min(i + 1, BANDWIDTH) for i in range(length))  # (query, key) pairs in the band
        band = (4 * keys * d, 14 * keys * d) if method != "linear_compiled" else (0, 0)
        positions = heads * length * len(FEATURE_MAP_NAMES)
        linear = (4 * positions * d * e, 16 * positions * d * e) if method != "band_compiled" else (0, 0)
        return band[0] + linear[0], band[1] + linear[1]
    return None


def gflops_cell(args, rows_by_key, method: str, length: int) -> str:
    milliseconds = ok_value(rows_by_key, method, length, "forward_backward_ms")
    flops = matrix_product_flops(method, length, args.heads, args.head_dim)
    if milliseconds is None or flops is None:
        return "n/a"
    return format_number(flops[1] / milliseconds / 1e6)


def describe_row(row) -> str:
    if row["status"] != "ok":
        return row["status"]
    return (f"forward {format_number(row['forward_ms'])} ms, forward+backward "
            f"{format_number(row['forward_backward_ms'])} ms, peak {format_number(row['peak_memory_mib'])} MiB")


def format_number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def machine_info(threads: int) -> dict:
    """fmm_tools.bench.common's machine record, plus the fast-transformers version when it is installed."""
    info = common_machine_info(threads)
    if fast_transformers_installed():
        info["fast_transformers"] = importlib.metadata.version("pytorch-fast-transformers")
    return info


def cell(rows_by_key, method: str, length: int, field: str) -> str:
    row = rows_by_key[method, length]
    if row["status"] == "ok":
        return format_number(row[field])
    return SHORT_STATUS.get(row["status"], row["status"].split(":")[0])


def ok_value(rows_by_key, method: str, length: int, field: str):
    row = rows_by_key.get((method, length))
    return row[field] if row is not None and row["status"] == "ok" else None


def fmm_comparison_lines(args, rows_by_key, fmm_method: str):
    """Markdown: forward+backward time of the other methods over ``fmm_method``'s at each N, and its growth."""
    lines = [f"## forward+backward time ratios to {fmm_method}", ""]
    for length in args.lengths:
        fmm = ok_value(rows_by_key, fmm_method, length, "forward_backward_ms")
        ratios = []
        for other in ("sdpa_causal", "seed_dense", "fast_transformers", *(m for m in FMM_METHODS if m != fmm_method)):
            value = ok_value(rows_by_key, other, length, "forward_backward_ms")
            if (other, length) in rows_by_key:
                ratios.append(f"{other}/{fmm_method} {value / fmm:.2f}x" if value and fmm else f"{other}/{fmm_method} n/a")
        if ratios:
            lines.append(f"- N={length}: " + ", ".join(ratios))
    growth = []
    for shorter, longer in zip(args.lengths, args.lengths[1:]):
        before = ok_value(rows_by_key, fmm_method, shorter, "forward_backward_ms")
        after = ok_value(rows_by_key, fmm_method, longer, "forward_backward_ms")
        if before and after and longer != shorter:
            growth.append(f"{shorter}->{longer} x{(after / before) ** (1 / math.log2(longer / shorter)):.2f}")
    if growth:
        lines += ["", f"{fmm_method} forward+backward time growth per doubling of N (2.00 is linear): " + ", ".join(growth)]
    return lines + [""]


def markdown_report(args, machine, rows) -> str:
    rows_by_key = {(row["method"], row["length"]): row for row in rows}
    lines = [
        "# Attention scaling on CPU",
        "",
        f"{machine['cpu']}, {machine['cores_usable']} cores, torch threads: {machine['threads']}, torch "
        f"{machine['torch']}, {machine['date']}. Batch 1, {args.heads} heads x {args.head_dim}, fp32, causal; "
        f"median of {args.repeats} after a warm-up; budgets {args.time_budget:g} s and {args.memory_budget:g} GiB "
        f"per (method, N).",
        "",
    ]
    tables = (("forward (ms, no grad)", "forward_ms"), ("forward+backward (ms)", "forward_backward_ms"),
              ("peak memory above the inputs (MiB, forward+backward included)", "peak_memory_mib"))
    for title, field in tables:
        lines += [f"## {title}", "", "| N | " + " | ".join(args.methods) + " |",
                  "|---:|" + "---:|" * len(args.methods)]
        for length in args.lengths:
            lines.append(f"| {length} | " + " | ".join(cell(rows_by_key, m, length, field) for m in args.methods) + " |")
        lines.append("")

    rated = [m for m in args.methods if m in COUNTED_METHODS]
    if rated:
        lines += ["## forward+backward GFLOP/s (matrix products as each algorithm computes them; see "
                  "matrix_product_flops)", "", "| N | " + " | ".join(rated) + " |", "|---:|" + "---:|" * len(rated)]
        for length in args.lengths:
            lines.append(f"| {length} | " + " | ".join(gflops_cell(args, rows_by_key, m, length) for m in rated) + " |")
        lines.append("")

    for fmm_method in FMM_METHODS:
        if fmm_method in args.methods:
            lines += fmm_comparison_lines(args, rows_by_key, fmm_method)

    failures = [row for row in rows if row["status"].startswith("failed")]
    lines += ["## Methods", ""] + [f"- `{m}`: {METHODS[m]}" for m in args.methods]
    if failures:
        lines += ["", "## Failures", ""] + [f"- {r['method']} N={r['length']}: {r['status']}" for r in failures]
    return "\n".join(lines) + "\n"


def plot(args, rows, path: Path):
    """Log-log: forward+backward time and peak memory against N, one line per method."""
    plt = pyplot()

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    panels = (("forward_backward_ms", "forward+backward time (ms)"), ("peak_memory_mib", "peak memory (MiB)"))
    for axis, (field, label) in zip(axes, panels):
        for method in (m for m in args.methods if m != "bmm"):  # the roofline matmul is no attention
            points = [(r["length"], r[field]) for r in rows
                      if r["method"] == method and r["status"] == "ok" and r[field] > 0]
            if points:
                axis.plot(*zip(*points), marker="o", label=method)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("sequence length N")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    if axes[0].lines:
        axes[0].legend(fontsize=8)
    figure.suptitle(f"causal attention on CPU: batch 1, {args.heads} heads x {args.head_dim}, fp32")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        torch.set_num_threads(args.threads)
        print(json.dumps(measure(args.methods[0], args.lengths[0], args.heads, args.head_dim, args.repeats)))
        return
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = run_benchmark(args)
    machine = machine_info(args.threads)
    settings = {name: getattr(args, name) for name in ("methods", "lengths", "heads", "head_dim", "repeats",
                                                       "time_budget", "memory_budget")}
    (args.out_dir / "results.json").write_text(json.dumps(
        {"machine": machine, "settings": settings, "methods": {m: METHODS[m] for m in args.methods}, "rows": rows},
        indent=1,
    ))
    (args.out_dir / "results.md").write_text(markdown_report(args, machine, rows))
    plot(args, rows, args.out_dir / "plot.png")
    print(f"wrote {args.out_dir / 'results.json'}, results.md, plot.png")


if __name__ == "__main__":
    main()
