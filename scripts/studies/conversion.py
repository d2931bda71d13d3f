#!/usr/bin/env python
"""Conversion study: a trained softmax model converted to FMM and fine-tuned, against training more.

    python scripts/run_conversion_study.py                    # every stage, resumable
    python scripts/run_conversion_study.py --stages lm        # one stage (lm, context, translation)
    python scripts/run_conversion_study.py --report-only      # rewrite docs/conversion.md

Stages (each run trains with ``fairseq-train``, is scored with ``fairseq-eval-lm`` or BLEU, and
leaves one json per scored point, so a rerun resumes where it stopped):

* ``lm``: fairseq's softmax ``transformer_lm`` trained from scratch on the Linux-documentation
  corpus (the perplexity study's model, schedule and seed, 512 tokens per sample,
  ``--base-updates``), and FMM (the defaults: band 20 + elu, elu_flip) from scratch on the same
  schedule. Then, from the softmax checkpoint, ``--extra-updates`` of fine-tuning (Adam reset, fixed
  learning rate: the one the softmax schedule had reached) for: the softmax model itself; FMM band 20
  and band 64 loaded straight from it (``--finetune-from-model``, blend at the conversion init: near
  1, far 0 and learned); band 20 after ``--transfer-updates`` of attention transfer (counted in its
  extra updates). Converted models are also scored before any fine-tuning (``convert_to_fmm.py``).
* ``context``: the softmax model and its band-20 conversion fine-tuned at 2,048 tokens per sample
  (``--max-target-positions 4096``), both at once for ``--context-hours`` of training each;
  perplexity at 2,048 and 4,096, seconds per update and peak memory of training and of eval-lm.
* ``translation``: the EN-ES transformer of ``compare_translation.py`` (``--translation-base``),
  fine-tuned ``--translation-extra-updates`` as itself and converted to FMM (band 20 both sides);
  BLEU with beam 5 before and after.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from fmm_fairseq.cli_types import positive_ints
from fmm_fairseq.studies import (
    BIN, LM_MODEL_SIZE, LM_SCHEDULE, TRANSLATION_LOSS, TRANSLATION_MODEL_SIZE, TRANSLATION_SCHEDULE, StudyError,
    checkpoint_updates, perplexity, relative, run_logged, run_measured, training_seconds, write_keeping_notes,
)

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("lm", "context", "translation")
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


@dataclass
class Plan:
    """Budgets and paths of one study."""

    data: Path
    save_root: Path
    out_root: Path
    base_updates: int = 2500
    extra_updates: List[int] = field(default_factory=lambda: [250, 625])
    transfer_updates: int = 50
    transfer_lr: float = 0.01
    validate_every: int = 125
    tokens_per_sample: int = 512
    long_tokens_per_sample: int = 2048
    tokens_per_update: int = 4096
    context_hours: float = 0.25
    translation_data: Path = ROOT / "data-bin" / "bible-en-es"
    translation_base: Path = ROOT / "runs" / "translation" / "transformer" / "checkpoint_last.pt"
    translation_extra_updates: int = 60
    threads: int = 2
    parallel: int = 2
    model_size: List[str] = field(default_factory=lambda: list(LM_MODEL_SIZE))
    translation_model_size: List[str] = field(default_factory=lambda: list(TRANSLATION_MODEL_SIZE))

    def batch_size(self, sample: int) -> int:
        return max(1, self.tokens_per_update // sample)

    @property
    def softmax_checkpoint(self) -> Path:
        return self.save_root / "softmax" / "checkpoint_last.pt"


def schedule_lr(schedule: List[str], updates: int) -> float:
    """The learning rate fairseq's inverse_sqrt schedule ``schedule`` gives after ``updates`` updates."""
    lr = float(schedule[schedule.index("--lr") + 1])
    warmup = int(schedule[schedule.index("--warmup-updates") + 1])
    return lr * updates / warmup if updates < warmup else lr * math.sqrt(warmup / updates)


