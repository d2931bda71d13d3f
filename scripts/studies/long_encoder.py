#!/usr/bin/env python
"""Long-encoder study: a RoBERTa trained at 512 tokens extended to 4,096 (fmm-convert --max-positions),
pretrained on briefly at 4,096, and fine-tuned on a task whose label lies past the first 512 tokens.

    python scripts/studies/long_encoder.py                  # every stage, resumable
    python scripts/studies/long_encoder.py --report-only    # rewrite docs/long_encoder.md from its records

Every model: RoBERTa with 2 layers x 128 dims, 4 heads, FFN 512 (``MODEL_SIZE``); the FMM ones with
a band of ``--bandwidth`` (w, both sides) and the default far field, far weight learned.

* ``pretrain`` — fairseq's ``roberta_base`` at that size, ``masked_lm`` on the Linux documentation
  (``fmm-prepare-lm``) at 512 tokens per sample.
* ``convert`` — ``fmm-convert --max-positions 4096`` of it, new positions copied (Longformer's
  initialisation) and random; masked-LM valid loss (``fairseq-validate``) at 512 and at 4,096.
* ``continue`` — both conversions pretrained on at 4,096 tokens per sample (equal updates, the same
  tokens per update as the pretraining), scored again; fairseq's softmax RoBERTa trained a few updates
  at 4,096 for its seconds per update and peak memory beside FMM's.
* ``classify`` — ``fmm-prepare-long-docs`` (a passage's topic, the passage after 768-3,072 pieces of
  other documentation): ``sentence_prediction`` fine-tuned from the masked-LM checkpoints, softmax
  truncated at 512 and FMM at 4,096 (continued from the copied positions) with RoBERTa's first-token
  head and with a head on the mean over all tokens (``--classification-pooling mean``); test accuracy
  with its standard error.

Interrupted? Run it again: finished runs (a record in docs/long_encoder.json) are skipped, unfinished
ones resume from their checkpoint_last.pt.
"""
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List

from fmm_tools.cli_types import positive_int
from fmm_tools.paths import BIN, ROOT, relative
from fmm_tools.studies import skeleton
from fmm_tools.studies.fairseq_output import FairseqOutputError, json_records, seconds_per_update
from fmm_tools.studies.recipes import STUDY_RUN_FLAGS
from fmm_tools.studies.skeleton import Line, Panel, Records, Run, Stage, Study, Trained

