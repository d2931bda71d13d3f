#!/usr/bin/env python
"""fairseq-train throughput (words/s) and peak memory: transformer_lm against fmmformer_lm.

    python scripts/bench/train.py                                  # lengths 512 ... 8192 on data-bin/linux-doc
    python scripts/bench/train.py --lengths 512,1024 --updates 6
    python scripts/bench/train.py --arch-args "--decoder-layers 4" --fmm-args "--fmm-bandwidth 32"
    python scripts/bench/train.py --quick                          # tiny sizes on tests/data/tiny_lm (tests)

Both models have the same size (default 2 layers, 256 dims, 4 heads, FFN 1024, input/output dims
equal to the embedding dim, shared input/output embedding). For every --tokens-per-sample N, each
model trains --updates updates in its own ``fairseq-train`` process, with the same number of tokens
per update at every N (batch = --tokens-per-update / N).

Words per second: fairseq logs one ``train_inner`` record per update (--log-interval 1). Its ``wps``
is the update's tokens (``wpb``) divided by the wall time since the previous record, so that time
includes data loading, forward, backward and the optimizer step. With the first --warmup-updates
records left out, words/s = sum(wpb) / sum(wpb / wps) over the remaining updates, i.e. total words
over total time. ``words_per_second_by_arrival`` in results.json cross-checks it with the times at
which this script read the records.

Peak memory: the peak resident set of the fairseq-train process (VmHWM from /proc/<pid>/status,
polled every 50 ms, and the child's ru_maxrss when it is reaped; the larger). It includes the
Python, torch and fairseq baseline of the process (a few hundred MiB), the same for both models.

A run that exceeds --time-budget seconds or --memory-limit-mib is killed and recorded as such; the
benchmark goes on with the next run. Writes results.json, results.md and plot.png to --out-dir.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from fmm_tools.bench.common import (
    ARCHS, BASELINE_ARCH, DEFAULT_MODEL_ARGS, FMM_ARCH, QUICK_MODEL_ARGS, busy_cpu_note, check_model_builds,
    machine_info, machine_line, markdown_table, model_options, models_paragraph, options_to_cli, plot_loglog,
    process_memory_kib, significant, usable_cores, write_json,
)
from fmm_tools.cli_types import non_negative_int, positive_float, positive_int, positive_ints
from fmm_tools.paths import BIN, ROOT, relative

DEFAULT_DATA = ROOT / "data-bin" / "linux-doc"
TINY_CORPUS = ROOT / "tests" / "data" / "tiny_lm"
POLL_SECONDS = 0.05
TRAIN_INNER = re.compile(r"\| train_inner \| (\{.*\})\s*$")
SELF_ATTENTION = re.compile(r"\(self_attn\): (\w+)\(")
PARAMETERS = re.compile(r"num\. shared model params: ([\d,]+)")

FULL = dict(lengths=[512, 1024, 2048, 4096, 8192], updates=12, warmup_updates=2, tokens_per_update=8192,
            time_budget=900.0, model_args=DEFAULT_MODEL_ARGS)
QUICK = dict(lengths=[32, 64], updates=3, warmup_updates=1, tokens_per_update=128,
             time_budget=120.0, model_args=QUICK_MODEL_ARGS)


def available_memory_mib() -> float:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny corpus, lengths 32,64, 3 updates, tiny model")
    parser.add_argument("--data", type=Path, help=f"fairseq-preprocess'd LM data (default {DEFAULT_DATA.relative_to(ROOT)}, "
                        "built with fmm-prepare-lm if missing; --quick: tests/data/tiny_lm)")
    parser.add_argument("--lengths", type=positive_ints, help="tokens per sample, comma-separated (default 512,...,8192)")
    parser.add_argument("--updates", type=positive_int, help="updates per run (default 12)")
    parser.add_argument("--warmup-updates", type=non_negative_int, help="first updates left out of the rate (default 2)")
    parser.add_argument("--tokens-per-update", type=positive_int, help="tokens per update at every length (default 8192)")
    parser.add_argument("--arch-args", default="", help="fairseq model options for both models, over the defaults "
                        f"({DEFAULT_MODEL_ARGS}); e.g. --arch-args='--decoder-layers 4'")
    parser.add_argument("--fmm-args", default="", help="--fmm-* options for fmmformer_lm only (default: its defaults)")
    parser.add_argument("--threads", type=positive_int, default=usable_cores(),
                        help="OMP/MKL threads of each run (default: all cores; on a busy machine use 1)")
    parser.add_argument("--time-budget", type=positive_float, help="seconds per run before it is killed (default 900)")
    parser.add_argument("--memory-limit-mib", type=positive_float,
                        help="kill a run whose resident memory passes this (default: 80%% of available memory at start)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "runs" / "bench_train")
    args = parser.parse_args(argv)

    preset = QUICK if args.quick else FULL
    for name in ("lengths", "updates", "warmup_updates", "tokens_per_update", "time_budget"):
        if getattr(args, name) is None:
            setattr(args, name, preset[name])
    if args.warmup_updates < 1:
        parser.error("--warmup-updates must be >= 1: fairseq's first train_inner record has no meaningful wps")
    if args.warmup_updates >= args.updates:
        parser.error(f"--updates {args.updates} leaves no timed update after --warmup-updates {args.warmup_updates}")
    uneven = [n for n in args.lengths if args.tokens_per_update % n]
    if uneven:
        parser.error(f"--tokens-per-update {args.tokens_per_update} is not a multiple of tokens per sample {uneven}: "
                     "every length must get the same tokens per update")
    if args.memory_limit_mib is None:
        args.memory_limit_mib = round(0.8 * available_memory_mib())
    if args.data is None:
        args.data = args.out_dir / "data-bin" if args.quick else DEFAULT_DATA
    elif not (args.data / "dict.txt").exists():
        parser.error(f"--data {args.data}: no dict.txt there (a fairseq-preprocess --only-source output is expected)")
    args.options = {}
    for arch in ARCHS:
        try:
            args.options[arch] = model_options(arch, args.arch_args, args.fmm_args, defaults=preset["model_args"])
            check_model_builds(arch, args.options[arch], max(args.lengths))
        except ValueError as error:
            parser.error(str(error))
    return args


def ensure_data(args) -> None:
    """--quick: binarise the tiny committed corpus into the out dir; default data: build it if missing."""
    if (args.data / "dict.txt").exists():
        return
    if args.quick:
        command = [str(BIN / "fairseq-preprocess"), "--only-source", "--trainpref", str(TINY_CORPUS / "train.txt"),
                   "--validpref", str(TINY_CORPUS / "valid.txt"), "--destdir", str(args.data), "--workers", "1"]
    else:
        print(f"== {args.data} is missing: building it with fmm-prepare-lm", flush=True)
        command = [str(BIN / "fmm-prepare-lm"), "--destdir", str(args.data)]
    result = subprocess.run(command, cwd=ROOT, capture_output=args.quick, text=True)  # the long build shows its progress
    if result.returncode != 0:
        sys.exit(f"building the data failed:\n{result.stdout[-2000:] if args.quick else ''}{result.stderr[-2000:] if args.quick else ''}")


def train_command(args, arch: str, length: int) -> List[str]:
    user_dir = ["--user-dir", str(ROOT / "fmm_fairseq")] if arch == FMM_ARCH else []
    return [
        str(BIN / "fairseq-train"), str(args.data), *user_dir, "--task", "language_modeling", "--arch", arch,
        *options_to_cli(args.options[arch]),
        "--tokens-per-sample", str(length), "--sample-break-mode", "none",
        "--batch-size", str(args.tokens_per_update // length), "--required-batch-size-multiple", "1",
        "--max-update", str(args.updates), "--optimizer", "adam", "--lr", "0.0005", "--seed", str(args.seed),
        "--log-format", "json", "--log-interval", "1", "--no-save", "--disable-validation",
        "--cpu", "--num-workers", "0",
    ]


@dataclass
class RunOutcome:
    status: str
    records: List[Dict] = field(default_factory=list)  # train_inner records, numbers as floats
    arrivals: List[float] = field(default_factory=list)  # monotonic time each record was read
    peak_rss_mib: Optional[float] = None
    wall_seconds: float = 0.0
    log_tail: List[str] = field(default_factory=list)
    self_attention: Optional[str] = None  # the attention class fairseq printed: a check that --user-dir took effect
    parameters: Optional[int] = None


def run_training(command: List[str], threads: int, time_budget: float, memory_limit_mib: float) -> RunOutcome:
    """Runs one fairseq-train process, reading its train_inner records and polling its memory."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")
    outcome = RunOutcome(status="ok")
    tail = collections.deque(maxlen=30)
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def read_output():
        for line in process.stdout:
            tail.append(line.rstrip())
            match = TRAIN_INNER.search(line)
            if match:
                outcome.arrivals.append(time.monotonic())
                outcome.records.append({k: float(v) for k, v in json.loads(match.group(1)).items()})
            elif outcome.self_attention is None and SELF_ATTENTION.search(line):
                outcome.self_attention = SELF_ATTENTION.search(line).group(1)
            elif outcome.parameters is None and PARAMETERS.search(line):
                outcome.parameters = int(PARAMETERS.search(line).group(1).replace(",", ""))

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    peak_kib, killed_because = 0, None
    while True:
        pid, wait_status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:  # reaped here, so ru_maxrss is this child's own peak
            process.returncode = os.waitstatus_to_exitcode(wait_status)
            peak_kib = max(peak_kib, usage.ru_maxrss)
            break
        peak_kib = max(peak_kib, process_memory_kib(process.pid, "VmHWM"))
        if killed_because is None:
            if time.monotonic() - start > time_budget:
                killed_because = "over time budget"
            elif process_memory_kib(process.pid, "VmRSS") / 1024 > memory_limit_mib:
                killed_because = "over memory limit"
            if killed_because:
                process.kill()
        time.sleep(POLL_SECONDS)
    reader.join(timeout=10)
    process.stdout.close()
    outcome.wall_seconds = round(time.monotonic() - start, 1)
    outcome.peak_rss_mib = round(peak_kib / 1024, 1)
    outcome.log_tail = list(tail)
    if killed_because:
        outcome.status = killed_because
    elif process.returncode != 0:
        outcome.status = f"failed (exit code {process.returncode})"
    return outcome


