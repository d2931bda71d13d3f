#!/usr/bin/env python
"""Incremental generation: per-token latency and memory against prefix length, transformer_lm vs fmmformer_lm.

    python scripts/bench/decode.py                               # prefixes 256 ... 8192
    python scripts/bench/decode.py --lengths 256,512,1024 --timed-steps 16
    python scripts/bench/decode.py --quick                       # tiny sizes (tests)

Both models have the same size (default 2 layers, 256 dims, 4 heads, FFN 1024, shared input/output
embedding, --vocab symbols), random weights, eval mode, under torch.no_grad. Tokens (random, drawn
once) are fed one at a time the way fairseq's SequenceGenerator does it:
``decoder(tokens[:, :t + 1], incremental_state=state)``, only the last token being new. Once the
first L tokens are in the state, the next --timed-steps steps are timed one by one; the latency at
prefix L is their median (ms per token, the output projection to the vocabulary included).

Memory at prefix L: the bytes of all tensors held in the incremental state (``state_mib``), and the
growth of the process's peak resident memory since just before the first token (``rss_growth_mib``).
Each model runs in its own process (so the peak RSS is its own); one that passes --time-budget
seconds stops, and its remaining prefix lengths are recorded as over the budget.
Writes results.json, results.md and plot.png to --out-dir.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

from fmm_tools.bench.common import (
    ARCHS, BASELINE_ARCH, DEFAULT_MODEL_ARGS, FMM_ARCH, QUICK_MODEL_ARGS, busy_cpu_note, check_model_builds,
    machine_info, machine_line, markdown_table, model_options, models_paragraph, peak_rss_mib, plot_loglog,
    significant, usable_cores, write_json,
)
from fmm_tools.cli_types import positive_float, positive_int, positive_ints
from fmm_tools.paths import ROOT, relative

FULL = dict(lengths=[256, 512, 1024, 2048, 4096, 8192], timed_steps=32, vocab=8000, time_budget=900.0,
            model_args=DEFAULT_MODEL_ARGS, fmm_args="")
QUICK = dict(lengths=[16, 32], timed_steps=4, vocab=100, time_budget=120.0, model_args=QUICK_MODEL_ARGS,
             fmm_args="--fmm-bandwidth 8")
WORKER_GRACE_SECONDS = 120  # start-up and model building, on top of the budget, before a worker is killed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="lengths 16,32, tiny model, 4 timed steps")
    parser.add_argument("--lengths", type=positive_ints, help="prefix lengths, comma-separated (default 256,...,8192)")
    parser.add_argument("--timed-steps", type=positive_int, help="steps timed at each prefix length (default 32)")
    parser.add_argument("--batch", type=positive_int, default=1, help="sequences decoded together (e.g. a beam)")
    parser.add_argument("--vocab", type=positive_int, help="dictionary size (default 8000, about linux-doc's)")
    parser.add_argument("--arch-args", default="", help="fairseq model options for both models, over the defaults "
                        f"({DEFAULT_MODEL_ARGS}); e.g. --arch-args='--decoder-layers 4'")
    parser.add_argument("--fmm-args", help="--fmm-* options for fmmformer_lm only "
                        "(default: its defaults; --quick: --fmm-bandwidth 8)")
    parser.add_argument("--threads", type=positive_int, default=usable_cores(),
                        help="torch threads (default: all cores; on a busy machine use 1)")
    parser.add_argument("--time-budget", type=positive_float, help="seconds per model (default 900)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "runs" / "bench_decode")
    parser.add_argument("--worker", choices=ARCHS, help=argparse.SUPPRESS)  # internal: measure one model
    parser.add_argument("--worker-output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    preset = QUICK if args.quick else FULL
    for name in ("lengths", "timed_steps", "vocab", "time_budget", "fmm_args"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
    close = [(a, b) for a, b in zip(args.lengths, args.lengths[1:]) if b - a < args.timed_steps]
    if close:
        parser.error(f"prefix lengths {close} are closer than --timed-steps {args.timed_steps}: "
                     "the timed steps of one would run past the next")
    args.max_positions = max(args.lengths) + args.timed_steps + 1
    args.options = {}
    for arch in ([args.worker] if args.worker else ARCHS):
        try:
            args.options[arch] = model_options(arch, args.arch_args, args.fmm_args, defaults=preset["model_args"])
            if not args.worker:
                check_model_builds(arch, args.options[arch], args.max_positions)
        except ValueError as error:
            parser.error(str(error))
    return args


def build_lm(arch: str, options: Dict, vocab: int, max_positions: int, seed: int = 1):
    """A randomly initialised language model in eval mode, positions up to ``max_positions``."""
    import torch

    from fmm_tools.fairseq_models import build_model, numbered_dictionary

    torch.manual_seed(seed)
    return build_model(arch, numbered_dictionary(vocab), tokens_per_sample=max_positions,
                       max_target_positions=max_positions, **options).eval()


def incremental_state_bytes(state) -> int:
    """Bytes of every tensor in a (nested) fairseq incremental state."""
    import torch

    if isinstance(state, torch.Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, dict):
        return sum(incremental_state_bytes(value) for value in state.values())
    if isinstance(state, (list, tuple)):
        return sum(incremental_state_bytes(value) for value in state)
    return 0


def measure_decoding(model, lengths: List[int], timed_steps: int, batch: int, vocab: int,
                     deadline: float = float("inf"), seed: int = 1) -> List[Dict]:
    """Feeds random tokens one by one; at each prefix length, times the next ``timed_steps`` steps.

    Returns one row per length: median ms per token, incremental-state MiB and peak-RSS growth at
    that prefix, or status 'over time budget' for the lengths not reached before ``deadline``
    (a time.monotonic() value).
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(4, 4 + vocab, (batch, max(lengths) + timed_steps), generator=generator)
    state: Dict = {}
    rows, consumed, rss_before = [], 0, peak_rss_mib()

    def step():
        nonlocal consumed
        model.decoder(tokens[:, : consumed + 1], incremental_state=state)
        consumed += 1

    with torch.no_grad():
        for length in lengths:
            while consumed < length and time.monotonic() < deadline:
                step()
            if consumed < length:
                rows.append({"prefix_length": length, "status": "over time budget"})
                continue
            state_bytes = incremental_state_bytes(state)
            milliseconds = []
            for _ in range(timed_steps):
                start = time.perf_counter()
                step()
                milliseconds.append((time.perf_counter() - start) * 1000)
            rows.append({
                "prefix_length": length,
                "status": "ok",
                "ms_per_token": round(statistics.median(milliseconds), 4),
                "ms_per_token_min": round(min(milliseconds), 4),
                "state_bytes": state_bytes,
                "state_mib": round(state_bytes / 2**20, 4),
                "rss_growth_mib": round(peak_rss_mib() - rss_before, 1),
            })
    return rows


