#!/usr/bin/env python
"""GPU benchmark of FMM attention against softmax attention: time and peak memory, forward and forward+backward.

    python scripts/bench/attention_gpu.py             # one GPU, about 5 minutes: writes results/bench_gpu.{json,md}
    python scripts/bench/attention_gpu.py --dtypes bf16,fp16 --lengths 4096,32768
    python scripts/bench/attention_gpu.py --dry-run   # tiny sizes on the CPU (Triton interpreter): checks the script runs

Methods, all on (batch, heads, N, head_dim) inputs with batch = max(1, --tokens // N):
  sdpa_causal          torch SDPA, causal, FlashAttention backend (O(N^2) work, O(N) memory)
  flex_sliding_window  FlexAttention (torch.compile'd) with a causal sliding-window block mask of --bandwidth keys
  torch_path           fmm_attention, backend torch (this package's chunked pure-torch math)
  triton_band          the near-field Triton kernel alone (band-only; compare with flex_sliding_window)
  triton_separate      near-field kernel + one far-field kernel per map, blended in torch
  triton_fused         the fused kernel: near + far + blend in one pass
  triton_split         the long-context variant: in-band bias, far field outside the band and decaying
                       (horizons 32-1,024): the band kernel, then the far-field kernel on moved keys
FMM settings are the paper's LM ones: bandwidth 20, maps elu and elu_flip, per-channel near weight.
Models: fmmformer_lm_wiki103's attention (8 heads x 128) and a d=64-head model (8 heads x 64).
A run stops starting new measurements after --budget-s seconds; they are recorded as skipped.
"""
import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from fmm_attention import FEATURE_MAPS, FMMConfig, fmm_attention
from fmm_attention import triton as kernels
from fmm_tools.paths import ROOT

METHODS = ("sdpa_causal", "flex_sliding_window", "torch_path", "triton_band", "triton_separate", "triton_fused",
           "triton_split")
MODELS = {"wiki103_8x128": (8, 128), "d64_8x64": (8, 64)}
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU, kernels in Triton's interpreter")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "results")
    parser.add_argument("--lengths", default="1024,2048,4096,8192,16384,32768,65536")
    parser.add_argument("--dtypes", default="bf16", help="comma-separated among fp16, bf16, fp32")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated among {', '.join(MODELS)}")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--tokens", type=int, default=65536, help="tokens per batch: batch = max(1, tokens // N)")
    parser.add_argument("--bandwidth", type=int, default=20)
    parser.add_argument("--chunk-size", type=int, default=64, help="torch path chunk and Triton tile size")
    parser.add_argument("--budget-s", type=float, default=270.0, help="start no new measurement after this many seconds")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.lengths, args.dtypes, args.tokens, args.chunk_size = "24,40", "fp32", 1, 16
    return args


class Timer:
    """Median wall time of a callable, synchronising the GPU around each call."""

    def __init__(self, device: torch.device, min_reps: int, max_reps: int, min_seconds: float):
        self.device, self.min_reps, self.max_reps, self.min_seconds = device, min_reps, max_reps, min_seconds

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def __call__(self, fn):
        """(median milliseconds, peak memory above the start in MiB or None on CPU)."""
        fn()  # warm-up: compilation, autotuning, allocator
        self.sync()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        times = []
        while len(times) < self.max_reps and (len(times) < self.min_reps or sum(times) < self.min_seconds):
            self.sync()
            start = time.perf_counter()
            fn()
            self.sync()
            times.append(time.perf_counter() - start)
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if self.device.type == "cuda" else None
        return statistics.median(times) * 1e3, peak