def words_per_second(records: List[Dict], warmup: int) -> Optional[float]:
    """sum(wpb) / sum(wpb / wps) over the records after the warm-up: total words over total time."""
    timed = records[warmup:]
    if not timed or any(r["wps"] <= 0 for r in timed):
        return None
    return sum(r["wpb"] for r in timed) / sum(r["wpb"] / r["wps"] for r in timed)


def words_per_second_by_arrival(records: List[Dict], arrivals: List[float], warmup: int) -> Optional[float]:
    """The same rate from the times the records were read: words after the warm-up over the time since its last record."""
    if len(records) <= warmup or warmup < 1:
        return None
    seconds = arrivals[-1] - arrivals[warmup - 1]
    return sum(r["wpb"] for r in records[warmup:]) / seconds if seconds > 0 else None


def measure(args, arch: str, length: int) -> Dict:
    command = train_command(args, arch, length)
    print(f"== {arch}, {length} tokens per sample, batch {args.tokens_per_update // length}", flush=True)
    outcome = run_training(command, args.threads, args.time_budget, args.memory_limit_mib)
    status = outcome.status
    if status == "ok" and len(outcome.records) < args.updates:
        status = f"incomplete ({len(outcome.records)} of {args.updates} updates logged)"
    rate = words_per_second(outcome.records, args.warmup_updates) if status == "ok" else None
    row = {
        "arch": arch,
        "tokens_per_sample": length,
        "batch_size": args.tokens_per_update // length,
        "status": status,
        "self_attention": outcome.self_attention,
        "parameters": outcome.parameters,
        "updates_logged": len(outcome.records),
        "timed_updates": max(0, len(outcome.records) - args.warmup_updates),
        "words_per_second": None if rate is None else round(rate, 1),
        "words_per_second_by_arrival": None if rate is None else round(
            words_per_second_by_arrival(outcome.records, outcome.arrivals, args.warmup_updates), 1),
        "mean_words_per_update": round(sum(r["wpb"] for r in outcome.records[args.warmup_updates:])
                                       / max(1, len(outcome.records) - args.warmup_updates), 1),
        "seconds_per_update": [round(r["wpb"] / r["wps"], 3) for r in outcome.records[args.warmup_updates:] if r["wps"] > 0],
        "peak_rss_mib": outcome.peak_rss_mib,
        "wall_seconds": outcome.wall_seconds,
        "command": relative(command),
    }
    if status != "ok":
        row["log_tail"] = outcome.log_tail
    print(f"   {status}: {significant(row['words_per_second'])} words/s, peak {row['peak_rss_mib']} MiB, "
          f"{outcome.wall_seconds} s", flush=True)
    return row