def fine_tune_schedule(lr: float, warmup: int) -> List[str]:
    """Adam reset, a fixed learning rate after a short warmup."""
    return ["--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "1.0", "--lr", f"{lr:.6g}",
            "--lr-scheduler", "fixed", "--warmup-updates", str(warmup)]


def lm_train_command(plan: Plan, arm_model: List[str], schedule: List[str], save_dir: Path, sample: int,
                     stop: List[str], start_from: Optional[Path] = None, criterion: Optional[List[str]] = None):
    finetune = ["--finetune-from-model", str(start_from)] if start_from else []
    every = str(plan.validate_every)
    return [
        str(BIN / "fairseq-train"), str(plan.data), "--task", "language_modeling", "--user-dir", "fmm_fairseq",
        *arm_model, *plan.model_size, "--tokens-per-sample", str(sample), "--batch-size", str(plan.batch_size(sample)),
        *schedule, *(criterion or []), "--seed", "1", *stop, *finetune, "--validate-interval-updates", every,
        "--save-interval-updates", every, "--keep-interval-updates", "1", "--no-epoch-checkpoints",
        "--save-dir", str(save_dir), "--cpu", "--num-workers", "0", "--log-format", "json",
        "--log-interval", str(max(1, plan.validate_every // 2)),
    ]


def eval_lm(plan: Plan, checkpoint: Path, subset: str, sample: int, log: Path, threads: int) -> Dict[str, float]:
    """fairseq-eval-lm's perplexity on ``subset`` at ``sample`` tokens per sample, its time and peak memory."""
    command = [
        str(BIN / "fairseq-eval-lm"), str(plan.data), "--user-dir", "fmm_fairseq", "--path", str(checkpoint),
        "--gen-subset", subset, "--tokens-per-sample", str(sample), "--batch-size", str(plan.batch_size(sample)),
        "--cpu", "--num-workers", "0",
    ]
    finished = run_measured(command, log, threads, ROOT)
    return {"ppl": perplexity(finished.log), "seconds": round(finished.seconds, 1), "peak_mib": round(finished.peak_mib)}


def record(path: Path, values: dict) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=2) + "\n")
    return values


def train_to(command_for, save_dir: Path, updates: int, log: Path, threads: int) -> List[str]:
    """Trains (resuming from checkpoint_last.pt) until ``updates``; returns the command that did it."""
    command = command_for(updates)
    done = checkpoint_updates(save_dir / "checkpoint_last.pt")
    if done > updates:
        raise StudyError(f"{save_dir / 'checkpoint_last.pt'} is at update {done}, past {updates}: remove it to rerun")
    if done < updates:  # fairseq would train one more update otherwise
        run_logged(command, log, threads, ROOT)
    return command