def run_worker(args) -> None:
    """In a process of its own: builds one model and writes its rows to --worker-output."""
    import torch

    torch.set_num_threads(args.threads)
    arch = args.worker
    model = build_lm(arch, args.options[arch], args.vocab, args.max_positions, args.seed)
    attention = type(model.decoder.layers[0].self_attn).__name__
    parameters = sum(p.numel() for p in model.parameters())
    rows = measure_decoding(model, args.lengths, args.timed_steps, args.batch, args.vocab,
                            deadline=time.monotonic() + args.time_budget, seed=args.seed)
    for row in rows:
        row.update(arch=arch, self_attention=attention, parameters=parameters)
    args.worker_output.write_text(json.dumps(rows))


def worker_command(args, arch: str, output: Path) -> List[str]:
    passed = ["--lengths", ",".join(map(str, args.lengths)), "--timed-steps", str(args.timed_steps),
              "--batch", str(args.batch), "--vocab", str(args.vocab), f"--arch-args={args.arch_args}",
              f"--fmm-args={args.fmm_args}", "--threads", str(args.threads), "--time-budget", str(args.time_budget),
              "--seed", str(args.seed)]
    return [sys.executable, "-m", "fmm_tools.bench.decode", *(["--quick"] if args.quick else []), *passed,
            "--worker", arch, "--worker-output", str(output)]


