#!/usr/bin/env python
"""Conversion study: a trained softmax model converted to FMM and fine-tuned, against training more.

    python scripts/studies/conversion.py                    # every stage, resumable
    python scripts/studies/conversion.py --stages lm        # one stage (lm, context, translation)
    python scripts/studies/conversion.py --report-only      # rewrite docs/conversion.md from docs/conversion.json

Stages (each run trains with ``fairseq-train``, is scored with ``fairseq-eval-lm`` or BLEU, and is
one scored point with its own record, so a rerun resumes where it stopped):

* ``lm``: fairseq's softmax ``transformer_lm`` trained from scratch on the Linux-documentation
  corpus (the perplexity study's model, schedule and seed, 512 tokens per sample,
  ``--base-updates``), and FMM (the defaults: band 20 + elu, elu_flip) from scratch on the same
  schedule. Then, from the softmax checkpoint, ``--extra-updates`` of fine-tuning (Adam reset, fixed
  learning rate: the one the softmax schedule had reached) for: the softmax model itself; FMM band 20
  and band 64 loaded straight from it (``--finetune-from-model``, blend at the conversion init: near
  1, far 0 and learned); band 20 after ``--transfer-updates`` of attention transfer (counted in its
  extra updates). Converted models are also scored before any fine-tuning (``fmm-convert``).
* ``context``: the softmax model and its band-20 conversion fine-tuned at 2,048 tokens per sample
  (``--max-target-positions 4096``), both at once for ``--context-hours`` of training each;
  perplexity at 2,048 and 4,096, seconds per update and peak memory of training and of eval-lm.
* ``translation``: the EN-ES transformer of ``scripts/studies/translation.py`` (``--translation-base``),
  fine-tuned ``--translation-extra-updates`` as itself and converted to FMM (band 20 both sides);
  BLEU with beam 5 before and after.
"""
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from fmm_tools.cli_types import positive_float, positive_int, positive_ints
from fmm_tools.paths import BIN, ROOT, relative
from fmm_tools.studies import skeleton
from fmm_tools.studies.fairseq_output import checkpoint_updates, perplexity, training_seconds
from fmm_tools.studies.recipes import (
    LM_MODEL_SIZE, LM_SCHEDULE, TRANSLATION_LOSS, TRANSLATION_MODEL_SIZE, TRANSLATION_SCHEDULE, bleu_command, read_bleu,
)
from fmm_tools.studies.skeleton import Records, Run, Stage, Study, Trained

SCRIPT = "scripts/studies/conversion.py"
STAGES = [Stage("lm", "512 tokens, equal extra updates"),
          Stage("context", "fine-tuned at 2,048 tokens, equal time; both runs at once", together=True),
          Stage("translation", "after scripts/studies/translation.py")]
LEARN_FAR = ["--fmm-learn-far-weight"]


@dataclass
class Arm:
    """One model of the study and where its training starts."""

    name: str
    label: str
    model: List[str]
    start: str  # "scratch", "softmax" (fine-tuned from the softmax checkpoint) or "transfer" (after attention transfer)
    converted_bandwidth: Optional[int] = None  # scored right after conversion too


LM_ARMS = [
    Arm("softmax", "softmax transformer_lm", ["--arch", "transformer_lm"], "scratch"),
    Arm("fmm_scratch", "FMM band 20 + 2 maps, from scratch", ["--arch", "fmmformer_lm"], "scratch"),
    Arm("softmax_ft", "softmax, fine-tuned", ["--arch", "transformer_lm"], "softmax"),
    Arm("band20", "converted, band 20", ["--arch", "fmmformer_lm", "--fmm-bandwidth", "20", *LEARN_FAR], "softmax", 20),
    Arm("band20_transfer", "converted, band 20, attention transfer first",
        ["--arch", "fmmformer_lm", "--fmm-bandwidth", "20", *LEARN_FAR], "transfer"),
    Arm("band64", "converted, band 64", ["--arch", "fmmformer_lm", "--fmm-bandwidth", "64", *LEARN_FAR], "softmax", 64),
]
CONTEXT_ARMS = [
    Arm("softmax_2048", "softmax, fine-tuned at 2,048", ["--arch", "transformer_lm"], "softmax"),
    Arm("band20_2048", "converted band 20, fine-tuned at 2,048",
        ["--arch", "fmmformer_lm", "--fmm-bandwidth", "20", *LEARN_FAR], "softmax"),
]
TRANSLATION_ARMS = [
    Arm("mt_softmax_ft", "transformer, fine-tuned", ["--arch", "transformer"], "softmax"),
    Arm("mt_band20_ft", "converted fmmformer (band 20 both sides), fine-tuned",
        ["--arch", "fmmformer", "--encoder-fmm-bandwidth", "20", "--decoder-fmm-bandwidth", "20",
         "--encoder-fmm-learn-far-weight", "--decoder-fmm-learn-far-weight"], "softmax", 20),
]
ARM_NAMES = [arm.name for arm in LM_ARMS + CONTEXT_ARMS + TRANSLATION_ARMS]
SOFTMAX = "softmax@0"  # the run every fine-tune starts from


