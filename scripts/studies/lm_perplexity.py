#!/usr/bin/env python
"""Perplexity study on the Linux-documentation corpus: softmax vs linear vs band vs FMMformer.

    python scripts/studies/lm_perplexity.py                 # the whole study (about 3¼ h on 2 quiet cores), resumable
    python scripts/studies/lm_perplexity.py --report-only   # rewrite docs/results.md from docs/results.json

Every run trains the same model size (2 layers, 128 dims, 4 heads, FFN 512) with the same seed,
batch (4,096 tokens per update) and schedule through ``fairseq-train``, then is scored with
``fairseq-eval-lm`` on valid and test, plain and with a sliding ``--context-window``.

* equal updates, 512 tokens per sample: transformer_lm (softmax), linear-only (elu), band-only
  (w=20), FMM 1 map (elu) + band 20, FMM 2 maps (elu, elu_flip) + band 20;
* the blend, same setting as FMM 2 maps: near weight starting at 1 instead of the paper's 0 (so
  training starts from band + far rather than from linear attention alone), with the far weight
  fixed at 1 or learned; and φ(q), φ(k) left unnormalised (the paper's LM rescales them to sum 1);
* equal wall-clock, 2,048 tokens per sample (stage 4): softmax against FMM 2 maps (near weight
  starting at 0 and at 1), all three at once, one thread each, stopped by fairseq's ``--stop-time-hours``.

``--seeds 1,2,3`` runs the seeds study instead: softmax, band-only, FMM 2 maps with the near weight
from 0 and from 1, once per seed, ``--parallel`` runs at a time, and writes ``docs/seeds.md`` (mean
and spread per variant, the near-init comparison seed by seed, mean valid perplexity at every
validation).

    python scripts/studies/lm_perplexity.py --seeds 1,2,3 --max-update 800 --parallel 2

Runs of one stage train at the same time, the threads split between them. Interrupted? Run it
again: fairseq resumes each run from its checkpoint_last.pt and finished runs (those with a record
in the page's .json) are skipped.
"""
import argparse
import statistics
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional

from fmm_tools.cli_types import positive_float, positive_int
from fmm_tools.paths import BIN, ROOT, relative
from fmm_tools.studies import skeleton
from fmm_tools.studies.fairseq_output import (
    checkpoint_updates, json_records, perplexity, training_seconds, valid_curve,
)
from fmm_tools.studies.recipes import LM_MODEL_SIZE, LM_SCHEDULE
from fmm_tools.studies.skeleton import Line, Panel, Records, Run, Stage, Study, Trained

SCRIPT = "scripts/studies/lm_perplexity.py"
FMM = ["--arch", "fmmformer_lm", "--user-dir", "fmm_fairseq"]
STAGES = [Stage("1", "softmax, linear"), Stage("2", "band, fmm1"), Stage("3", "fmm2 and its blend variants"),
          Stage("4", "2,048 tokens per sample, equal wall-clock")]


@dataclass
class Variant:
    """One model of the study."""

    name: str
    label: str
    model: List[str]
    stage: str
    long_context: bool = False  # long samples, stopped by --stop-time-hours instead of --max-update
    seed: int = 1


NEAR_FROM_0 = ["--fmm-near-init", "0"]  # the paper's init: training starts as linear attention
NEAR_FROM_1 = ["--fmm-near-init", "1"]
TWO_MAPS = FMM + ["--fmm-bandwidth", "20", "--fmm-feature-maps", "elu,elu_flip"]
FMM2 = TWO_MAPS + NEAR_FROM_0