def measure_arch(args, arch: str) -> List[Dict]:
    output = args.out_dir / f".worker_{arch}.json"
    output.unlink(missing_ok=True)
    command = worker_command(args, arch, output)
    print(f"== {arch}: prefixes {args.lengths}", flush=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=args.time_budget + WORKER_GRACE_SECONDS)
        status = "ok" if result.returncode == 0 and output.exists() else f"failed (exit code {result.returncode})"
        log_tail = (result.stdout + result.stderr).splitlines()[-30:]
    except subprocess.TimeoutExpired:
        status, log_tail = "over time budget (killed)", []
    if status == "ok":
        rows = json.loads(output.read_text())
        output.unlink()
    else:
        rows = [{"arch": arch, "prefix_length": length, "status": status, "log_tail": log_tail} for length in args.lengths]
    command_text = relative(command)
    for row in rows:
        row["command"] = command_text
        print(f"   prefix {row['prefix_length']}: {row['status']}, {significant(row.get('ms_per_token'))} ms/token, "
              f"state {significant(row.get('state_mib'))} MiB", flush=True)
    return rows


def cell(row: Dict, key: str) -> str:
    return significant(row[key]) if row["status"] == "ok" else row["status"]


def write_report(args, machine: Dict, rows: List[Dict]) -> None:
    by_key = {(row["arch"], row["prefix_length"]): row for row in rows}
    fmm_shortest = by_key[(FMM_ARCH, args.lengths[0])].get("ms_per_token")
    table = []
    for length in args.lengths:
        base, fmm = by_key[(BASELINE_ARCH, length)], by_key[(FMM_ARCH, length)]
        both = base.get("ms_per_token") and fmm.get("ms_per_token")
        ratio = f"{base['ms_per_token'] / fmm['ms_per_token']:.2f}×" if both else "–"
        relative = f"{fmm['ms_per_token'] / fmm_shortest:.2f}×" if fmm.get("ms_per_token") and fmm_shortest else "–"
        table.append([f"{length:,}", cell(base, "ms_per_token"), cell(fmm, "ms_per_token"), ratio, relative,
                      cell(base, "state_mib"), cell(fmm, "state_mib"), cell(base, "rss_growth_mib"),
                      cell(fmm, "rss_growth_mib")])
    header = ["prefix", f"{BASELINE_ARCH} ms/token", f"{FMM_ARCH} ms/token", "transformer / fmm",
              f"fmm vs prefix {args.lengths[0]:,}", f"{BASELINE_ARCH} state MiB", f"{FMM_ARCH} state MiB",
              f"{BASELINE_ARCH} RSS growth MiB", f"{FMM_ARCH} RSS growth MiB"]
    text = "".join([
        f"# Incremental decoding: {BASELINE_ARCH} vs {FMM_ARCH}\n\n",
        f"Machine: {machine_line(machine)}.\n\n",
        busy_cpu_note(machine),
        models_paragraph(args.options, rows),
        f" Vocabulary {args.vocab:,}, batch {args.batch}, random weights.\n",
        f"ms/token = median over the {args.timed_steps} decoder steps right after the prefix (fairseq incremental "
        "state, output projection included); state MiB = tensors held in the incremental state at the prefix; "
        "RSS growth = peak resident memory growth of the model's process since its first token.\n\n",
        markdown_table(header, table),
    ])
    (args.out_dir / "results.md").write_text(text)

    def series(key):
        return {arch: (args.lengths, [by_key[(arch, n)].get(key) for n in args.lengths]) for arch in ARCHS}

    plot_loglog(args.out_dir / "plot.png", f"incremental decoding, batch {args.batch}", "prefix length (tokens)",
                [("ms per token (median)", series("ms_per_token")), ("incremental state (MiB)", series("state_mib"))])


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    args.out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_info(args.threads)
    rows = [row for arch in ARCHS for row in measure_arch(args, arch)]
    settings = {name: (str(value) if isinstance(value, Path) else value) for name, value in vars(args).items()
                if not name.startswith("worker")}
    write_json(args.out_dir / "results.json", {"machine": machine, "settings": settings, "rows": rows})
    write_report(args, machine, rows)
    print((args.out_dir / "results.md").read_text())


if __name__ == "__main__":
    main()
