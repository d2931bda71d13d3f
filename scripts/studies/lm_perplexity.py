#!/usr/bin/env python
"""Perplexity study on the Linux-documentation corpus: softmax vs linear vs band vs FMMformer.

    python scripts/run_study.py                 # the whole study (about 3¼ h on 2 quiet cores), resumable
    python scripts/run_study.py --report-only   # rewrite docs/results.md from finished runs

Every run trains the same model size (2 layers, 128 dims, 4 heads, FFN 512) with the same seed,
batch (4,096 tokens per update) and schedule through ``fairseq-train``, then is scored with
``fairseq-eval-lm`` on valid and test, plain and with a sliding ``--context-window``.

* equal updates, 512 tokens per sample: transformer_lm (softmax), linear-only (elu), band-only
  (w=20), FMM 1 map (elu) + band 20, FMM 2 maps (elu, elu_flip) + band 20;
* the blend, same setting as FMM 2 maps: near weight starting at 1 instead of the paper's 0 (so
  training starts from band + far rather than from linear attention alone), with the far weight
  fixed at 1 or learned; and φ(q), φ(k) left unnormalised (the paper's LM rescales them to sum 1);
* equal wall-clock, 2,048 tokens per sample: softmax against FMM 2 maps (near weight starting at 0
  and at 1), all three at once, one thread each, stopped by fairseq's ``--stop-time-hours``.

``--seeds 1,2,3`` runs the seeds study instead: softmax, band-only, FMM 2 maps with the near weight
from 0 and from 1, once per seed, ``--parallel`` runs at a time, and writes ``docs/seeds.md`` (mean
and spread per variant, the near-init comparison seed by seed, mean valid perplexity at every
validation).

    python scripts/run_study.py --seeds 1,2,3 --max-update 800 --parallel 2

Runs of one stage train at the same time, the threads split between them. Interrupted? Run it
again: fairseq resumes each run from its checkpoint_last.pt and finished runs (those with a
result.json) are skipped.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional

import torch

from fmm_fairseq.plotting import pyplot
from fmm_fairseq.studies import (
    BIN, LM_MODEL_SIZE, LM_SCHEDULE, json_records, perplexity, relative, run_logged, valid_curve, write_keeping_notes,
)

ROOT = Path(__file__).resolve().parents[1]

FMM = ["--arch", "fmmformer_lm", "--user-dir", "fmm_fairseq"]


@dataclass
class Run:
    """One training run of the study."""

    name: str
    label: str
    model: List[str]
    stage: int
    long_context: bool = False  # long samples, stopped by --stop-time-hours instead of --max-update
    seed: int = 1


NEAR_FROM_0 = ["--fmm-near-init", "0"]  # the paper's init: training starts as linear attention
NEAR_FROM_1 = ["--fmm-near-init", "1"]
TWO_MAPS = FMM + ["--fmm-bandwidth", "20", "--fmm-feature-maps", "elu,elu_flip"]
FMM2 = TWO_MAPS + NEAR_FROM_0

RUNS = [
    Run("softmax", "softmax (transformer_lm)", ["--arch", "transformer_lm"], stage=1),
    Run("linear", "linear only (elu)", FMM + ["--fmm-bandwidth", "0", "--fmm-feature-maps", "elu"], stage=1),
    Run("band", "band only (w=20)", FMM + ["--fmm-bandwidth", "20", "--fmm-feature-maps", "none"], stage=2),
    Run("fmm1", "FMM: band 20 + elu", FMM + ["--fmm-bandwidth", "20", "--fmm-feature-maps", "elu"] + NEAR_FROM_0,
        stage=2),
    Run("fmm2", "FMM: band 20 + elu, elu_flip (near weight from 0)", FMM2, stage=3),
    # The blend and the feature normalisation, investigated beside fmm2.
    Run("fmm2_near1", "FMM 2 maps, near weight starts at 1", TWO_MAPS + NEAR_FROM_1, stage=3),
    Run(
        "fmm2_near1_far_learned", "FMM 2 maps, near starts at 1, far weight learned",
        TWO_MAPS + NEAR_FROM_1 + ["--fmm-learn-far-weight"], stage=3,
    ),
    Run(
        "fmm2_unnormalized", "FMM 2 maps, features not rescaled to sum 1",
        FMM2 + ["--fmm-feature-norm", "none"], stage=3,
    ),
    Run("softmax_long", "softmax (transformer_lm)", ["--arch", "transformer_lm"], stage=4, long_context=True),
    Run("fmm2_long", "FMM: band 20 + elu, elu_flip (near weight from 0)", FMM2, stage=4, long_context=True),
    Run(
        "fmm2_near1_long", "FMM 2 maps, near weight starts at 1", TWO_MAPS + NEAR_FROM_1, stage=4,
        long_context=True,
    ),
]
RUN_NAMES = [run.name for run in RUNS]
SEED_VARIANTS = ("softmax", "band", "fmm2", "fmm2_near1")


def seeded_runs(seeds: List[int], variants: List[str]) -> List[Run]:
    """One run per seed of each variant, named ``VARIANT_seedN``, all in one stage."""
    return [
        replace(run, name=f"{run.name}_seed{seed}", seed=seed, stage=1)
        for seed in seeds for run in RUNS if run.name in variants
    ]


@dataclass
class Budget:
    """How long each run trains and how it is scored."""

    max_update: int
    wall_clock_hours: float
    validate_every: int
    threads: int
    tokens_per_update: int = 4096
    tokens_per_sample: int = 512
    long_tokens_per_sample: int = 2048
    model_size: List[str] = field(default_factory=lambda: list(LM_MODEL_SIZE))


    def sample_length(self, run: Run) -> int:
        return self.long_tokens_per_sample if run.long_context else self.tokens_per_sample

    def batch_size(self, run: Run) -> int:
        return max(1, self.tokens_per_update // self.sample_length(run))


def train_command(run: Run, data: Path, save_dir: Path, budget: Budget) -> List[str]:
    stop = (
        ["--stop-time-hours", str(budget.wall_clock_hours), "--max-update", "1000000"]
        if run.long_context
        else ["--max-update", str(budget.max_update)]
    )
    return [
        str(BIN / "fairseq-train"), str(data), "--task", "language_modeling", *run.model, *budget.model_size,
        "--tokens-per-sample", str(budget.sample_length(run)), "--batch-size", str(budget.batch_size(run)),
        *LM_SCHEDULE, "--seed", str(run.seed), *stop, "--validate-interval-updates", str(budget.validate_every),
        "--save-interval-updates", str(budget.validate_every), "--keep-interval-updates", "1",
        "--no-epoch-checkpoints", "--save-dir", str(save_dir), "--cpu", "--num-workers", "0",
        "--log-format", "json", "--log-interval", str(max(1, budget.validate_every // 2)),
    ]


def eval_command(run: Run, data: Path, checkpoint: Path, subset: str, context_window: int, budget: Budget) -> List[str]:
    user_dir = ["--user-dir", "fmm_fairseq"] if "--user-dir" in run.model else []
    window = ["--context-window", str(context_window)] if context_window else []
    return [
        str(BIN / "fairseq-eval-lm"), str(data), *user_dir, "--path", str(checkpoint), "--gen-subset", subset,
        "--tokens-per-sample", str(budget.sample_length(run)), "--batch-size", str(budget.batch_size(run)),
        "--cpu", "--num-workers", "0", *window,
    ]


def last_train_stats(train_log: str) -> Dict[str, float]:
    """The last train_inner record: words per second and cumulative training wall time."""
    stats = (json_records(train_log, "train_inner") or [{}])[-1]
    return {key: float(stats[key]) for key in ("wps", "num_updates") if key in stats}


def train_and_evaluate(run: Run, data: Path, save_root: Path, out_root: Path, budget: Budget, threads: int) -> dict:
    """Trains (or resumes) one run, scores it, writes and returns its result.json."""
    out_dir, save_dir = out_root / run.name, save_root / run.name
    out_dir.mkdir(parents=True, exist_ok=True)
    save_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    print(f"[{run.name}] training ({threads} thread(s)), log {out_dir / 'train.log'}", flush=True)
    train_log = run_logged(train_command(run, data, save_dir, budget), out_dir / "train.log", threads, ROOT)
    checkpoint = save_dir / "checkpoint_best.pt"
    scores = {}
    window = budget.sample_length(run) * 3 // 4
    for subset in ("valid", "test"):
        for context_window in (0, window):
            key = f"{subset}_ppl" + (f"_window{context_window}" if context_window else "")
            output = run_logged(
                eval_command(run, data, checkpoint, subset, context_window, budget), out_dir / "eval.log", threads, ROOT
            )
            scores[key] = perplexity(output)
    checkpoint_last = save_dir / "checkpoint_last.pt"
    state = torch.load(checkpoint_last, map_location="cpu", weights_only=False)
    extra = state.get("extra_state", {})
    result = {
        "name": run.name,
        "label": run.label,
        "tokens_per_sample": budget.sample_length(run),
        "long_context": run.long_context,
        "batch_size": budget.batch_size(run),
        "threads": threads,
        "updates": int(state.get("optimizer_history", [{}])[-1].get("num_updates", 0)),
        "training_hours": round(float(extra.get("previous_training_time", 0.0)) / 3600, 4),
        "best_valid_ppl_during_training": min((p["valid_ppl"] for p in valid_curve(train_log)), default=None),
        "curve": valid_curve(train_log),
        "words_per_second": last_train_stats(train_log).get("wps"),
        "command": relative(train_command(run, data, save_dir, budget)),
        "checkpoint_last": str(checkpoint_last),
        **scores,
    }
    (out_dir / "result.json").write_text(json.dumps(result, indent=2))
    print(f"[{run.name}] done in {time.time() - started:.0f} s: valid ppl {scores['valid_ppl']:.2f}", flush=True)
    return result


def load_results(out_root: Path, runs: List[Run]) -> Dict[str, dict]:
    results = {}
    for name in (run.name for run in runs):
        path = out_root / name / "result.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    return results


def plot_curves(results: Dict[str, dict], path: Path, budget: Budget) -> None:
    plt = pyplot()

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, long_context in zip(axes, (False, True)):
        shown = [r for r in results.values() if r["long_context"] == long_context and r["curve"]]
        for result in shown:
            ax.plot([p["updates"] for p in result["curve"]], [p["valid_ppl"] for p in result["curve"]],
                    marker=".", label=result["label"])
        ax.set_yscale("log")
        if shown:  # the first hundreds of updates are off the top: the end of training is what differs
            lowest = min(p["valid_ppl"] for r in shown for p in r["curve"])
            ax.set_ylim(lowest * 0.95, lowest * 4)
        ax.set_xlabel("updates")
        ax.set_ylabel("valid perplexity")
        ax.set_title(
            f"{budget.long_tokens_per_sample:,} tokens/sample, equal wall-clock"
            if long_context
            else f"{budget.tokens_per_sample:,} tokens/sample, equal updates"
        )
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def results_table(results: Dict[str, dict], names: List[str], baseline: Optional[str]) -> List[str]:
    rows = [
        "| run | tokens/sample | updates | training h | valid ppl | test ppl | valid ppl, window | test ppl, window "
        "| ratio to softmax (valid) | words/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        if name not in results:
            rows.append(f"| {name} | not run yet |||||||||")
            continue
        r = results[name]
        window = r["tokens_per_sample"] * 3 // 4
        ratio = (
            f"{r['valid_ppl'] / results[baseline]['valid_ppl']:.3f}" if baseline in results else "–"
        )
        wps = f"{r['words_per_second']:,.0f}" if r.get("words_per_second") else "–"
        rows.append(
            f"| {r['label']} | {r['tokens_per_sample']} | {r['updates']:,} | {r['training_hours']:.2f} "
            f"| {r['valid_ppl']:.2f} | {r['test_ppl']:.2f} | {r[f'valid_ppl_window{window}']:.2f} "
            f"| {r[f'test_ppl_window{window}']:.2f} | {ratio} | {wps} |"
        )
    return rows


def write_report(results: Dict[str, dict], docs: Path, command: str, budget: Budget, data: Path) -> None:
    """Rewrites the measured part of ``docs``; hand-written notes below NOTES_MARKER are kept."""
    docs.parent.mkdir(parents=True, exist_ok=True)
    plot = docs.with_name(docs.stem + "_curves.png")
    plot_curves(results, plot, budget)
    equal_updates = [run.name for run in RUNS if not run.long_context]
    long_context = [run.name for run in RUNS if run.long_context]
    lines = [
        "# Perplexity study: softmax vs linear vs band vs FMMformer",
        "",
        "Produced by `scripts/run_study.py` (tables and plot are rewritten after every finished run).",
        "",
        f"    {command}",
        "",
        f"Budget: {budget.max_update:,} updates of {budget.tokens_per_update:,} tokens for the equal-update runs; "
        f"{budget.wall_clock_hours} h of training each (fairseq `--stop-time-hours`, all {len(long_context)} at once, "
        f"{max(1, budget.threads // len(long_context))} thread(s) each) for the {budget.long_tokens_per_sample:,}-token runs. "
        f"Model for every run: `{' '.join(budget.model_size)}` (dropout 0.1); schedule `{' '.join(LM_SCHEDULE)}`.",
        "Perplexities are from `fairseq-eval-lm` on `checkpoint_best.pt`; *window* rows use "
        "`--context-window` of 3/4 of the sample (every scored token sees that many tokens before it).",
        "",
        f"## {budget.tokens_per_sample:,} tokens per sample, equal updates",
        "",
        *results_table(results, equal_updates, "softmax"),
        "",
        f"## {budget.long_tokens_per_sample:,} tokens per sample, equal wall-clock",
        "",
        *results_table(results, long_context, "softmax_long"),
        "",
        f"![valid perplexity against updates]({plot.name})",
        "",
    ]
    if results:
        lines += ["## Exact training commands", ""]
        lines += [f"- `{name}`: `{results[name]['command']}`" for name in RUN_NAMES if name in results]
        example = next(run for run in RUNS if run.name in results)
        save_dir = Path(results[example.name]["checkpoint_last"]).parent
        evaluation = eval_command(example, data, save_dir / "checkpoint_best.pt", "SUBSET", 0, budget)
        lines += [
            "",
            f"Each run is scored four times, e.g. `{example.name}` (SUBSET is valid or test; the *window* columns add "
            f"`--context-window {budget.sample_length(example) * 3 // 4}`):",
            "",
            f"    {relative(evaluation)}",
            "",
        ]
    write_keeping_notes(docs, lines)


def mean_and_spread(values: List[float]) -> str:
    """'mean ± sample standard deviation' (just the value for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def write_seeds_report(results: Dict[str, dict], runs: List[Run], docs: Path, command: str, budget: Budget) -> None:
    """The seeds study's page: per variant every seed, mean ± spread, ratios to softmax; near init 1 vs 0."""
    seeds = sorted({run.seed for run in runs})
    variants = [name for name in SEED_VARIANTS if any(run.name.startswith(name + "_seed") for run in runs)]
    labels = {run.name: run.label for run in RUNS}

    def finished(variant: str, key: str) -> Dict[int, float]:
        return {seed: results[f"{variant}_seed{seed}"][key] for seed in seeds if f"{variant}_seed{seed}" in results}

    softmax = finished("softmax", "valid_ppl")
    lines = [
        "# Seeds study: softmax, band-only and FMM 2 maps with the near weight from 0 and from 1",
        "",
        "Produced by `scripts/run_study.py --seeds` (rewritten after every finished run).",
        "",
        f"    {command}",
        "",
        f"Every run: {budget.max_update:,} updates of {budget.tokens_per_update:,} tokens, "
        f"{budget.tokens_per_sample} tokens per sample, model `{' '.join(budget.model_size)}` (dropout 0.1), "
        f"schedule `{' '.join(LM_SCHEDULE)}`, `--seed` as listed; perplexities from `fairseq-eval-lm` on "
        "`checkpoint_best.pt` (the commands are the equal-update runs' of `docs/results.md` with another seed "
        "and budget). Spread is the sample standard deviation over seeds.",
        "",
        "| variant | " + " | ".join(f"valid ppl, seed {seed}" for seed in seeds)
        + " | valid ppl, mean ± sd | test ppl, mean ± sd | valid ratio to softmax, mean over seeds |",
        "|---|" + "---:|" * (len(seeds) + 3),
    ]
    for variant in variants:
        valid, test = finished(variant, "valid_ppl"), finished(variant, "test_ppl")
        per_seed = [f"{valid[seed]:.2f}" if seed in valid else "not run yet" for seed in seeds]
        ratios = [valid[seed] / softmax[seed] for seed in valid if seed in softmax]
        cells = [
            *per_seed,
            mean_and_spread(list(valid.values())) if valid else "–",
            mean_and_spread(list(test.values())) if test else "–",
            f"{statistics.mean(ratios):.3f}" if ratios else "–",
        ]
        lines.append(f"| {labels[variant]} | {' | '.join(cells)} |")
    near0, near1 = finished("fmm2", "valid_ppl"), finished("fmm2_near1", "valid_ppl")
    paired = [seed for seed in seeds if seed in near0 and seed in near1]
    if paired:
        ratios = [near1[seed] / near0[seed] for seed in paired]
        wins = sum(ratio < 1 for ratio in ratios)
        lines += [
            "",
            "## Near weight from 1 against from 0, seed by seed (valid perplexity ratio)",
            "",
            "| seed | " + " | ".join(str(seed) for seed in paired) + " | mean |",
            "|---|" + "---:|" * (len(paired) + 1),
            "| near init 1 / near init 0 | " + " | ".join(f"{ratio:.3f}" for ratio in ratios)
            + f" | {statistics.mean(ratios):.3f} |",
            "",
            f"Near init 1 is lower on {wins} of {len(paired)} seed(s).",
        ]
    updates = sorted({point["updates"] for result in results.values() for point in result["curve"]})
    if updates:
        lines += [
            "",
            "## Mean valid perplexity at every validation (over the seeds finished)",
            "",
            "| variant | " + " | ".join(f"{n:,}" for n in updates) + " |",
            "|---|" + "---:|" * len(updates),
        ]
        for variant in variants:
            curves = [results[f"{variant}_seed{seed}"]["curve"] for seed in seeds if f"{variant}_seed{seed}" in results]
            cells = []
            for n in updates:
                at_n = [point["valid_ppl"] for curve in curves for point in curve if point["updates"] == n]
                cells.append(f"{statistics.mean(at_n):.2f}" if at_n else "–")
            lines.append(f"| {labels[variant]} | {' | '.join(cells)} |")
    lines.append("")
    write_keeping_notes(docs, lines)


def parse_seeds(text: str) -> List[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated integers, got {text!r}")
    return seeds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data-bin" / "linux-doc",
                        help="binarised corpus (built with scripts/prepare_lm_data.py when missing)")
    parser.add_argument("--save-root", type=Path,
                        help="checkpoints per run (default checkpoints/study, with --seeds checkpoints/study_seeds)")
    parser.add_argument("--out-root", type=Path,
                        help="logs and result.json per run (default runs/study, with --seeds runs/study_seeds)")
    parser.add_argument("--docs", type=Path, help="report page (default docs/results.md, with --seeds docs/seeds.md)")
    parser.add_argument("--seeds", type=parse_seeds,
                        help=f"seeds study: {', '.join(SEED_VARIANTS)} once per seed (e.g. 1,2,3)")
    parser.add_argument("--parallel", type=int,
                        help="runs trained at once, --threads split between them (default: every run of a stage)")
    parser.add_argument("--max-update", type=int, default=2500, help="updates of each equal-update run")
    parser.add_argument("--wall-clock-hours", type=float, default=0.5, help="training time of each 2,048-token run")
    parser.add_argument("--validate-every", type=int, default=100, help="updates between validations/checkpoints")
    parser.add_argument("--tokens-per-update", type=int, default=4096, help="batch size in tokens, every run")
    parser.add_argument("--tokens-per-sample", type=int, default=512, help="sample length of the equal-update runs")
    parser.add_argument("--long-tokens-per-sample", type=int, default=2048, help="sample length of the wall-clock runs")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads shared by a stage")
    parser.add_argument("--only", help=f"comma-separated runs among {', '.join(RUN_NAMES)} "
                                       f"(with --seeds: variants among {', '.join(SEED_VARIANTS)})")
    parser.add_argument("--model-size", help="override the model size flags (tests use a smaller model)")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report from finished runs")
    args = parser.parse_args(argv)

    known = list(SEED_VARIANTS) if args.seeds else RUN_NAMES
    selected = known if not args.only else [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(known))
    if unknown:
        parser.error(f"unknown run(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for option in ("max_update", "validate_every", "threads", "tokens_per_update", "tokens_per_sample",
                   "long_tokens_per_sample", "parallel"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option.replace('_', '-')} must be >= 1")
    if args.wall_clock_hours <= 0:
        parser.error("--wall-clock-hours must be > 0")
    suffix = "_seeds" if args.seeds else ""
    save_root = args.save_root or ROOT / "checkpoints" / f"study{suffix}"
    out_root = args.out_root or ROOT / "runs" / f"study{suffix}"
    docs = args.docs or ROOT / "docs" / ("seeds.md" if args.seeds else "results.md")
    budget = Budget(
        args.max_update, args.wall_clock_hours, args.validate_every, args.threads, args.tokens_per_update,
        args.tokens_per_sample, args.long_tokens_per_sample,
    )
    if args.model_size:
        budget.model_size = args.model_size.split()
    if args.seeds:
        runs = seeded_runs(args.seeds, selected)
        command = (
            f"python scripts/run_study.py --seeds {','.join(map(str, args.seeds))} --max-update {budget.max_update} "
            f"--validate-every {budget.validate_every} --threads {budget.threads} --parallel {args.parallel or len(runs)} "
            f"--tokens-per-update {budget.tokens_per_update} --tokens-per-sample {budget.tokens_per_sample}"
        )
    else:
        runs = [run for run in RUNS if run.name in selected]
        command = (
            f"python scripts/run_study.py --max-update {budget.max_update} --wall-clock-hours {budget.wall_clock_hours} "
            f"--validate-every {budget.validate_every} --threads {budget.threads} --tokens-per-update {budget.tokens_per_update} "
            f"--tokens-per-sample {budget.tokens_per_sample} --long-tokens-per-sample {budget.long_tokens_per_sample}"
        )

    def report() -> None:
        if args.seeds:
            write_seeds_report(load_results(out_root, runs), runs, docs, command, budget)
        else:
            write_report(load_results(out_root, RUNS), docs, command, budget, args.data)

    if not args.report_only:
        if not (args.data / "dict.txt").exists():
            subprocess.run([sys.executable, str(ROOT / "scripts" / "prepare_lm_data.py"), "--destdir", str(args.data)],
                           check=True)
        done = load_results(out_root, runs)
        for stage in sorted({run.stage for run in runs}):
            todo = [run for run in runs if run.stage == stage and run.name not in done]
            if not todo:
                continue
            parallel = min(args.parallel or len(todo), len(todo))
            threads = max(1, args.threads // parallel)
            errors = []
            with ThreadPoolExecutor(parallel) as pool:
                futures = [
                    pool.submit(train_and_evaluate, run, args.data, save_root, out_root, budget, threads)
                    for run in todo
                ]
                for future in as_completed(futures):
                    if future.exception():
                        errors.append(future.exception())
                    report()
            if errors:
                for error in errors:
                    print(f"error: {error}", file=sys.stderr)
                return 1
        for run in runs:
            if run.name in done:
                print(f"[{run.name}] already finished: {out_root / run.name / 'result.json'}")
    report()
    print(f"report: {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