@dataclass
class Plan:
    """Budgets and data of one study (the settings the records keep)."""

    data: str = "data-bin/linux-doc"
    base_updates: int = 2500
    extra_updates: List[int] = field(default_factory=lambda: [250, 625])
    transfer_updates: int = 50
    transfer_lr: float = 0.01
    validate_every: int = 125
    tokens_per_sample: int = 512
    long_tokens_per_sample: int = 2048
    tokens_per_update: int = 4096
    context_hours: float = 0.25
    translation_data: str = "data-bin/bible-en-es"
    translation_base: str = "runs/translation/transformer/checkpoint_last.pt"
    translation_extra_updates: int = 60
    model_size: List[str] = field(default_factory=lambda: list(LM_MODEL_SIZE))
    translation_model_size: List[str] = field(default_factory=lambda: list(TRANSLATION_MODEL_SIZE))

    def batch_size(self, sample: int) -> int:
        return max(1, self.tokens_per_update // sample)

    @property
    def warmup(self) -> int:
        """The fine-tunes' warmup."""
        return max(1, min(self.extra_updates) // 10)


def schedule_lr(schedule: List[str], updates: int) -> float:
    """The learning rate fairseq's inverse_sqrt schedule ``schedule`` gives after ``updates`` updates."""
    lr = float(schedule[schedule.index("--lr") + 1])
    warmup = int(schedule[schedule.index("--warmup-updates") + 1])
    return lr * updates / warmup if updates < warmup else lr * math.sqrt(warmup / updates)


def fine_tune_schedule(lr: float, warmup: int) -> List[str]:
    """Adam reset, a fixed learning rate after a short warmup."""
    return ["--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "1.0", "--lr", f"{lr:.6g}",
            "--lr-scheduler", "fixed", "--warmup-updates", str(warmup)]


def lm_train(plan: Plan, arm_model: List[str], schedule: List[str], sample: int, stop: List[str],
             start_from: Optional[Path] = None, criterion: Optional[List[str]] = None) -> List[str]:
    """fairseq-train's arguments for a language model of the study (the skeleton adds --seed and --save-dir)."""
    finetune = ["--finetune-from-model", str(start_from)] if start_from else []
    every = str(plan.validate_every)
    return [
        plan.data, "--task", "language_modeling", "--user-dir", "fmm_fairseq", *arm_model, *plan.model_size,
        "--tokens-per-sample", str(sample), "--batch-size", str(plan.batch_size(sample)), *schedule, *(criterion or []),
        *stop, *finetune, "--validate-interval-updates", every, "--save-interval-updates", every,
        "--keep-interval-updates", "1", "--no-epoch-checkpoints", "--cpu", "--num-workers", "0", "--log-format", "json",
        "--log-interval", str(max(1, plan.validate_every // 2)),
    ]


def eval_lm(trained: Trained, checkpoint: Path, subset: str, sample: int) -> Dict[str, float]:
    """fairseq-eval-lm's perplexity on ``subset`` at ``sample`` tokens per sample, its time and peak memory."""
    plan = Plan(**trained.settings)
    finished = trained.call([
        str(BIN / "fairseq-eval-lm"), plan.data, "--user-dir", "fmm_fairseq", "--path", str(checkpoint),
        "--gen-subset", subset, "--tokens-per-sample", str(sample), "--batch-size", str(plan.batch_size(sample)),
        "--cpu", "--num-workers", "0",
    ])
    return {"ppl": perplexity(finished.log), "seconds": round(finished.seconds, 1), "peak_mib": round(finished.peak_mib)}


def point(arm: Arm, extra: int, train, after: Optional[str], stage: str = "lm", directory: Optional[str] = None,
          **facts) -> Run:
    """The run that brings ``arm`` to ``extra`` updates past the softmax model (or the translation base)
    and scores it there; the points of an arm share its directory, each continuing the one before."""
    return Run(f"{arm.name}@{extra}", arm.label, train, stage=stage, directory=directory or arm.name,
               after=(after,) if after else (), facts={"arm": arm.name, "extra_updates": extra, **facts})


def lm_runs(plan: Plan, save_root: Path, arm: Arm) -> List[Run]:
    """The scored points of one arm of the 512-token comparison, each continuing the one before."""
    sample, base = plan.tokens_per_sample, plan.base_updates
    softmax = save_root / "softmax" / "checkpoint_last.pt"
    if arm.start == "scratch":
        extras = [0] if arm.name == "softmax" else [0, *plan.extra_updates]
        runs, after = [], None
        for extra in extras:
            train = lm_train(plan, arm.model, LM_SCHEDULE, sample, ["--max-update", str(base + extra)])
            runs.append(point(arm, extra, train, after, total_updates=base + extra))
            after = runs[-1].name
        return runs
    runs, after, start_from, already = [], SOFTMAX, softmax, 0
    if arm.converted_bandwidth:
        runs.append(point(arm, 0, None, after, total_updates=base, converted_bandwidth=arm.converted_bandwidth))
        after = runs[-1].name
    if arm.start == "transfer":
        train = lm_train(plan, arm.model, fine_tune_schedule(plan.transfer_lr, 0), sample,
                         ["--max-update", str(plan.transfer_updates)], softmax, ["--criterion", "fmm_attention_transfer"])
        runs.append(point(arm, plan.transfer_updates, train, after, total_updates=base + plan.transfer_updates,
                          directory=f"{arm.name}/transfer"))
        after = runs[-1].name
        start_from, already = save_root / arm.name / "transfer" / "checkpoint_last.pt", plan.transfer_updates
    schedule = fine_tune_schedule(schedule_lr(LM_SCHEDULE, base), plan.warmup)
    for extra in plan.extra_updates:
        train = lm_train(plan, arm.model, schedule, sample, ["--max-update", str(extra - already)], start_from)
        runs.append(point(arm, extra, train, after, total_updates=base + extra))
        after = runs[-1].name
    return runs


def context_run(plan: Plan, save_root: Path, arm: Arm) -> Run:
    """Fine-tuned at the long sample length for ``--context-hours`` of training (its command is made
    when it starts: fairseq carries the softmax checkpoint's training time into --stop-time-hours)."""
    softmax = save_root / "softmax" / "checkpoint_last.pt"
    long = plan.long_tokens_per_sample

    def train() -> List[str]:
        stop_hours = (training_seconds(softmax) + plan.context_hours * 3600) / 3600
        return lm_train(plan, arm.model + ["--max-target-positions", str(2 * long)],
                        fine_tune_schedule(schedule_lr(LM_SCHEDULE, plan.base_updates), plan.warmup), long,
                        ["--stop-time-hours", f"{stop_hours:.6f}", "--max-update", "1000000"], softmax)

    return Run(arm.name, arm.label, train, stage="context", after=(SOFTMAX,), facts={"arm": arm.name})


def translation_runs(plan: Plan, arm: Arm) -> List[Run]:
    base, extra = ROOT / plan.translation_base, plan.translation_extra_updates

    def train() -> List[str]:  # the learning rate the base's schedule had reached
        lr = schedule_lr(TRANSLATION_SCHEDULE, checkpoint_updates(base))
        return [
            plan.translation_data, "--task", "translation", "--user-dir", "fmm_fairseq", *arm.model,
            *plan.translation_model_size, *TRANSLATION_LOSS, *fine_tune_schedule(lr, max(1, extra // 10)),
            "--max-tokens", "2048", "--max-update", str(extra), "--finetune-from-model", str(base),
            "--no-epoch-checkpoints", "--cpu", "--num-workers", "0", "--no-progress-bar", "--log-interval", str(max(1, extra // 4)),
        ]

    converted = [point(arm, 0, None, None, stage="translation", converted_bandwidth=arm.converted_bandwidth)]
    return (converted if arm.converted_bandwidth else []) + [point(arm, extra, train, None, stage="translation")]


def declared_runs(records: Records, save_root: Path, chosen: set) -> List[Run]:
    plan = Plan(**records.settings)
    runs = [run for arm in LM_ARMS if arm.name == "softmax" or arm.name in chosen for run in lm_runs(plan, save_root, arm)]
    runs += [context_run(plan, save_root, arm) for arm in CONTEXT_ARMS if arm.name in chosen]
    translation = [run for arm in TRANSLATION_ARMS if arm.name in chosen for run in translation_runs(plan, arm)]
    return runs + ([Run("mt_base", "transformer", None, stage="translation")] if translation else []) + translation


def score(run: Run, trained: Trained) -> Dict:
    """Perplexities (lm, context) or BLEU (translation), converting first where the point is a conversion."""
    plan = Plan(**trained.settings)
    if run.stage == "context":
        return score_context(plan, trained)
    translation = run.stage == "translation"
    if run.name == "mt_base":
        base = ROOT / plan.translation_base
        return {"updates": checkpoint_updates(base), "checkpoint": relative(base),
                "bleu": read_bleu(trained.call(bleu_command(plan.translation_data, base)).log)}
    scored, done = trained.save_dir / "checkpoint_last.pt", {}
    if run.facts.get("converted_bandwidth"):
        scored = trained.save_dir / "converted.pt"
        band = str(run.facts["converted_bandwidth"])
        if translation:
            convert = [str(BIN / "fmm-convert"), str(ROOT / plan.translation_base), str(scored),
                       "--encoder-fmm-bandwidth", band, "--decoder-fmm-bandwidth", band, "--data", plan.translation_data]
        else:
            convert = [str(BIN / "fmm-convert"), str(trained.save_dir.parent / "softmax" / "checkpoint_last.pt"),
                       str(scored), "--fmm-bandwidth", band]
        trained.call(convert, "convert.log")
        done["command"] = relative(convert)
    if translation:
        return {**done, "bleu": read_bleu(trained.call(bleu_command(plan.translation_data, scored)).log)}
    return {**done, **{f"{subset}_ppl": eval_lm(trained, scored, subset, plan.tokens_per_sample)["ppl"]
                       for subset in ("valid", "test")}}


def score_context(plan: Plan, trained: Trained) -> Dict:
    """Updates in the training time, its peak memory; perplexity, time and memory at 1x and 2x the length."""
    already = training_seconds(trained.save_dir.parent / "softmax" / "checkpoint_last.pt")
    checkpoint = trained.save_dir / "checkpoint_last.pt"
    updates = checkpoint_updates(checkpoint)
    train_seconds = training_seconds(checkpoint) - already
    long = plan.long_tokens_per_sample
    scores = {f"{subset}_{length}": eval_lm(trained, checkpoint, subset, length)
              for length in (long, 2 * long) for subset in ("valid", "test")}
    return {"updates": updates, "train_seconds": round(train_seconds),
            "seconds_per_update": round(train_seconds / max(updates, 1), 3),
            "train_peak_mib": round(trained.finished.peak_mib) if trained.finished else None, "scores": scores}


def points_of(records: Records) -> Dict[str, Dict[int, dict]]:
    points: Dict[str, Dict[int, dict]] = {}
    for record in records.runs.values():
        if "extra_updates" in record:
            points.setdefault(record["arm"], {})[record["extra_updates"]] = record
    return points


def lm_table(points: Dict[str, Dict[int, dict]], plan: Plan) -> List[str]:
    base = points.get("softmax", {}).get(0)
    rows = ["| model | extra updates | total updates | valid ppl | test ppl | valid / softmax model |",
            "|---|---:|---:|---:|---:|---:|"]
    for extra in [0, plan.transfer_updates] + plan.extra_updates:
        for arm in LM_ARMS:
            scored = points.get(arm.name, {}).get(extra)
            if scored is None:
                continue
            ratio = f"{scored['valid_ppl'] / base['valid_ppl']:.3f}" if base else "–"
            label = arm.label + (" (no fine-tuning)" if extra == 0 and arm.start != "scratch" else "")
            if arm.start == "transfer":
                label += f" ({plan.transfer_updates} of them)" if extra > plan.transfer_updates else " (transfer only)"
            rows.append(f"| {label} | {extra:,} | {scored['total_updates']:,} | {scored['valid_ppl']:.2f} "
                        f"| {scored['test_ppl']:.2f} | {ratio} |")
    return rows


def target_lines(points: Dict[str, Dict[int, dict]], plan: Plan) -> List[str]:
    """Each converted arm after the first extra updates against the two targets."""
    first = min(plan.extra_updates)
    base = points.get("softmax", {}).get(0)
    scratch = points.get("fmm_scratch", {}).get(first)
    converted = [(arm, points[arm.name][first]) for arm in LM_ARMS
                 if arm.start != "scratch" and "--fmm-bandwidth" in arm.model and first in points.get(arm.name, {})]
    if not (base and scratch and converted):
        return ["Targets: not all of their runs have finished yet."]
    lines = [f"Targets after {first:,} extra updates: valid perplexity <= 1.02x the softmax model's "
             f"({base['valid_ppl']:.2f}), and below FMM from scratch at the same {plan.base_updates + first:,} "
             f"updates ({scratch['valid_ppl']:.2f}):", ""]
    for arm, scored in converted:
        ratio = scored["valid_ppl"] / base["valid_ppl"]
        lines.append(f"- {arm.label}: {scored['valid_ppl']:.2f}, {ratio:.3f}x ({'met' if ratio <= 1.02 else 'missed'}); "
                     f"{'beats' if scored['valid_ppl'] < scratch['valid_ppl'] else 'does not beat'} FMM from scratch.")
    return lines


def context_table(records: Records, plan: Plan) -> List[str]:
    long, hours = plan.long_tokens_per_sample, plan.context_hours
    rows = [f"| model | updates in {hours} h | s/update | training peak MiB | valid ppl @{long:,} "
            f"| test ppl @{long:,} | valid ppl @{2 * long:,} | test ppl @{2 * long:,} | eval-lm test @{2 * long:,}: s, peak MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for arm in CONTEXT_ARMS:
        r = records.runs.get(arm.name)
        if r is None:
            rows.append(f"| {arm.label} | not run yet ||||||||")
            continue
        s, peak = r["scores"], f"{r['train_peak_mib']:,}" if r["train_peak_mib"] is not None else "–"
        rows.append(
            f"| {arm.label} | {r['updates']:,} | {r['seconds_per_update']:.2f} | {peak} "
            f"| {s[f'valid_{long}']['ppl']:.2f} | {s[f'test_{long}']['ppl']:.2f} | {s[f'valid_{2 * long}']['ppl']:.2f} "
            f"| {s[f'test_{2 * long}']['ppl']:.2f} | {s[f'test_{2 * long}']['seconds']:.0f}, {s[f'test_{2 * long}']['peak_mib']:,} |"
        )
    return rows


def translation_table(records: Records, points: Dict[str, Dict[int, dict]]) -> List[str]:
    rows = ["| model | fine-tuning updates | test BLEU (beam 5) |", "|---|---:|---:|"]
    base = records.runs.get("mt_base")
    if base:
        rows.append(f"| transformer ({base['updates']} updates, `{base['checkpoint']}`) | 0 | {base['bleu']:.2f} |")
    for arm in TRANSLATION_ARMS:
        for extra, scored in sorted(points.get(arm.name, {}).items()):
            label = arm.label.replace(", fine-tuned", "") if extra == 0 else arm.label
            rows.append(f"| {label} | {extra} | {scored['bleu']:.2f} |")
    return rows


def report(records: Records) -> List[str]:
    plan, points = Plan(**records.settings), points_of(records)
    commands = sorted({(name, extra, p["command"]) for name, by_extra in points.items() for extra, p in by_extra.items()
                       if "command" in p})
    lines = [
        f"Model: `{' '.join(plan.model_size)}` (dropout 0.1), seed 1, {plan.tokens_per_update:,} tokens per update. "
        f"The softmax model and FMM from scratch: schedule `{' '.join(LM_SCHEDULE)}`. Fine-tunes start from the softmax "
        f"model's `checkpoint_last.pt` ({plan.base_updates:,} updates) with Adam reset and the learning rate its "
        f"schedule had reached, {schedule_lr(LM_SCHEDULE, plan.base_updates):.6g}, fixed after a warmup of "
        f"{plan.warmup} updates. Attention transfer: `--criterion fmm_attention_transfer`, "
        f"lr {plan.transfer_lr}, {plan.transfer_updates} updates, counted in the extra updates. Perplexities: "
        f"`fairseq-eval-lm` at {plan.tokens_per_sample} tokens per sample on the checkpoint at that update.",
        "",
        f"## {plan.tokens_per_sample} tokens per sample, equal extra updates",
        "",
        *lm_table(points, plan),
        "",
        *target_lines(points, plan),
        "",
        f"## Context extension: fine-tuned at {plan.long_tokens_per_sample:,} tokens per sample, equal training time",
        "",
        *context_table(records, plan),
        "",
        "## Translation (Bible EN-ES)",
        "",
        *translation_table(records, points),
        "",
    ]
    if commands:
        lines += ["## Commands", ""] + [f"- `{name}` at {extra}: `{text}`" for name, extra, text in commands]
        lines += [f"- `{arm.name}`: `{records.runs[arm.name]['command']}`" for arm in CONTEXT_ARMS if arm.name in records.runs]
        lines.append("")
    return lines


def main(argv=None) -> int:
    parser = skeleton.study_parser(__doc__, STAGES, page=ROOT / "docs" / "conversion.md",
                                   save_root=ROOT / "checkpoints" / "conversion", out_root=ROOT / "runs" / "conversion",
                                   parallel=2)
    defaults = Plan()
    parser.add_argument("--data", type=Path, default=ROOT / defaults.data,
                        help="binarised LM corpus (built with fmm-prepare-lm when missing)")
    parser.add_argument("--only", help=f"comma-separated arms among {', '.join(ARM_NAMES)} (softmax is always trained)")
    parser.add_argument("--base-updates", type=positive_int, default=defaults.base_updates, help="updates of the softmax model")
    parser.add_argument("--extra-updates", type=positive_ints, default=defaults.extra_updates,
                        help="fine-tuning budgets scored (comma-separated)")
    parser.add_argument("--transfer-updates", type=positive_int, default=defaults.transfer_updates)
    parser.add_argument("--transfer-lr", type=positive_float, default=defaults.transfer_lr)
    parser.add_argument("--validate-every", type=positive_int, default=defaults.validate_every)
    parser.add_argument("--tokens-per-sample", type=positive_int, default=defaults.tokens_per_sample)
    parser.add_argument("--long-tokens-per-sample", type=positive_int, default=defaults.long_tokens_per_sample)
    parser.add_argument("--tokens-per-update", type=positive_int, default=defaults.tokens_per_update)
    parser.add_argument("--context-hours", type=positive_float, default=defaults.context_hours,
                        help="training time of each context-extension fine-tune")
    parser.add_argument("--translation-data", type=Path, default=ROOT / defaults.translation_data)
    parser.add_argument("--translation-base", type=Path, default=ROOT / defaults.translation_base,
                        help="softmax transformer checkpoint (made by scripts/studies/translation.py)")
    parser.add_argument("--translation-extra-updates", type=positive_int, default=defaults.translation_extra_updates)
    parser.add_argument("--model-size", help="override the LM size flags (tests use a smaller model)")
    parser.add_argument("--translation-model-size", help="override the translation size flags (those of the base)")
    args = parser.parse_args(argv)

    chosen = set(ARM_NAMES) if not args.only else {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = sorted(chosen - set(ARM_NAMES))
    if unknown:
        parser.error(f"unknown arm(s): {', '.join(unknown)}")
    if args.transfer_updates >= min(args.extra_updates):
        parser.error("--transfer-updates must be fewer than the smallest of --extra-updates (they count in it)")
    plan = Plan(
        relative(args.data), args.base_updates, args.extra_updates, args.transfer_updates, args.transfer_lr,
        args.validate_every, args.tokens_per_sample, args.long_tokens_per_sample, args.tokens_per_update,
        args.context_hours, relative(args.translation_data), relative(args.translation_base),
        args.translation_extra_updates,
    )
    if args.model_size:
        plan.model_size = args.model_size.split()
    if args.translation_model_size:
        plan.translation_model_size = args.translation_model_size.split()
    stages = args.stages or [stage.name for stage in STAGES]
    if not args.report_only:
        wants_base = "translation" in stages and any(arm.name in chosen for arm in TRANSLATION_ARMS)
        if wants_base and not args.translation_base.exists():
            parser.error(f"--translation-base {args.translation_base} does not exist: run "
                         "`python scripts/studies/translation.py --max-update 600` first, or leave out --stages translation")
        if not (args.data / "dict.txt").exists():
            skeleton.prepare_data("fmm-prepare-lm", "--destdir", args.data)
    command = (
        f"python {SCRIPT} --base-updates {plan.base_updates} --extra-updates {','.join(map(str, plan.extra_updates))} "
        f"--transfer-updates {plan.transfer_updates} --validate-every {plan.validate_every} --context-hours "
        f"{plan.context_hours} --translation-extra-updates {plan.translation_extra_updates} --threads {args.threads} "
        f"--parallel {args.parallel}"
    )
    study = Study("From a softmax checkpoint: conversion to FMM and fine-tuning", SCRIPT, STAGES,
                  runs=lambda records: declared_runs(records, args.save_root, chosen), score=score, report=report)
    return skeleton.run_study(study, args, asdict(plan), command)


if __name__ == "__main__":
    sys.exit(main())