VARIANTS = [
    Variant("softmax", "softmax (transformer_lm)", ["--arch", "transformer_lm"], "1"),
    Variant("linear", "linear only (elu)", FMM + ["--fmm-bandwidth", "0", "--fmm-feature-maps", "elu"], "1"),
    Variant("band", "band only (w=20)", FMM + ["--fmm-bandwidth", "20", "--fmm-feature-maps", "none"], "2"),
    Variant("fmm1", "FMM: band 20 + elu", FMM + ["--fmm-bandwidth", "20", "--fmm-feature-maps", "elu"] + NEAR_FROM_0, "2"),
    Variant("fmm2", "FMM: band 20 + elu, elu_flip (near weight from 0)", FMM2, "3"),
    # The blend and the feature normalisation, investigated beside fmm2.
    Variant("fmm2_near1", "FMM 2 maps, near weight starts at 1", TWO_MAPS + NEAR_FROM_1, "3"),
    Variant("fmm2_near1_far_learned", "FMM 2 maps, near starts at 1, far weight learned",
            TWO_MAPS + NEAR_FROM_1 + ["--fmm-learn-far-weight"], "3"),
    Variant("fmm2_unnormalized", "FMM 2 maps, features not rescaled to sum 1", FMM2 + ["--fmm-feature-norm", "none"], "3"),
    Variant("softmax_long", "softmax (transformer_lm)", ["--arch", "transformer_lm"], "4", long_context=True),
    Variant("fmm2_long", "FMM: band 20 + elu, elu_flip (near weight from 0)", FMM2, "4", long_context=True),
    Variant("fmm2_near1_long", "FMM 2 maps, near weight starts at 1", TWO_MAPS + NEAR_FROM_1, "4", long_context=True),
]
RUN_NAMES = [variant.name for variant in VARIANTS]
LABELS = {variant.name: variant.label for variant in VARIANTS}
SEED_VARIANTS = ("softmax", "band", "fmm2", "fmm2_near1")


def seeded_variants(seeds: List[int], names: List[str]) -> List[Variant]:
    """One run per seed of each variant, named ``VARIANT_seedN``, all in one stage."""
    return [replace(variant, name=f"{variant.name}_seed{seed}", seed=seed, stage="1")
            for seed in seeds for variant in VARIANTS if variant.name in names]