def run_lm_arm(arm: Arm, plan: Plan, threads: int) -> None:
    """Every scored point of one arm of the 512-token comparison (``point_<extra updates>.json``)."""
    out, save = plan.out_root / arm.name, plan.save_root / arm.name
    out.mkdir(parents=True, exist_ok=True)
    save.mkdir(parents=True, exist_ok=True)
    sample, log = plan.tokens_per_sample, out / "train.log"

    def scored(extra: int) -> bool:
        return (out / f"point_{extra}.json").exists()

    def score(checkpoint: Path, extra: int, command: List[str], **more) -> None:
        if scored(extra):
            return
        print(f"[{arm.name}] scoring {relative(checkpoint)} ({extra} extra updates)", flush=True)
        scores = {subset: eval_lm(plan, checkpoint, subset, sample, out / "eval.log", threads)["ppl"]
                  for subset in ("valid", "test")}
        record(out / f"point_{extra}.json", {"arm": arm.name, "label": arm.label, "extra_updates": extra, "valid_ppl": scores["valid"],
                       "test_ppl": scores["test"], "command": relative(command), **more})

    if arm.start == "scratch":
        totals = [plan.base_updates] if arm.name == "softmax" else [plan.base_updates] + [
            plan.base_updates + extra for extra in plan.extra_updates]
        for total in totals:
            if scored(total - plan.base_updates):
                continue  # a resumed arm may already be past this point
            command = train_to(lambda n: lm_train_command(plan, arm.model, LM_SCHEDULE, save, sample, ["--max-update", str(n)]),
                               save, total, log, threads)
            score(save / "checkpoint_last.pt", total - plan.base_updates, command, total_updates=total)
        return
    softmax = plan.softmax_checkpoint
    lr = schedule_lr(LM_SCHEDULE, plan.base_updates)
    warmup = max(1, min(plan.extra_updates) // 10)
    start_from, already = softmax, 0
    if arm.converted_bandwidth:
        converted = save / "converted.pt"
        convert = [sys.executable, str(ROOT / "scripts" / "convert_to_fmm.py"), str(softmax), str(converted),
                   "--fmm-bandwidth", str(arm.converted_bandwidth)]
        if not scored(0):
            run_logged(convert, out / "convert.log", threads, ROOT)
        score(converted, 0, convert, total_updates=plan.base_updates)
    if arm.start == "transfer":
        transfer = save / "transfer"
        criterion = ["--criterion", "fmm_attention_transfer"]
        command = train_to(
            lambda n: lm_train_command(plan, arm.model, fine_tune_schedule(plan.transfer_lr, 0), transfer, sample,
                                       ["--max-update", str(n)], softmax, criterion),
            transfer, plan.transfer_updates, out / "transfer.log", threads)
        score(transfer / "checkpoint_last.pt", plan.transfer_updates, command,
              total_updates=plan.base_updates + plan.transfer_updates)
        start_from, already = transfer / "checkpoint_last.pt", plan.transfer_updates
    for extra in plan.extra_updates:
        if scored(extra):
            continue
        command = train_to(
            lambda n: lm_train_command(plan, arm.model, fine_tune_schedule(lr, warmup), save, sample,
                                       ["--max-update", str(n)], start_from),
            save, extra - already, log, threads)
        score(save / "checkpoint_last.pt", extra, command, total_updates=plan.base_updates + extra)


def run_context_arm(arm: Arm, plan: Plan, threads: int) -> None:
    """Fine-tunes at the long sample length for the same training time, then scores at 1x and 2x it."""
    out, save = plan.out_root / arm.name, plan.save_root / arm.name
    result_path = out / "result.json"
    if result_path.exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    save.mkdir(parents=True, exist_ok=True)
    long = plan.long_tokens_per_sample
    # fairseq carries the training time of --finetune-from-model's checkpoint into --stop-time-hours
    already = training_seconds(plan.softmax_checkpoint)
    stop_hours = (already + plan.context_hours * 3600) / 3600
    command = lm_train_command(
        plan, arm.model + ["--max-target-positions", str(2 * long)],
        fine_tune_schedule(schedule_lr(LM_SCHEDULE, plan.base_updates), max(1, min(plan.extra_updates) // 10)),
        save, long, ["--stop-time-hours", f"{stop_hours:.6f}", "--max-update", "1000000"], plan.softmax_checkpoint,
    )
    print(f"[{arm.name}] fine-tuning at {long} tokens per sample for {plan.context_hours} h", flush=True)
    training = run_measured(command, out / "train.log", threads, ROOT)
    updates = checkpoint_updates(save / "checkpoint_last.pt")
    train_seconds = training_seconds(save / "checkpoint_last.pt") - already
    scores = {}
    for length in (long, 2 * long):
        for subset in ("valid", "test"):
            print(f"[{arm.name}] eval-lm {subset} at {length} tokens per sample", flush=True)
            scores[f"{subset}_{length}"] = eval_lm(plan, save / "checkpoint_last.pt", subset, length, out / "eval.log", threads)
    record(result_path, {
        "arm": arm.name, "label": arm.label, "updates": updates, "train_seconds": round(train_seconds),
        "seconds_per_update": round(train_seconds / max(updates, 1), 3), "train_peak_mib": round(training.peak_mib),
        "threads": threads, "scores": scores, "command": relative(command),
    })


def bleu(data: Path, checkpoint: Path, log: Path, threads: int) -> float:
    command = [sys.executable, str(ROOT / "scripts" / "evaluate_translation.py"), str(data), "--path", str(checkpoint),
               "--beam", "5", "--cpu"]
    output = run_logged(command, log, threads, ROOT)
    return float(re.findall(r"^BLEU = ([\d.]+)", output, re.M)[-1])


def run_translation_arm(arm: Arm, plan: Plan, threads: int) -> None:
    out, save = plan.out_root / arm.name, plan.save_root / arm.name
    out.mkdir(parents=True, exist_ok=True)
    save.mkdir(parents=True, exist_ok=True)
    base = plan.translation_base
    base_updates = checkpoint_updates(base)
    if arm.converted_bandwidth and not (out / "point_0.json").exists():
        converted = save / "converted.pt"
        band = str(arm.converted_bandwidth)
        run_logged([sys.executable, str(ROOT / "scripts" / "convert_to_fmm.py"), str(base), str(converted),
                    "--encoder-fmm-bandwidth", band, "--decoder-fmm-bandwidth", band, "--data", str(plan.translation_data)],
                   out / "convert.log", threads, ROOT)
        record(out / "point_0.json", {"arm": arm.name, "label": arm.label, "extra_updates": 0,
                                      "bleu": bleu(plan.translation_data, converted, out / "eval.log", threads)})
    extra = plan.translation_extra_updates
    if (out / f"point_{extra}.json").exists():
        return
    lr = schedule_lr(TRANSLATION_SCHEDULE, base_updates)
    command_for = lambda n: [  # noqa: E731
        str(BIN / "fairseq-train"), str(plan.translation_data), "--task", "translation", "--user-dir", "fmm_fairseq",
        *arm.model, *plan.translation_model_size, *TRANSLATION_LOSS, *fine_tune_schedule(lr, max(1, extra // 10)),
        "--max-tokens", "2048", "--max-update", str(n), "--finetune-from-model", str(base), "--seed", "1",
        "--no-epoch-checkpoints", "--save-dir", str(save), "--cpu", "--num-workers", "0", "--no-progress-bar",
        "--log-interval", str(max(1, extra // 4)),
    ]
    print(f"[{arm.name}] fine-tuning {extra} updates from {relative(base)}", flush=True)
    command = train_to(command_for, save, extra, out / "train.log", threads)
    record(out / f"point_{extra}.json", {
        "arm": arm.name, "label": arm.label, "extra_updates": extra,
        "bleu": bleu(plan.translation_data, save / "checkpoint_last.pt", out / "eval.log", threads),
        "command": relative(command),
    })


def score_translation_base(plan: Plan, threads: int) -> None:
    path = plan.out_root / "mt_base.json"
    if not path.exists():
        plan.out_root.mkdir(parents=True, exist_ok=True)
        base = plan.translation_base
        record(path, {"updates": checkpoint_updates(base), "checkpoint": relative(base),
                      "bleu": bleu(plan.translation_data, base, plan.out_root / "mt_base.log", threads)})


def run_parallel(jobs, parallel: int, prerequisite=None) -> None:
    """Runs (function, arm) jobs ``parallel`` at a time; with a ``prerequisite`` job (submitted first),
    those whose arm starts from it (not from scratch) wait for it. Raises after all ended if any failed."""
    errors = []
    with ThreadPoolExecutor(parallel) as pool:
        futures = {}
        if prerequisite is not None:
            futures[prerequisite[1].name] = pool.submit(*prerequisite)
            first = futures[prerequisite[1].name]

        def after_prerequisite(job, arm):
            if prerequisite is not None and arm.start != "scratch" and first.exception() is not None:
                return  # reported once, below
            job(arm)

        for job, arm in jobs:
            futures[arm.name] = pool.submit(after_prerequisite, job, arm)
        for name, future in futures.items():
            if future.exception():
                errors.append(f"[{name}] {future.exception()}")
    if errors:
        raise StudyError("\n".join(errors))


def load_points(out_root: Path) -> Dict[str, Dict[int, dict]]:
    points: Dict[str, Dict[int, dict]] = {}
    for path in sorted(out_root.glob("*/point_*.json")):
        value = json.loads(path.read_text())
        points.setdefault(value["arm"], {})[value["extra_updates"]] = value
    return points


def lm_table(points: Dict[str, Dict[int, dict]], plan: Plan) -> List[str]:
    base = points.get("softmax", {}).get(0)
    rows = ["| model | extra updates | total updates | valid ppl | test ppl | valid / softmax model |",
            "|---|---:|---:|---:|---:|---:|"]
    for extra in [0, plan.transfer_updates] + plan.extra_updates:
        for arm in LM_ARMS:
            point = points.get(arm.name, {}).get(extra)
            if point is None:
                continue
            ratio = f"{point['valid_ppl'] / base['valid_ppl']:.3f}" if base else "–"
            label = arm.label + (" (no fine-tuning)" if extra == 0 and arm.start != "scratch" else "")
            if arm.start == "transfer":
                label += f" ({plan.transfer_updates} of them)" if extra > plan.transfer_updates else " (transfer only)"
            rows.append(f"| {label} | {extra:,} | {point['total_updates']:,} | {point['valid_ppl']:.2f} "
                        f"| {point['test_ppl']:.2f} | {ratio} |")
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
    for arm, point in converted:
        ratio = point["valid_ppl"] / base["valid_ppl"]
        lines.append(f"- {arm.label}: {point['valid_ppl']:.2f}, {ratio:.3f}x ({'met' if ratio <= 1.02 else 'missed'}); "
                     f"{'beats' if point['valid_ppl'] < scratch['valid_ppl'] else 'does not beat'} FMM from scratch.")
    return lines


def context_table(out_root: Path, plan: Plan) -> List[str]:
    long = plan.long_tokens_per_sample
    rows = [f"| model | updates in {plan.context_hours} h | s/update | training peak MiB | valid ppl @{long:,} "
            f"| test ppl @{long:,} | valid ppl @{2 * long:,} | test ppl @{2 * long:,} | eval-lm test @{2 * long:,}: s, peak MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for arm in CONTEXT_ARMS:
        path = out_root / arm.name / "result.json"
        if not path.exists():
            rows.append(f"| {arm.label} | not run yet ||||||||")
            continue
        r = json.loads(path.read_text())
        s = r["scores"]
        rows.append(
            f"| {arm.label} | {r['updates']:,} | {r['seconds_per_update']:.2f} | {r['train_peak_mib']:,} "
            f"| {s[f'valid_{long}']['ppl']:.2f} | {s[f'test_{long}']['ppl']:.2f} | {s[f'valid_{2 * long}']['ppl']:.2f} "
            f"| {s[f'test_{2 * long}']['ppl']:.2f} | {s[f'test_{2 * long}']['seconds']:.0f}, {s[f'test_{2 * long}']['peak_mib']:,} |"
        )
    return rows


def translation_table(points: Dict[str, Dict[int, dict]], out_root: Path) -> List[str]:
    rows = ["| model | fine-tuning updates | test BLEU (beam 5) |", "|---|---:|---:|"]
    base_path = out_root / "mt_base.json"
    if base_path.exists():
        base = json.loads(base_path.read_text())
        rows.append(f"| transformer ({base['updates']} updates, `{base['checkpoint']}`) | 0 | {base['bleu']:.2f} |")
    for arm in TRANSLATION_ARMS:
        for extra, point in sorted(points.get(arm.name, {}).items()):
            label = arm.label.replace(", fine-tuned", "") if extra == 0 else arm.label
            rows.append(f"| {label} | {extra} | {point['bleu']:.2f} |")
    return rows


def write_report(plan: Plan, docs: Path, command: str) -> None:
    points = load_points(plan.out_root)
    commands = sorted({(name, extra, p["command"]) for name, by_extra in points.items() for extra, p in by_extra.items()
                       if "command" in p})
    lines = [
        "# From a softmax checkpoint: conversion to FMM and fine-tuning",
        "",
        "Produced by `scripts/run_conversion_study.py` (rewritten after every finished stage).",
        "",
        f"    {command}",
        "",
        f"Model: `{' '.join(plan.model_size)}` (dropout 0.1), seed 1, {plan.tokens_per_update:,} tokens per update. "
        f"The softmax model and FMM from scratch: schedule `{' '.join(LM_SCHEDULE)}`. Fine-tunes start from the softmax "
        f"model's `checkpoint_last.pt` ({plan.base_updates:,} updates) with Adam reset and the learning rate its "
        f"schedule had reached, {schedule_lr(LM_SCHEDULE, plan.base_updates):.6g}, fixed after a warmup of "
        f"{max(1, min(plan.extra_updates) // 10)} updates. Attention transfer: `--criterion fmm_attention_transfer`, "
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
        *context_table(plan.out_root, plan),
        "",
        "## Translation (Bible EN-ES)",
        "",
        *translation_table(points, plan.out_root),
        "",
    ]
    if commands:
        lines += ["## Commands", ""] + [f"- `{name}` at {extra}: `{text}`" for name, extra, text in commands]
        lines += [f"- `{arm.name}`: `{json.loads((plan.out_root / arm.name / 'result.json').read_text())['command']}`"
                  for arm in CONTEXT_ARMS if (plan.out_root / arm.name / "result.json").exists()]
        lines.append("")
    write_keeping_notes(docs, lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = Plan(Path(), Path(), Path())
    parser.add_argument("--data", type=Path, default=ROOT / "data-bin" / "linux-doc",
                        help="binarised LM corpus (built with scripts/prepare_lm_data.py when missing)")
    parser.add_argument("--save-root", type=Path, default=ROOT / "checkpoints" / "conversion")
    parser.add_argument("--out-root", type=Path, default=ROOT / "runs" / "conversion")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "conversion.md")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated among {', '.join(STAGES)}")
    parser.add_argument("--only", help=f"comma-separated arms among {', '.join(ARM_NAMES)} (softmax is always trained)")
    parser.add_argument("--base-updates", type=int, default=defaults.base_updates, help="updates of the softmax model")
    parser.add_argument("--extra-updates", type=positive_ints, default=defaults.extra_updates,
                        help="fine-tuning budgets scored (comma-separated)")
    parser.add_argument("--transfer-updates", type=int, default=defaults.transfer_updates)
    parser.add_argument("--transfer-lr", type=float, default=defaults.transfer_lr)
    parser.add_argument("--validate-every", type=int, default=defaults.validate_every)
    parser.add_argument("--tokens-per-sample", type=int, default=defaults.tokens_per_sample)
    parser.add_argument("--long-tokens-per-sample", type=int, default=defaults.long_tokens_per_sample)
    parser.add_argument("--tokens-per-update", type=int, default=defaults.tokens_per_update)
    parser.add_argument("--context-hours", type=float, default=defaults.context_hours,
                        help="training time of each context-extension fine-tune")
    parser.add_argument("--translation-data", type=Path, default=defaults.translation_data)
    parser.add_argument("--translation-base", type=Path, default=defaults.translation_base,
                        help="softmax transformer checkpoint (made by scripts/compare_translation.py)")
    parser.add_argument("--translation-extra-updates", type=int, default=defaults.translation_extra_updates)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads in all")
    parser.add_argument("--parallel", type=int, default=2, help="runs trained at once, the threads split between them")
    parser.add_argument("--model-size", help="override the LM size flags (tests use a smaller model)")
    parser.add_argument("--translation-model-size", help="override the translation size flags (those of the base)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)

    stages = [stage.strip() for stage in args.stages.split(",") if stage.strip()]
    unknown = sorted(set(stages) - set(STAGES)) or (
        sorted({n.strip() for n in args.only.split(",") if n.strip()} - set(ARM_NAMES)) if args.only else [])
    if unknown:
        parser.error(f"unknown stage(s) or arm(s): {', '.join(unknown)}")
    for option in ("base_updates", "transfer_updates", "validate_every", "tokens_per_sample", "long_tokens_per_sample",
                   "tokens_per_update", "translation_extra_updates", "threads", "parallel"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be >= 1")
    if args.transfer_updates >= min(args.extra_updates):
        parser.error("--transfer-updates must be fewer than the smallest of --extra-updates (they count in it)")
    if args.context_hours <= 0 or args.transfer_lr <= 0:
        parser.error("--context-hours and --transfer-lr must be > 0")
    plan = Plan(
        args.data, args.save_root, args.out_root, args.base_updates, args.extra_updates, args.transfer_updates,
        args.transfer_lr, args.validate_every, args.tokens_per_sample, args.long_tokens_per_sample,
        args.tokens_per_update, args.context_hours, args.translation_data, args.translation_base,
        args.translation_extra_updates, args.threads, args.parallel,
    )
    if args.model_size:
        plan.model_size = args.model_size.split()
    if args.translation_model_size:
        plan.translation_model_size = args.translation_model_size.split()
    chosen = set(ARM_NAMES) if not args.only else {n.strip() for n in args.only.split(",") if n.strip()}
    command = (
        f"python scripts/run_conversion_study.py --base-updates {plan.base_updates} --extra-updates "
        f"{','.join(map(str, plan.extra_updates))} --transfer-updates {plan.transfer_updates} --validate-every "
        f"{plan.validate_every} --context-hours {plan.context_hours} --translation-extra-updates "
        f"{plan.translation_extra_updates} --threads {plan.threads} --parallel {plan.parallel}"
    )
    if not args.report_only:
        if "translation" in stages and any(arm.name in chosen for arm in TRANSLATION_ARMS) and not plan.translation_base.exists():
            parser.error(f"--translation-base {plan.translation_base} does not exist: run "
                         "`python scripts/compare_translation.py --max-update 600` first, or leave out --stages translation")
        if not (plan.data / "dict.txt").exists():
            subprocess.run([sys.executable, str(ROOT / "scripts" / "prepare_lm_data.py"), "--destdir", str(plan.data)],
                           check=True)
        threads = max(1, plan.threads // plan.parallel)
        try:
            if "lm" in stages or "context" in stages:
                # every fine-tune starts from the softmax model; FMM from scratch trains beside it
                lm_job = lambda arm: run_lm_arm(arm, plan, threads)  # noqa: E731
                rest = [arm for arm in LM_ARMS[1:] if arm.name in chosen and "lm" in stages]
                run_parallel([(lm_job, arm) for arm in rest], plan.parallel, prerequisite=(lm_job, LM_ARMS[0]))
                write_report(plan, args.docs, command)
            if "context" in stages:  # both at once and nothing else, so that they see the same machine
                arms = [arm for arm in CONTEXT_ARMS if arm.name in chosen]
                if arms:
                    each = max(1, plan.threads // len(arms))
                    run_parallel([(lambda arm: run_context_arm(arm, plan, each), arm) for arm in arms], len(arms))
                write_report(plan, args.docs, command)
            if "translation" in stages:
                arms = [arm for arm in TRANSLATION_ARMS if arm.name in chosen]
                score_translation_base(plan, plan.threads)
                run_parallel([(lambda arm: run_translation_arm(arm, plan, threads), arm) for arm in arms], plan.parallel)
        except StudyError as error:
            print(f"error: {error}", file=sys.stderr)
            write_report(plan, args.docs, command)
            return 1
    write_report(plan, args.docs, command)
    print(f"report: {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