def cell_rate(row: Dict) -> str:
    return significant(row["words_per_second"]) if row["status"] == "ok" else row["status"]


def cell_memory(row: Dict) -> str:
    peak = significant(row["peak_rss_mib"])
    return peak if row["status"] == "ok" else f"≥ {peak} ({row['status']})"


def write_report(args, machine: Dict, rows: List[Dict]) -> None:
    by_key = {(row["arch"], row["tokens_per_sample"]): row for row in rows}
    table = []
    for length in args.lengths:
        base, fmm = by_key[(BASELINE_ARCH, length)], by_key[(FMM_ARCH, length)]
        both = base["words_per_second"] and fmm["words_per_second"]
        ratio = f"{fmm['words_per_second'] / base['words_per_second']:.2f}×" if both else "–"
        table.append([f"{length:,}", base["batch_size"], cell_rate(base), cell_rate(fmm), ratio,
                      cell_memory(base), cell_memory(fmm)])
    header = ["tokens/sample", "batch", f"{BASELINE_ARCH} words/s", f"{FMM_ARCH} words/s", "fmm / transformer",
              f"{BASELINE_ARCH} peak MiB", f"{FMM_ARCH} peak MiB"]
    text = "".join([
        f"# fairseq-train throughput: {BASELINE_ARCH} vs {FMM_ARCH}\n\n",
        f"Machine: {machine_line(machine)}.\n\n",
        busy_cpu_note(machine),
        models_paragraph(args.options, rows) + "\n",
        f"{args.tokens_per_update:,} tokens per update at every length; {args.updates} updates per run, the first "
        f"{args.warmup_updates} left out of the rate. Words/s = Σ wpb / Σ (wpb / wps) over fairseq's per-update "
        "`train_inner` records; peak MiB = peak resident memory of the whole fairseq-train process.\n\n",
        markdown_table(header, table),
    ])
    (args.out_dir / "results.md").write_text(text)

    def series(key):
        return {arch: (args.lengths, [by_key[(arch, n)][key] if by_key[(arch, n)]["status"] == "ok" else None
                                      for n in args.lengths]) for arch in ARCHS}

    plot_loglog(args.out_dir / "plot.png", f"fairseq-train, {args.tokens_per_update:,} tokens per update",
                "tokens per sample", [("words per second", series("words_per_second")),
                                      ("peak resident memory (MiB)", series("peak_rss_mib"))])


def main(argv=None):
    args = parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    ensure_data(args)
    machine = machine_info(args.threads)
    rows = [measure(args, arch, length) for length in args.lengths for arch in ARCHS]
    settings = {name: (str(value) if isinstance(value, Path) else value) for name, value in vars(args).items()}
    write_json(args.out_dir / "results.json", {"machine": machine, "settings": settings, "rows": rows})
    write_report(args, machine, rows)
    print((args.out_dir / "results.md").read_text())


if __name__ == "__main__":
    main()