@dataclass
class Budget:
    """How long each run trains and how it is scored (the settings the records keep)."""

    max_update: int
    wall_clock_hours: float
    validate_every: int
    tokens_per_update: int = 4096
    tokens_per_sample: int = 512
    long_tokens_per_sample: int = 2048
    model_size: List[str] = field(default_factory=lambda: list(LM_MODEL_SIZE))
    data: str = "data-bin/linux-doc"

    def sample_length(self, long_context: bool) -> int:
        return self.long_tokens_per_sample if long_context else self.tokens_per_sample

    def batch_size(self, long_context: bool) -> int:
        return max(1, self.tokens_per_update // self.sample_length(long_context))


def train_arguments(variant: Variant, budget: Budget) -> List[str]:
    """fairseq-train's arguments for one variant (the skeleton adds --seed and --save-dir)."""
    stop = (["--stop-time-hours", str(budget.wall_clock_hours), "--max-update", "1000000"] if variant.long_context
            else ["--max-update", str(budget.max_update)])
    return [
        budget.data, "--task", "language_modeling", *variant.model, *budget.model_size,
        "--tokens-per-sample", str(budget.sample_length(variant.long_context)),
        "--batch-size", str(budget.batch_size(variant.long_context)), *LM_SCHEDULE, *stop,
        "--validate-interval-updates", str(budget.validate_every), "--save-interval-updates", str(budget.validate_every),
        "--keep-interval-updates", "1", "--no-epoch-checkpoints", "--cpu", "--num-workers", "0",
        "--log-format", "json", "--log-interval", str(max(1, budget.validate_every // 2)),
    ]


def study_run(variant: Variant, budget: Budget) -> Run:
    return Run(variant.name, variant.label, train_arguments(variant, budget), seed=variant.seed, stage=variant.stage,
               facts={"long_context": variant.long_context, "tokens_per_sample": budget.sample_length(variant.long_context),
                      "batch_size": budget.batch_size(variant.long_context), "user_dir": "--user-dir" in variant.model})


def eval_command(budget: Budget, record: Dict, checkpoint, subset: str, context_window: int) -> List[str]:
    user_dir = ["--user-dir", "fmm_fairseq"] if record["user_dir"] else []
    window = ["--context-window", str(context_window)] if context_window else []
    return [
        str(BIN / "fairseq-eval-lm"), budget.data, *user_dir, "--path", str(checkpoint), "--gen-subset", subset,
        "--tokens-per-sample", str(record["tokens_per_sample"]), "--batch-size", str(record["batch_size"]),
        "--cpu", "--num-workers", "0", *window,
    ]


def score(run: Run, trained: Trained) -> Dict:
    """fairseq-eval-lm on valid and test, plain and with a window of 3/4 of the sample; the curve."""
    budget = Budget(**trained.settings)
    scores = {}
    window = run.facts["tokens_per_sample"] * 3 // 4
    for subset in ("valid", "test"):
        for context_window in (0, window):
            key = f"{subset}_ppl" + (f"_window{context_window}" if context_window else "")
            command = eval_command(budget, run.facts, trained.save_dir / "checkpoint_best.pt", subset, context_window)
            scores[key] = perplexity(trained.call(command).log)
    log = trained.log()
    curve = valid_curve(log)
    checkpoint_last = trained.save_dir / "checkpoint_last.pt"
    last = (json_records(log, "train_inner") or [{}])[-1]
    return {
        "updates": checkpoint_updates(checkpoint_last),
        "training_hours": round(training_seconds(checkpoint_last) / 3600, 4),
        "best_valid_ppl_during_training": min((point["valid_ppl"] for point in curve), default=None),
        "curve": curve,
        "words_per_second": float(last["wps"]) if "wps" in last else None,
        "checkpoint_last": relative(checkpoint_last),
        **scores,
    }


def curves(records: Records) -> List[Panel]:
    budget = Budget(**records.settings)
    panels = []
    for long_context in (False, True):
        shown = [r for r in records.runs.values() if r["long_context"] == long_context and r["curve"]]
        lines = [Line(r["label"], [(p["updates"], p["valid_ppl"]) for p in r["curve"]]) for r in shown]
        lowest = min((p["valid_ppl"] for r in shown for p in r["curve"]), default=None)
        panels.append(Panel(
            lines, "valid perplexity", log_y=True,
            # the first hundreds of updates are off the top: the end of training is what differs
            y_range=(lowest * 0.95, lowest * 4) if lowest else None,
            title=(f"{budget.long_tokens_per_sample:,} tokens/sample, equal wall-clock" if long_context
                   else f"{budget.tokens_per_sample:,} tokens/sample, equal updates"),
        ))
    return panels


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
        ratio = f"{r['valid_ppl'] / results[baseline]['valid_ppl']:.3f}" if baseline in results else "–"
        wps = f"{r['words_per_second']:,.0f}" if r.get("words_per_second") else "–"
        rows.append(
            f"| {r['label']} | {r['tokens_per_sample']} | {r['updates']:,} | {r['training_hours']:.2f} "
            f"| {r['valid_ppl']:.2f} | {r['test_ppl']:.2f} | {r[f'valid_ppl_window{window}']:.2f} "
            f"| {r[f'test_ppl_window{window}']:.2f} | {ratio} | {wps} |"
        )
    return rows


def report(records: Records) -> List[str]:
    budget, results = Budget(**records.settings), records.runs
    equal_updates = [variant.name for variant in VARIANTS if not variant.long_context]
    long_context = [variant.name for variant in VARIANTS if variant.long_context]
    threads = sorted({results[name]["threads"] for name in long_context if name in results})
    each = f", {'/'.join(map(str, threads))} thread(s) each" if threads else ""
    lines = [
        f"Budget: {budget.max_update:,} updates of {budget.tokens_per_update:,} tokens for the equal-update runs; "
        f"{budget.wall_clock_hours} h of training each (fairseq `--stop-time-hours`, all {len(long_context)} at once"
        f"{each}) for the {budget.long_tokens_per_sample:,}-token runs. "
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
        f"![valid perplexity against updates]({records.curves.name})",
        "",
    ]
    if results:
        lines += ["## Exact training commands", ""]
        lines += [f"- `{name}`: `{results[name]['command']}`" for name in RUN_NAMES if name in results]
        example = next(results[name] for name in RUN_NAMES if name in results)
        best = Path(example["checkpoint_last"]).with_name("checkpoint_best.pt")
        lines += [
            "",
            f"Each run is scored four times, e.g. `{example['name']}` (SUBSET is valid or test; the *window* columns "
            f"add `--context-window {example['tokens_per_sample'] * 3 // 4}`):",
            "",
            f"    {relative(eval_command(budget, example, best, 'SUBSET', 0))}",
            "",
        ]
    return lines


def mean_and_spread(values: List[float]) -> str:
    """'mean ± sample standard deviation' (just the value for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def seeds_report(records: Records) -> List[str]:
    """The seeds study's page: per variant every seed, mean ± spread, ratios to softmax; near init 1 vs 0."""
    budget, results = Budget(**records.settings), records.runs
    seeds = sorted({result["seed"] for result in results.values()})
    variants = [name for name in SEED_VARIANTS if any(n.startswith(name + "_seed") for n in results)]

    def finished(variant: str, key: str) -> Dict[int, float]:
        return {seed: results[f"{variant}_seed{seed}"][key] for seed in seeds if f"{variant}_seed{seed}" in results}

    softmax = finished("softmax", "valid_ppl")
    lines = [
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
        lines.append(f"| {LABELS[variant]} | {' | '.join(cells)} |")
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
            curves_ = [results[f"{variant}_seed{seed}"]["curve"] for seed in seeds if f"{variant}_seed{seed}" in results]
            cells = []
            for n in updates:
                at_n = [point["valid_ppl"] for curve in curves_ for point in curve if point["updates"] == n]
                cells.append(f"{statistics.mean(at_n):.2f}" if at_n else "–")
            lines.append(f"| {LABELS[variant]} | {' | '.join(cells)} |")
    lines.append("")
    return lines


def parse_seeds(text: str) -> List[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated integers, got {text!r}")
    return seeds


def main(argv=None) -> int:
    parser = skeleton.study_parser(
        __doc__, STAGES, page="docs/results.md, with --seeds docs/seeds.md",
        save_root="checkpoints/study, with --seeds checkpoints/study_seeds",
        out_root="runs/study, with --seeds runs/study_seeds",
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data-bin" / "linux-doc",
                        help="binarised corpus (built with fmm-prepare-lm when missing)")
    parser.add_argument("--seeds", type=parse_seeds,
                        help=f"seeds study: {', '.join(SEED_VARIANTS)} once per seed (e.g. 1,2,3)")
    parser.add_argument("--max-update", type=positive_int, default=2500, help="updates of each equal-update run")
    parser.add_argument("--wall-clock-hours", type=positive_float, default=0.5,
                        help="training time of each 2,048-token run")
    parser.add_argument("--validate-every", type=positive_int, default=100, help="updates between validations/checkpoints")
    parser.add_argument("--tokens-per-update", type=positive_int, default=4096, help="batch size in tokens, every run")
    parser.add_argument("--tokens-per-sample", type=positive_int, default=512, help="sample length of the equal-update runs")
    parser.add_argument("--long-tokens-per-sample", type=positive_int, default=2048,
                        help="sample length of the wall-clock runs")
    parser.add_argument("--only", help=f"comma-separated runs among {', '.join(RUN_NAMES)} "
                                       f"(with --seeds: variants among {', '.join(SEED_VARIANTS)})")
    parser.add_argument("--model-size", help="override the model size flags (tests use a smaller model)")
    args = parser.parse_args(argv)

    known = list(SEED_VARIANTS) if args.seeds else RUN_NAMES
    selected = known if not args.only else [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(known))
    if unknown:
        parser.error(f"unknown run(s) {', '.join(unknown)}; known: {', '.join(known)}")
    suffix = "_seeds" if args.seeds else ""
    args.save_root = args.save_root or ROOT / "checkpoints" / f"study{suffix}"
    args.out_root = args.out_root or ROOT / "runs" / f"study{suffix}"
    args.docs = args.docs or ROOT / "docs" / ("seeds.md" if args.seeds else "results.md")
    budget = Budget(args.max_update, args.wall_clock_hours, args.validate_every, args.tokens_per_update,
                    args.tokens_per_sample, args.long_tokens_per_sample, data=relative(args.data))
    if args.model_size:
        budget.model_size = args.model_size.split()
    common = (f"--validate-every {budget.validate_every} --threads {args.threads} --tokens-per-update "
              f"{budget.tokens_per_update} --tokens-per-sample {budget.tokens_per_sample}")
    if args.seeds:
        variants = seeded_variants(args.seeds, selected)
        command = (f"python {SCRIPT} --seeds {','.join(map(str, args.seeds))} --max-update {budget.max_update} "
                   f"{common} --parallel {args.parallel or len(variants)}")
        title = "Seeds study: softmax, band-only and FMM 2 maps with the near weight from 0 and from 1"
        study_report, plot = seeds_report, None
    else:
        variants = [variant for variant in VARIANTS if variant.name in selected]
        command = (f"python {SCRIPT} --max-update {budget.max_update} --wall-clock-hours {budget.wall_clock_hours} "
                   f"{common} --long-tokens-per-sample {budget.long_tokens_per_sample}")
        title = "Perplexity study: softmax vs linear vs band vs FMMformer"
        study_report, plot = report, curves
    if not args.report_only and not (args.data / "dict.txt").exists():
        skeleton.prepare_data("fmm-prepare-lm", "--destdir", args.data)
    study = Study(title, SCRIPT, STAGES, runs=lambda records: [study_run(v, Budget(**records.settings)) for v in variants],
                  score=score, report=study_report, curves=plot)
    return skeleton.run_study(study, args, asdict(budget), command)


if __name__ == "__main__":
    sys.exit(main())