def make_methods(heads, head_dim, length, bandwidth, chunk_size, device):
    """name -> function(q, k, v, near_weight, far_weight) -> output, or a string saying why it cannot run."""
    fmm_config = FMMConfig(bandwidth=bandwidth, feature_maps=("elu", "elu_flip"), chunk_size=chunk_size)
    split_config = replace(fmm_config, near_alibi=True, far_outside_band=True, far_horizons=(32, 1024))
    maps = [FEATURE_MAPS[name] for name in fmm_config.feature_maps]
    methods = {}

    def sdpa(q, k, v, near_weight, far_weight):
        if device.type == "cuda":
            from torch.nn.attention import SDPBackend, sdpa_kernel

            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    methods["sdpa_causal"] = sdpa

    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention

        def sliding_window(b, h, q_index, kv_index):
            return (q_index >= kv_index) & (q_index - kv_index < bandwidth)

        block_mask = create_block_mask(sliding_window, None, None, length, length, device=str(device))
        flex = torch.compile(flex_attention, dynamic=False) if device.type == "cuda" else flex_attention
        methods["flex_sliding_window"] = lambda q, k, v, nw, fw: flex(q, k, v, block_mask=block_mask)
    except Exception as error:  # noqa: BLE001 - recorded in the report
        methods["flex_sliding_window"] = f"unavailable: {type(error).__name__}: {error}"

    methods["torch_path"] = lambda q, k, v, nw, fw: fmm_attention(q, k, v, fmm_config, nw, fw)
    reason = kernels.triton_unavailable_reason()
    if reason is not None:
        for name in ("triton_band", "triton_separate", "triton_fused", "triton_split"):
            methods[name] = f"unavailable: {reason}"
        return methods

    def separate(q, k, v, near_weight, far_weight):
        near = kernels.band_attention(q, k, v, bandwidth, True, None, chunk_size)
        far = sum(kernels.linear_attention(q, k, v, phi, True, None, chunk_size) for phi in maps)
        return near_weight * near + far_weight * (far / len(maps))

    methods["triton_band"] = lambda q, k, v, nw, fw: kernels.band_attention(q, k, v, bandwidth, True, None, chunk_size)
    methods["triton_separate"] = separate
    methods["triton_fused"] = lambda q, k, v, nw, fw: kernels.fmm_attention(q, k, v, fmm_config, nw, fw)
    methods["triton_split"] = lambda q, k, v, nw, fw: kernels.fmm_attention(q, k, v, split_config, nw, fw)
    return methods


def measure(method, q, k, v, near_weight, far_weight, timer, forward_only):
    """Forward (no grad) and forward+backward times and peaks."""
    row = {}
    inputs = [tensor.detach() for tensor in (q, k, v, near_weight, far_weight)]
    with torch.no_grad():
        row["fwd_ms"], row["fwd_peak_mib"] = timer(lambda: method(*inputs))
    if forward_only:
        row["note"] = forward_only
        return row
    grad = torch.randn_like(method(q, k, v, near_weight, far_weight).detach())

    def forward_backward():
        for tensor in (q, k, v, near_weight):
            tensor.grad = None
        method(q, k, v, near_weight, far_weight).backward(grad)

    row["fwdbwd_ms"], row["fwdbwd_peak_mib"] = timer(forward_backward)
    return row