SCRIPT = "scripts/studies/long_encoder.py"
STAGES = [
    Stage("pretrain", "softmax RoBERTa, masked LM at 512"),
    Stage("convert", "extended to 4,096: copied and random positions"),
    Stage("continue", "masked LM at 4,096 from each; softmax's cost at 4,096"),
    Stage("classify", "topic of a passage past 512 tokens"),
]
MODEL_SIZE = ["--encoder-layers", "2", "--encoder-embed-dim", "128", "--encoder-ffn-embed-dim", "512", "--encoder-attention-heads", "4"]
SCHEDULE = ["--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "1.0", "--lr-scheduler", "inverse_sqrt"]
SOFTMAX = ["--user-dir", "fmm_fairseq", "--arch", "roberta_base"]  # the plugin lets torch >= 2.6 read fairseq's checkpoints
INITS = ("copy", "random")
CLASSIFIERS = {  # name -> (label, the masked-LM run it starts from, reads the long length?, extra options)
    "softmax512": ("softmax RoBERTa, truncated at {short}", "pretrain", False, []),
    "fmm4096": ("FMM RoBERTa at {long:,} (copied positions, continued), first-token head", "continue:copy", True, []),
    "fmm4096_mean": ("FMM RoBERTa at {long:,} (copied positions, continued), mean-pooling head", "continue:copy", True,
                     ["--classification-pooling", "mean"]),
}


@dataclass
class Budget:
    """The settings every record keeps."""

    pretrain_updates: int = 3000
    continue_updates: int = 300
    classify_updates: int = 400
    cost_updates: int = 12
    short: int = 512
    long: int = 4096
    tokens_per_update: int = 8192
    classify_batch: int = 8
    bandwidth: int = 128
    lr: float = 0.001
    model_size: List[str] = field(default_factory=lambda: list(MODEL_SIZE))
    mlm_data: str = "data-bin/linux-doc"
    topics_data: str = "data-bin/linux-doc-topics"
    save_root: str = "checkpoints/long_encoder"

    def fmm(self) -> List[str]:
        return ["--user-dir", "fmm_fairseq", "--arch", "fmm_roberta", "--fmm-bandwidth", str(self.bandwidth), "--fmm-learn-far-weight"]

    def schedule(self, warmup: int) -> List[str]:
        return [*SCHEDULE, "--lr", str(self.lr), "--warmup-updates", str(warmup)]


def masked_lm(budget: Budget, model: List[str], tokens: int, updates: int, warmup: int, extra=()) -> List[str]:
    return [budget.mlm_data, "--task", "masked_lm", "--criterion", "masked_lm", *model, *budget.model_size, *extra,
            "--tokens-per-sample", str(tokens), "--max-positions", str(tokens), "--batch-size",
            str(budget.tokens_per_update // tokens), "--max-update", str(updates), *budget.schedule(warmup), *STUDY_RUN_FLAGS,
            "--validate-interval-updates", str(max(1, updates // 6)), "--save-interval-updates", str(max(1, updates // 6)),
            "--log-interval", str(max(1, updates // 30))]


def runs(records: Records) -> List[Run]:
    budget = Budget(**records.settings)
    save_root = ROOT / budget.save_root
    lengths = {"short": budget.short, "long": budget.long}
    declared = [Run("pretrain", f"softmax RoBERTa at {budget.short}", masked_lm(budget, SOFTMAX, budget.short, budget.pretrain_updates, 200),
                    stage="pretrain", facts={"kind": "mlm"})]
    for init in INITS:
        declared.append(Run(f"convert:{init}", f"converted to {budget.long:,}, {init} positions", None, stage="convert",
                            after=("pretrain",), facts={"kind": "convert", "init": init}, directory=f"convert_{init}"))
        declared.append(Run(f"continue:{init}", f"converted ({init} positions), then masked LM at {budget.long:,}", masked_lm(
            budget, budget.fmm(), budget.long, budget.continue_updates, 50,
            ["--finetune-from-model", str(save_root / f"convert_{init}" / "converted.pt")]),
            stage="continue", after=(f"convert:{init}",), facts={"kind": "mlm", "init": init}, directory=f"continue_{init}"))
    declared.append(Run("cost:softmax4096", f"softmax RoBERTa at {budget.long:,} (cost only)", masked_lm(
        budget, SOFTMAX, budget.long, budget.cost_updates, 50, ["--disable-validation", "--log-interval", "2"]),
        stage="continue", facts={"kind": "cost"}, directory="cost_softmax4096"))
    for name, (label, start, long, extra) in CLASSIFIERS.items():
        model = budget.fmm() if start != "pretrain" else SOFTMAX
        length = budget.long if long else budget.short
        start_dir = "pretrain" if start == "pretrain" else start.replace(":", "_")
        declared.append(Run(f"classify:{name}", label.format(**lengths), [
            budget.topics_data, "--task", "sentence_prediction", "--criterion", "sentence_prediction", *model, *budget.model_size,
            *extra, "--num-classes", str(classes(budget)), "--init-token", "0", "--separator-token", "2", "--max-positions", str(length),
            "--shorten-method", "truncate", "--batch-size", str(budget.classify_batch), "--max-update", str(budget.classify_updates),
            *budget.schedule(40), "--finetune-from-model", str(save_root / start_dir / "checkpoint_best.pt"), *STUDY_RUN_FLAGS,
            "--validate-interval-updates", str(max(1, budget.classify_updates // 4)),
            "--save-interval-updates", str(max(1, budget.classify_updates // 4)), "--log-interval", str(max(1, budget.classify_updates // 20)),
            "--best-checkpoint-metric", "accuracy", "--maximize-best-checkpoint-metric",
        ], stage="classify", after=(start,), facts={"kind": "classify", "length": length}, directory=f"classify_{name}"))
    return declared


def classes(budget: Budget) -> int:
    summary = ROOT / budget.topics_data / "long_docs.json"
    return len(json.loads(summary.read_text())["settings"]["classes"]) if summary.exists() else 4


def validate(trained: Trained, checkpoint: Path, data: str, task: List[str], subset: str, log: str) -> Dict:
    """fairseq-validate's summary of ``subset`` (json), seconds and peak memory."""
    command = [BIN / "fairseq-validate", data, "--user-dir", "fmm_fairseq", *task, "--path", checkpoint, "--valid-subset", subset,
               "--cpu", "--num-workers", "0", "--required-batch-size-multiple", "1", "--log-format", "json", "--seed", "1"]
    finished = trained.call(command, log)
    found = json_records(finished.log, subset)
    if not found:
        raise FairseqOutputError(f"fairseq-validate printed no summary ({trained.out_dir / log})")
    return {**found[-1], "seconds": round(finished.seconds, 1), "peak_mib": round(finished.peak_mib), "command": relative(command)}


def mlm_losses(budget: Budget, trained: Trained, checkpoint: Path, lengths) -> Dict[str, Dict]:
    """Masked-LM valid loss (base 2) at each length, the same masks for every model (--seed 1)."""
    scores = {}
    for length in lengths:
        result = validate(trained, checkpoint, budget.mlm_data, [
            "--task", "masked_lm", "--criterion", "masked_lm", "--tokens-per-sample", str(length), "--batch-size", str(max(1, budget.tokens_per_update // length))], "valid", f"valid_{length}.log")
        scores[str(length)] = {"loss": float(result["valid_loss"]), "seconds": result["seconds"], "peak_mib": result["peak_mib"],
                               "command": result["command"]}
    return scores


def training_facts(trained: Trained) -> Dict:
    log = trained.log()
    return {"seconds_per_update": round(seconds_per_update(log), 3) if json_records(log, "train_inner") else None,
            "train_peak_mib": round(trained.finished.peak_mib) if trained.finished else None,
            "curve": [{"updates": int(v["valid_num_updates"]), "loss": float(v["valid_loss"]),
                       **({"accuracy": float(v["valid_accuracy"])} if "valid_accuracy" in v else {})}
                      for v in json_records(log, "valid")]}


def score(run: Run, trained: Trained) -> Dict:
    budget, kind = Budget(**trained.settings), run.facts["kind"]
    if kind == "convert":
        pretrained = trained.save_dir.parent / "pretrain" / "checkpoint_best.pt"
        converted = trained.save_dir / "converted.pt"
        command = [BIN / "fmm-convert", pretrained, converted, "--fmm-bandwidth", budget.bandwidth, "--max-positions", budget.long,
                   "--position-init", run.facts["init"]]
        trained.call(command, "convert.log")
        return {"convert_command": relative(command), "valid": mlm_losses(budget, trained, converted, (budget.short, budget.long))}
    if kind == "cost":
        return training_facts(trained)
    best = trained.save_dir / "checkpoint_best.pt"
    if kind == "mlm":
        lengths = (budget.short,) if run.name == "pretrain" else (budget.short, budget.long)
        return {**training_facts(trained), "valid": mlm_losses(budget, trained, best, lengths)}
    length = run.facts["length"]
    result = validate(trained, best, budget.topics_data, [
        "--task", "sentence_prediction", "--criterion", "sentence_prediction", "--num-classes", str(classes(budget)),
        "--init-token", "0", "--separator-token", "2", "--max-positions", str(length), "--shorten-method", "truncate",
        "--batch-size", str(budget.classify_batch)], "test", "test.log")
    accuracy = float(result["test_accuracy"]) / 100
    summary = json.loads((ROOT / budget.topics_data / "long_docs.json").read_text())
    examples = summary["examples"]["test"]
    return {**training_facts(trained), "accuracy": accuracy, "stderr": math.sqrt(accuracy * (1 - accuracy) / examples),
            "examples": examples, "chance": summary["chance"], "task": summary["settings"], "test_command": result["command"]}


# ----------------------------------------------------------------------------------------------- report


def mlm_section(records: Records) -> List[str]:
    budget = Budget(**records.settings)
    pretrain = records.runs.get("pretrain")
    if not pretrain:
        return []
    short, long = str(budget.short), str(budget.long)
    original = pretrain["valid"][short]["loss"]
    lines = [
        f"## Masked LM: {budget.short} -> {budget.long:,} tokens", "",
        f"Valid masked-LM loss (base 2, `fairseq-validate`, the same masks for every model: `--seed 1`). Pretraining "
        f"{budget.pretrain_updates:,} updates of {budget.tokens_per_update:,} tokens at {budget.short}; continued "
        f"pretraining {budget.continue_updates:,} updates of {budget.tokens_per_update:,} tokens at {budget.long:,} "
        f"(band w = {budget.bandwidth}, far weight learned). \"/ orig.\" is the loss over the original's at {budget.short}.", "",
        f"| model | loss at {budget.short} | loss at {budget.long:,} | / orig. | s/update | train peak MiB |",
        "|---|---:|---:|---:|---:|---:|",
        f"| softmax RoBERTa (original, {budget.pretrain_updates:,} updates) | {original:.3f} | (positions end at {budget.short}) | 1.000 "
        f"| {pretrain['seconds_per_update'] or 0:.2f} | {pretrain['train_peak_mib'] or 0:,} |",
    ]
    for init in INITS:
        for name in (f"convert:{init}", f"continue:{init}"):
            r = records.runs.get(name)
            if r:
                loss = r["valid"][long]["loss"]
                cost = (f"{r['seconds_per_update']:.2f} | {r['train_peak_mib']:,}" if r.get("seconds_per_update") else "– | –")
                lines.append(f"| {r['label']} | {r['valid'][short]['loss']:.3f} | {loss:.3f} | {loss / original:.3f} | {cost} |")
    cost = records.runs.get("cost:softmax4096")
    if cost:
        lines.append(f"| {cost['label']} | | | | {cost['seconds_per_update'] or 0:.2f} | {cost['train_peak_mib'] or 0:,} |")
    return lines + [""]


def classify_section(records: Records) -> List[str]:
    budget = Budget(**records.settings)
    results = [(name, records.runs[f"classify:{name}"]) for name in CLASSIFIERS if f"classify:{name}" in records.runs]
    if not results:
        return []
    first = results[0][1]
    task = first["task"]
    lines = [
        "## Long-document classification", "",
        f"`fmm-prepare-long-docs` ({budget.topics_data}): the topic ({', '.join(task['classes'])}; chance {first['chance']:.2f}) "
        f"of a passage of up to {task['passage_tokens']:,} pieces that starts after {task['min_offset']:,}-{task['max_offset']:,} "
        "pieces of documentation from other folders; documents split 70/10/20 by path. `sentence_prediction` for {budget.classify_updates:,} updates of {budget.classify_batch} examples "
        f"from each masked-LM checkpoint; test accuracy (`fairseq-validate`, {first['examples']:,} examples, "
        "checkpoint with the best valid accuracy) ± its standard error.", "",
        "| model | reads | test accuracy | s/update |", "|---|---:|---:|---:|",
    ]
    for _, r in results:
        lines.append(f"| {r['label']} | {r['length']:,} | {100 * r['accuracy']:.1f} ± {100 * r['stderr']:.1f} "
                     f"| {r['seconds_per_update'] or 0:.2f} |")
    return lines + [""]


def report(records: Records) -> List[str]:
    budget = Budget(**records.settings)
    lines = [f"Model for every run: `{' '.join(budget.model_size)}`, schedule `{' '.join(budget.schedule(200))}` "
             "(warm-up 50 when continuing, 40 when fine-tuning); one CPU thread per run, two runs at a time.", "",
             *mlm_section(records), *classify_section(records)]
    if records.runs:
        lines += [f"![valid curves]({records.curves.name})", "", "## Exact commands", ""]
        for name, r in records.runs.items():
            for key in ("convert_command", "command", "test_command"):
                if key in r:
                    lines.append(f"- `{name}`: `{r[key]}`")
        example = next((r for r in records.runs.values() if "valid" in r), None)
        if example:
            lines += ["", "Scored with, e.g.:", "", f"    {next(iter(example['valid'].values()))['command']}"]
        lines.append("")
    return lines


def curves(records: Records) -> List[Panel]:
    mlm = [Line(r["label"], [(p["updates"], p["loss"]) for p in r["curve"]]) for r in records.runs.values()
           if r.get("kind") == "mlm" and r.get("curve")]
    accuracy = [Line(r["label"], [(p["updates"], p["accuracy"]) for p in r["curve"] if "accuracy" in p])
                for r in records.runs.values() if r.get("kind") == "classify" and r.get("curve")]
    return [panel for panel in (Panel(mlm, "valid masked-LM loss (base 2)", title="masked LM"),
                                Panel(accuracy, "valid accuracy (%)", title="classification")) if panel.lines]


def main(argv=None) -> int:
    parser = skeleton.study_parser(__doc__, STAGES, page=ROOT / "docs" / "long_encoder.md",
                                   save_root=ROOT / "checkpoints" / "long_encoder", out_root=ROOT / "runs" / "long_encoder",
                                   parallel=2, thread_per_run=True)
    for name in ("pretrain_updates", "continue_updates", "classify_updates", "cost_updates", "short", "long", "tokens_per_update",
                 "classify_batch", "bandwidth"):
        parser.add_argument("--" + name.replace("_", "-"), type=positive_int, default=getattr(Budget, name), help="(default %(default)s)")
    parser.add_argument("--model-size", help="override the model size flags (tests use a smaller model)")
    parser.add_argument("--mlm-data", type=Path, default=ROOT / Budget.mlm_data, help="built when missing (fmm-prepare-lm)")
    parser.add_argument("--topics-data", type=Path, default=ROOT / Budget.topics_data, help="built when missing (fmm-prepare-long-docs)")
    args = parser.parse_args(argv)
    args.threads = args.threads or args.parallel
    numbers = {name: getattr(args, name) for name in ("pretrain_updates", "continue_updates", "classify_updates", "cost_updates",
                                                       "short", "long", "tokens_per_update", "classify_batch", "bandwidth")}
    budget = Budget(**numbers, mlm_data=relative(args.mlm_data), topics_data=relative(args.topics_data),
                    save_root=relative(args.save_root))
    if args.model_size:
        budget.model_size = args.model_size.split()
    if args.long <= args.short:
        parser.error(f"--long {args.long} must exceed --short {args.short}")
    command = f"python {SCRIPT} " + " ".join(f"--{name.replace('_', '-')} {value}" for name, value in numbers.items()
                                             if value != getattr(Budget, name))
    if not args.report_only:
        if not (args.mlm_data / "dict.txt").exists():
            skeleton.prepare_data("fmm-prepare-lm", "--destdir", args.mlm_data)
        if not (args.topics_data / "long_docs.json").exists():
            skeleton.prepare_data("fmm-prepare-long-docs", "--spm-dir", args.mlm_data, "--destdir", args.topics_data)
    study = Study("Long inputs for RoBERTa: 512 -> 4,096 tokens", SCRIPT, STAGES, runs=runs, score=score, report=report,
                  curves=curves)
    return skeleton.run_study(study, args, asdict(budget), command.strip())


if __name__ == "__main__":
    sys.exit(main())
