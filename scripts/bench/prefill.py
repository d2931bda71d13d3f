"""Prefill: a prompt through ``FMMAttention.step`` (one chunked pass from an empty state) against
``FMMAttention.forward`` on the same tokens, and decoding on from the state the prefill returns.

    python scripts/bench/prefill.py                        # prompts of 1,024 and 4,096 tokens
    python scripts/bench/prefill.py --lengths 4096 --backend torch
    python scripts/bench/prefill.py --quick                # tiny sizes (tests)

One causal ``FMMAttention`` layer (--embed-dim, --heads; the default ``FMMConfig`` but --backend),
batch 1, fp32, no grad. For each prompt length L: ``forward_ms`` and ``prefill_ms`` are medians of
--repeats runs after a warm-up; ``max_difference`` is the largest |step - forward| over the prompt's
outputs; then --decode-steps more tokens go through ``step`` one at a time from the prefill's state
and ``decode_difference`` is their largest difference from ``forward`` on prompt + those tokens.
Writes results.json and results.md to --out-dir.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from fmm_attention import FMMAttention, FMMConfig
from fmm_attention.config import BACKENDS
from fmm_tools.bench.common import machine_info, machine_line, markdown_table, significant, write_json
from fmm_tools.cli_types import non_negative_int, positive_int, positive_ints
from fmm_tools.paths import relative


def timed_ms(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def measure(layer: FMMAttention, length: int, decode_steps: int, repeats: int, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randn(1, length + decode_steps, layer.embed_dim, generator=generator)
    prompt = tokens[:, :length]
    with torch.no_grad():
        forward_ms = timed_ms(lambda: layer(prompt), repeats)
        prefill_ms = timed_ms(lambda: layer.step(prompt), repeats)
        reference = layer(tokens)
        out, state = layer.step(prompt)
        steps = []
        for t in range(length, length + decode_steps):
            token_out, state = layer.step(tokens[:, t : t + 1], state)
            steps.append(token_out)
    decoded = torch.cat(steps, dim=1) if steps else reference[:, length:]
    return {
        "length": length, "forward_ms": forward_ms, "prefill_ms": prefill_ms, "prefill_over_forward": prefill_ms / forward_ms,
        "max_difference": float((out - reference[:, :length]).abs().max()),
        "decode_steps": decode_steps, "decode_difference": float((decoded - reference[:, length:]).abs().max()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="lengths 64,128, embed 32 x 2 heads, 1 repeat")
    parser.add_argument("--lengths", type=positive_ints, help="prompt lengths (default 1024,4096)")
    parser.add_argument("--embed-dim", type=positive_int, help="default 512 (--quick 32)")
    parser.add_argument("--heads", type=positive_int, help="default 8 (--quick 2)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="FMMConfig.backend (default: auto)")
    parser.add_argument("--decode-steps", type=non_negative_int, default=16, help="tokens decoded after the prefill (default 16)")
    parser.add_argument("--repeats", type=positive_int, help="default 5 (--quick 1)")
    parser.add_argument("--threads", type=positive_int, help="torch threads (default: torch's)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/bench_prefill"))
    args = parser.parse_args(argv)
    lengths = args.lengths or ([64, 128] if args.quick else [1024, 4096])
    embed_dim = args.embed_dim or (32 if args.quick else 512)
    heads = args.heads or (2 if args.quick else 8)
    repeats = args.repeats or (1 if args.quick else 5)
    if embed_dim % heads:
        parser.error(f"--embed-dim {embed_dim} is not divisible by --heads {heads}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    layer = FMMAttention(embed_dim, heads, config=FMMConfig(causal=True, backend=args.backend)).eval()
    machine = machine_info(torch.get_num_threads())
    rows = []
    for length in lengths:
        row = measure(layer, length, args.decode_steps, repeats, args.seed)
        rows.append(row)
        print(f"L={length}: forward {row['forward_ms']:.1f} ms, prefill {row['prefill_ms']:.1f} ms "
              f"({row['prefill_over_forward']:.2f}x), max |prefill - forward| {row['max_difference']:.1e}, "
              f"decoding on: {row['decode_difference']:.1e}", flush=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(args.out_dir / "results.json", {"machine": machine, "embed_dim": embed_dim, "heads": heads,
                                               "backend": args.backend, "repeats": repeats, "rows": rows})
    table = markdown_table(
        ["prompt", "forward (ms)", "prefill by step (ms)", "prefill / forward", "max difference", f"decoding {args.decode_steps} on: max difference"],
        [[r["length"], significant(r["forward_ms"]), significant(r["prefill_ms"]), f"{r['prefill_over_forward']:.2f}",
          f"{r['max_difference']:.1e}", f"{r['decode_difference']:.1e}"] for r in rows])
    (args.out_dir / "results.md").write_text(
        f"# Prefill through FMMAttention.step\n\n{machine_line(machine)}. One causal layer, {embed_dim} = {heads} heads, "
        f"backend {args.backend}, batch 1, fp32, median of {repeats}.\n\n{table}\n")
    print(f"wrote {relative(args.out_dir)}/results.json, results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