def run(args):
    device = torch.device("cuda" if torch.cuda.is_available() and not args.dry_run else "cpu")
    if device.type == "cpu" and not args.dry_run:
        raise SystemExit("no CUDA device: this benchmark needs a GPU (use --dry-run to check the script on a CPU)")
    timer = Timer(device, *((1, 1, 0.0) if args.dry_run else (3, 30, 0.3)))
    lengths = [int(n) for n in args.lengths.split(",")]
    models = {"dry_2x16": (2, 16)} if args.dry_run else {name: MODELS[name] for name in args.models.split(",")}
    wanted = args.methods.split(",")
    started, results = time.time(), []
    for model, (heads, head_dim) in models.items():
        for dtype_name in args.dtypes.split(","):
            dtype = DTYPES[dtype_name]
            for length in lengths:
                batch = max(1, args.tokens // length)
                generator = torch.Generator(device=device).manual_seed(0)
                q, k, v = (
                    torch.randn(batch, heads, length, head_dim, device=device, dtype=dtype, generator=generator).requires_grad_()
                    for _ in range(3)
                )
                near_weight = torch.full((heads, 1, head_dim), 0.5, device=device, dtype=dtype, requires_grad=True)
                far_weight = torch.ones(heads, 1, 1, device=device, dtype=dtype)
                methods = make_methods(heads, head_dim, length, args.bandwidth, args.chunk_size, device)
                for name in wanted:
                    row = dict(model=model, heads=heads, head_dim=head_dim, dtype=dtype_name, length=length, batch=batch, method=name)
                    method = methods[name]
                    if isinstance(method, str):
                        row.update(status="skipped", note=method)
                    elif time.time() - started > args.budget_s:
                        row.update(status="skipped", note=f"time budget of {args.budget_s:.0f} s spent")
                    else:
                        forward_only = "FlexAttention has no CPU backward" if name == "flex_sliding_window" and device.type == "cpu" else None
                        try:
                            row.update(measure(method, q, k, v, near_weight, far_weight, timer, forward_only), status="ok")
                        except torch.cuda.OutOfMemoryError:
                            row.update(status="oom")
                        except Exception as error:  # noqa: BLE001 - one failing method must not lose the table
                            row.update(status="error", note=f"{type(error).__name__}: {str(error)[:300]}")
                        if device.type == "cuda":
                            torch.cuda.empty_cache()
                    results.append(row)
                    print(format_row(row), flush=True)
    return device, results, time.time() - started


def format_row(row):
    def cell(ms, mib):
        if ms is None:
            return "-"
        return f"{ms:.2f}" + ("" if mib is None else f" ({mib:,.0f} MiB)")

    if row["status"] != "ok":
        return f"{row['model']} {row['dtype']} N={row['length']} {row['method']}: {row['status']} {row.get('note', '')}"
    return (
        f"{row['model']} {row['dtype']} N={row['length']} {row['method']}: fwd {cell(row['fwd_ms'], row['fwd_peak_mib'])}"
        f" | fwd+bwd {cell(row.get('fwdbwd_ms'), row.get('fwdbwd_peak_mib'))} ms"
    )


def markdown(device_name, results, args, seconds):
    lines = [
        f"Device: {device_name}; torch {torch.__version__}; bandwidth {args.bandwidth}; tile/chunk {args.chunk_size}; "
        f"batch = max(1, {args.tokens} // N); {seconds:.0f} s.",
        "",
        "Cells: forward / forward+backward milliseconds (median), peak memory of forward+backward above the inputs in MiB.",
    ]
    groups = sorted({(row["model"], row["dtype"]) for row in results})
    methods = [m for m in METHODS if any(row["method"] == m for row in results)]
    for model, dtype in groups:
        lines += ["", f"### {model}, {dtype}", "", "| N | batch | " + " | ".join(methods) + " | fused vs sdpa (fwd+bwd) | fused vs separate (fwd+bwd) |"]
        lines.append("|---" * (len(methods) + 4) + "|")
        rows = [row for row in results if row["model"] == model and row["dtype"] == dtype]
        for length in sorted({row["length"] for row in rows}):
            by_method = {row["method"]: row for row in rows if row["length"] == length}
            cells = []
            for method in methods:
                row = by_method.get(method, {"status": "missing"})
                if row["status"] != "ok":
                    cells.append(row["status"])
                    continue
                fwdbwd = "-" if row.get("fwdbwd_ms") is None else f"{row['fwdbwd_ms']:.2f}"
                peak = row.get("fwdbwd_peak_mib")
                cells.append(f"{row['fwd_ms']:.2f} / {fwdbwd}" + ("" if peak is None else f" ({peak:,.0f} MiB)"))
            batch = next(iter(by_method.values()))["batch"]
            lines.append(f"| {length} | {batch} | " + " | ".join(cells) + f" | {speedup(by_method, 'sdpa_causal')} | {speedup(by_method, 'triton_separate')} |")
    lines.insert(0, "| method | what |\n|---|---|\n" + "\n".join(f"| {m} | {describe(m)} |" for m in methods) + "\n")
    return "\n".join(lines) + "\n"


def speedup(by_method, baseline):
    fused, other = by_method.get("triton_fused", {}), by_method.get(baseline, {})
    if fused.get("fwdbwd_ms") and other.get("fwdbwd_ms"):
        return f"{other['fwdbwd_ms'] / fused['fwdbwd_ms']:.2f}x"
    return "-"


def describe(method):
    return {
        "sdpa_causal": "SDPA causal (flash)",
        "flex_sliding_window": "FlexAttention, sliding-window block mask",
        "torch_path": "fmm_attention, pure torch",
        "triton_band": "near-field Triton kernel alone",
        "triton_separate": "near + far Triton kernels, blend in torch",
        "triton_fused": "fused Triton kernel",
        "triton_split": "long-context variant (bias, outside band, decay)",
    }[method]


def main(argv=None):
    args = parse_args(argv)
    if args.dry_run:  # before the kernels first import Triton (see fmm_attention/triton/runtime.py)
        os.environ.setdefault("TRITON_INTERPRET", "1")
    device, results, seconds = run(args)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}), dry run"
    try:
        import triton

        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    args.output_dir.mkdir(parents=True, exist_ok=True)
    report = dict(
        device=device_name, torch=torch.__version__, triton=triton_version, seconds=round(seconds, 1),
        settings={key: str(value) for key, value in vars(args).items()}, results=results,
        interpreter=os.environ.get("TRITON_INTERPRET") == "1",
    )
    (args.output_dir / "bench_gpu.json").write_text(json.dumps(report, indent=1))
    (args.output_dir / "bench_gpu.md").write_text(markdown(device_name, results, args, seconds))
    print(f"wrote {args.output_dir / 'bench_gpu.json'} and {args.output_dir / 'bench_gpu.md'} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
