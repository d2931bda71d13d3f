#!/usr/bin/env python
"""Multi-query associative recall (MQAR, Zoology): which attention recalls beyond the band, and at which state size.

    python scripts/studies/recall.py                                  # every stage, resumable
    python scripts/studies/recall.py --tasks 64:4 --widths 64 --only softmax,band,fmm
    python scripts/studies/recall.py --report-only                    # rewrite docs/recall.md from docs/recall.json

Data: ``fmm-prepare-mqar`` (built when missing) for each ``--tasks`` T:P — lines of T tokens opening with P
key-value pairs, each key asked once more later (gaps biased toward short ones, Zoology's power law) and
followed by its value. V = ``--vocab`` (512 by default, not Zoology's 8,192: on a CPU the output
projection would dominate every update; keys stay distinct within a line, so V sets only chance, 2 / V).

The budget: recall is learned in a jump, late. A pilot (this recipe at T = 64, P = 4, width 64, lr
0.003, but softmax post-LayerNorm and 20,000 training lines) sat at 0.25-0.39 valid accuracy (it knew the
answer is one of the line's 4 values, not which) for 4,750 updates, then reached 0.84 at 5,000 and
0.99 at 5,625. Hence 8,000 updates by default, one learning rate (``--lrs`` sweeps several), and a
sweep shorter than the jump chooses nothing: with several rates, give ``--sweep-updates`` past it.

Every run: ``fairseq-train --task language_modeling --sample-break-mode eos --criterion
answer_cross_entropy`` (the loss at the answers only, as Zoology trains), 2 layers of width W
(``--widths``), heads of 32 dims, FFN 4W, pre-LayerNorm (``--decoder-normalize-before``, as
``fmmformer_lm_long`` has it by its base architecture), no dropout, Adam with weight decay 0.1,
inverse-sqrt schedule; ``--batch-size`` lines per update. Only the attention differs (ARMS).

Stages: ``sweep`` trains every (task, width, arm) at each learning rate of ``--lrs`` for
``--sweep-updates``; ``train`` continues the learning rate with the best final valid accuracy to
``--updates`` (the schedule does not depend on the length of training, so a continued run equals one
trained to ``--updates`` from the start) and scores its last checkpoint on the test split with
``fmm-recall``: accuracy overall and by gap (inside the band of 20, just outside, far). State size
per layer, in numbers: softmax 2·T·W (the keys and values it keeps), band 2·w·W, far field
heads · maps · F · (d_head + 1) (F features per map: d_head, or the projected map's count).
Two runs train at a time, one thread each; interrupted runs resume from their checkpoint_last.pt.
"""
import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from fmm_tools.cli_types import positive_float, positive_int, positive_ints
from fmm_tools.paths import BIN, ROOT, relative
from fmm_tools.studies import skeleton
from fmm_tools.studies.fairseq_output import json_records, training_seconds
from fmm_tools.studies.recipes import STUDY_RUN_FLAGS
from fmm_tools.studies.skeleton import Line, Panel, Records, Run, Stage, Study, Trained

SCRIPT = "scripts/studies/recall.py"
STAGES = [Stage("sweep", "every arm at each --lrs for --sweep-updates"),
          Stage("train", "the best learning rate continued to --updates, scored on the test split")]
HEAD_DIM = 32
BAND = 20  # the band of every FMM arm (fmmformer_lm's default), and the first gap bucket's edge
FMM = ["--arch", "fmmformer_lm"]
NO_POSITIONS = ["--no-token-positional-embeddings"]
SPLIT = ["--fmm-far-outside-band", "--fmm-learn-far-weight"]
DECAY = ["--fmm-far-horizons", "32,1024"]
ALIBI = ["--fmm-near-alibi"]


def taylor_features(dimension: int) -> int:
    """Features of the 2nd-order Taylor map on ``dimension`` numbers: 1 + d + d(d+1)/2."""
    return 1 + dimension + dimension * (dimension + 1) // 2


@dataclass(frozen=True)
class Arm:
    """An attention under test: its fairseq flags, the band it keeps and its far field's size."""

    label: str
    family: str  # one line per family in the accuracy-against-state plot
    flags: List[str]
    band: int = 0  # keys in the band (0: none; -1: every key, softmax)
    maps: int = 0  # far-field feature maps
    features: Callable[[int], int] = lambda head_dim: head_dim  # F of each map, from the head's dimension

    def state_size(self, length: int, width: int) -> int:
        """Numbers one layer keeps to attend to the next token (see the module's docstring)."""
        if self.band < 0:
            return 2 * length * width
        far = (width // HEAD_DIM) * self.maps * self.features(HEAD_DIM) * (HEAD_DIM + 1)
        return 2 * self.band * width + far


# the band whose state equals FMM default's at any width: (2·w·W + W/d·2·d·(d + 1)) / 2W = w + d + 1 = 53
FMM_STATE_BAND = BAND + HEAD_DIM + 1
ARMS: Dict[str, Arm] = {
    "softmax": Arm("softmax (transformer_lm)", "softmax", ["--arch", "transformer_lm"], band=-1),
    "band": Arm("band only, w = 20", "band", FMM + ["--fmm-feature-maps", "none"], band=BAND),
    "band_state": Arm(f"band only, w = {FMM_STATE_BAND} (FMM's state)", "band",
                      FMM + ["--fmm-feature-maps", "none", "--fmm-bandwidth", str(FMM_STATE_BAND)], band=FMM_STATE_BAND),
    "linear": Arm("linear only (elu, elu_flip)", "linear", FMM + ["--fmm-bandwidth", "0"], maps=2),
    "linear_taylor": Arm("linear only, Taylor map on 16 projected dims", "linear, Taylor",
                         FMM + ["--fmm-bandwidth", "0", "--fmm-feature-maps", "taylor", "--fmm-far-feature-dim", "16",
                                "--fmm-feature-norm", "none"], maps=1, features=lambda _: taylor_features(16)),
    "fmm": Arm("FMM default (band 20 + elu, elu_flip)", "FMM", FMM, band=BAND, maps=2),
    "fmm_long": Arm("fmmformer_lm_long", "FMM long", ["--arch", "fmmformer_lm_long"], band=BAND, maps=2),
    "fmm_long_positions": Arm("fmmformer_lm_long's setting with positions", "FMM long ablations",
                              FMM + SPLIT + DECAY + ALIBI, band=BAND, maps=2),
    "fmm_long_no_decay": Arm("fmmformer_lm_long's setting without decay", "FMM long ablations",
                             FMM + NO_POSITIONS + SPLIT + ALIBI, band=BAND, maps=2),
    "fmm_long_no_split": Arm("fmmformer_lm_long's setting, far field over the band too", "FMM long ablations",
                             FMM + NO_POSITIONS + ["--fmm-learn-far-weight"] + DECAY + ALIBI, band=BAND, maps=2),
    "fmm_long_no_alibi": Arm("fmmformer_lm_long's setting without the in-band bias", "FMM long ablations",
                             FMM + NO_POSITIONS + SPLIT + DECAY, band=BAND, maps=2),
    "fmm_split": Arm("FMM, far field outside the band", "FMM designs", FMM + SPLIT, band=BAND, maps=2),
    "fmm_swax": Arm("FMM, band randomly shortened in training (1-20)", "FMM designs",
                    FMM + ["--fmm-train-min-bandwidth", "1"], band=BAND, maps=2),
    "fmm_taylor": Arm("FMM, Taylor map on 16 projected dims", "FMM Taylor",
                      FMM + ["--fmm-feature-maps", "taylor", "--fmm-far-feature-dim", "16", "--fmm-feature-norm", "none"],
                      band=BAND, maps=1, features=lambda _: taylor_features(16)),
    "fmm_hedgehog": Arm("FMM, learned map (projection + softmax, softmax_flip)", "FMM designs",
                        FMM + ["--fmm-feature-maps", "softmax,softmax_flip", "--fmm-far-feature-dim", str(HEAD_DIM)],
                        band=BAND, maps=2),
}


@dataclass(frozen=True)
class Budget:
    data_root: str  # the MQAR sets' folder
    tasks: List[Tuple[int, int]]  # (T, P)
    widths: List[int]
    vocab: int
    train_lines: int
    batch_size: int
    lrs: List[float]
    sweep_updates: int
    updates: int
    warmup: int
    validate_every: int
    arms: List[str] = field(default_factory=lambda: list(ARMS))

    def train_arguments(self, arm: Arm, length: int, pairs: int, width: int, lr: float, updates: int) -> List[str]:
        """fairseq-train's arguments (the skeleton adds --seed and --save-dir)."""
        return [
            relative(data_path(self.data_root, self.vocab, length, pairs)), "--user-dir", "fmm_fairseq", "--task", "language_modeling",
            "--sample-break-mode", "eos", "--tokens-per-sample", str(length + 1), "--criterion", "answer_cross_entropy",
            *arm.flags, "--decoder-layers", "2", "--decoder-embed-dim", str(width), "--decoder-ffn-embed-dim", str(4 * width),
            "--decoder-input-dim", str(width), "--decoder-output-dim", str(width),
            "--decoder-attention-heads", str(width // HEAD_DIM), "--share-decoder-input-output-embed",
            "--decoder-normalize-before", "--dropout", "0", "--attention-dropout", "0",
            "--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--weight-decay", "0.1", "--clip-norm", "1.0",
            "--lr", f"{lr:g}", "--lr-scheduler", "inverse_sqrt", "--warmup-updates", str(self.warmup),
            "--batch-size", str(self.batch_size), "--max-update", str(updates),
            "--validate-interval-updates", str(self.validate_every), "--save-interval-updates", str(self.validate_every),
            "--log-interval", str(max(1, self.validate_every // 5)), *STUDY_RUN_FLAGS,
        ]


def data_path(root: str, vocab: int, length: int, pairs: int) -> Path:
    return ROOT / root / f"mqar-T{length}-P{pairs}-V{vocab}"


def directory(length: int, width: int, arm: str, lr: float) -> str:
    return f"T{length}_w{width}_{arm}_lr{lr:g}"


def sweep_name(length: int, width: int, arm: str, lr: float) -> str:
    return f"sweep:T{length}:w{width}:{arm}:lr{lr:g}"


def train_name(length: int, width: int, arm: str) -> str:
    return f"train:T{length}:w{width}:{arm}"


def best_lr(records: Records, length: int, width: int, arm: str, lrs: List[float]) -> Optional[float]:
    """The learning rate whose sweep run ended with the best valid accuracy (None until all have)."""
    finished = [(records.runs[sweep_name(length, width, arm, lr)]["final_valid_accuracy"], lr) for lr in lrs
                if sweep_name(length, width, arm, lr) in records.runs]
    return max(finished)[1] if len(finished) == len(lrs) else None


def declared_runs(records: Records) -> List[Run]:
    budget = budget_of(records)
    runs = []
    for length, pairs in budget.tasks:
        for width in budget.widths:
            for name in budget.arms:
                arm = ARMS[name]
                facts = {"arm": name, "length": length, "pairs": pairs, "width": width,
                         "state_size": arm.state_size(length, width), "family": arm.family}
                sweeps = []
                for lr in budget.lrs:
                    sweeps.append(sweep_name(length, width, name, lr))
                    runs.append(Run(sweeps[-1], arm.label, budget.train_arguments(arm, length, pairs, width, lr, budget.sweep_updates),
                                    stage="sweep", facts={**facts, "lr": lr}, directory=directory(length, width, name, lr)))
                chosen = best_lr(records, length, width, name, budget.lrs)
                if chosen is not None:
                    runs.append(Run(train_name(length, width, name), arm.label,
                                    budget.train_arguments(arm, length, pairs, width, chosen, budget.updates),
                                    stage="train", facts={**facts, "lr": chosen}, after=tuple(sweeps),
                                    directory=directory(length, width, name, chosen)))
    return runs


def score(run: Run, trained: Trained) -> Dict:
    """Valid accuracy against updates (from the log); for ``train`` runs the test split by gap (fmm-recall)."""
    log = trained.log()
    curve = {int(r["valid_num_updates"]): float(r["valid_accuracy"]) for r in json_records(log, "valid")}
    updates = max(curve, default=0)
    seconds = round(training_seconds(trained.save_dir / "checkpoint_last.pt"), 1)
    result = {
        "updates": updates, "final_valid_accuracy": curve.get(updates), "best_valid_accuracy": max(curve.values(), default=None),
        "curve": [{"updates": u, "valid_accuracy": a} for u, a in sorted(curve.items())],
        "train_wall_s": seconds, "seconds_per_update": round(seconds / updates, 3) if updates else None,
    }
    if run.stage == "train":
        output = trained.out_dir / "recall"
        data = data_path(trained.settings["data_root"], trained.settings["vocab"], run.facts["length"], run.facts["pairs"])
        command = [BIN / "fmm-recall", data, "--path", trained.save_dir / "checkpoint_last.pt", "--label", run.facts["arm"],
                   "--band", str(BAND), "--output", output]
        trained.call(command, "recall.log")
        scored = json.loads(output.with_suffix(".json").read_text())
        checkpoint = scored["checkpoints"][0]
        result.update({"test_accuracy": checkpoint["accuracy"], "test_buckets": checkpoint["buckets"],
                       "chance": scored["chance"], "test_command": relative(command)})
    return result


def budget_of(records: Records) -> Budget:
    settings = records.settings
    return Budget(**{**settings, "tasks": [tuple(task) for task in settings["tasks"]]})


def bucket_label(bucket: Dict) -> str:
    return f"{bucket['first']}-{bucket['last']}"


def curves(records: Records) -> List[Panel]:
    """Zoology's plot: test accuracy against state size per layer, one line per family (its widths),
    one panel per task; then the valid accuracy of every trained run against updates."""
    budget, panels = budget_of(records), []
    trained = [r for r in records.runs.values() if r["stage"] == "train"]
    for length, pairs in budget.tasks:
        lines = []
        for family in dict.fromkeys(arm.family for arm in ARMS.values()):
            for arm in dict.fromkeys(r["arm"] for r in trained if r["family"] == family):
                points = sorted((r["state_size"], r["test_accuracy"]) for r in trained
                                if r["arm"] == arm and r["length"] == length)
                if points:
                    lines.append(Line(ARMS[arm].label, points, dashed=family == "band"))
        if lines:
            panels.append(Panel(lines, "test accuracy at the answers", x_label="state size per layer (numbers)",
                                title=f"MQAR T = {length}, P = {pairs}", log_x=True, y_range=(0, 1), legend_size=6))
    progress = [Line(f"{r['arm']} T{r['length']} w{r['width']}", [(p["updates"], p["valid_accuracy"]) for p in r["curve"]],
                     marker=None) for r in trained]
    if progress:
        panels.append(Panel(progress, "valid accuracy", legend_size=None, y_range=(0, 1)))
    return panels


def report(records: Records) -> List[str]:
    budget, results = budget_of(records), records.runs
    data = records.facts.get("data", {})
    lines = [
        f"Budget: tasks (T, P) {', '.join(f'({t}, {p})' for t, p in budget.tasks)}, V = {budget.vocab:,}, "
        f"{budget.train_lines:,} training lines per task, widths {', '.join(map(str, budget.widths))}, "
        f"{budget.batch_size} lines per update; learning rates {', '.join(f'{lr:g}' for lr in budget.lrs)} swept for "
        f"{budget.sweep_updates:,} updates, the best (final valid accuracy) continued to {budget.updates:,}; validation "
        f"every {budget.validate_every} updates; seed 1; two runs at a time, one thread each.",
        "",
    ]
    for length, pairs in budget.tasks:
        built = data.get(f"{length}:{pairs}")
        if built:
            lines += [f"Data: `fmm-prepare-mqar --length {length} --pairs {pairs} --vocab {built['vocab']} --seed {built['seed']}`, "
                      f"lines train / valid / test {' / '.join(f'{n:,}' for n in built['lines'].values())}.", ""]
        for width in budget.widths:
            rows = [results[train_name(length, width, arm)] for arm in budget.arms if train_name(length, width, arm) in results]
            swept = [r for r in results.values() if r["stage"] == "sweep" and r["length"] == length and r["width"] == width]
            if not rows and not swept:
                continue
            lines += [f"### T = {length}, P = {pairs}, width {width}", ""]
            if rows:
                edges = [bucket_label(b) for b in rows[0]["test_buckets"]]
                lines += [
                    f"Test accuracy at the answers ({rows[0]['test_buckets'] and sum(b['queries'] for b in rows[0]['test_buckets']):,} "
                    f"queries; chance {rows[0]['chance']:.4f}), by gap (key to its query; the band is {BAND}):", "",
                    "| arm | state per layer | lr | test accuracy | " + " | ".join(f"gap {e}" for e in edges)
                    + " | best valid | updates | s / update |",
                    "|---|---:|---:|---:|" + "---:|" * len(edges) + "---:|---:|---:|",
                ]
                for r in rows:
                    cells = {bucket_label(b): f"{b['accuracy']:.3f}" for b in r["test_buckets"]}
                    lines.append(f"| {r['label']} | {r['state_size']:,} | {r['lr']:g} | {r['test_accuracy']:.3f} | "
                                 + " | ".join(cells.get(e, "") for e in edges)
                                 + f" | {r['best_valid_accuracy']:.3f} | {r['updates']:,} | {r['seconds_per_update']:.3f} |")
                lines.append("")
            if swept:
                lines += ["Learning-rate sweep (final valid accuracy after the sweep's updates):", "",
                          "| arm | " + " | ".join(f"lr {lr:g}" for lr in budget.lrs) + " |",
                          "|---|" + "---:|" * len(budget.lrs)]
                for arm in dict.fromkeys(r["arm"] for r in swept):
                    cells = [results.get(sweep_name(length, width, arm, lr)) for lr in budget.lrs]
                    lines.append(f"| {ARMS[arm].label} | " + " | ".join(
                        f"{c['final_valid_accuracy']:.3f}" if c else "" for c in cells) + " |")
                lines.append("")
    if results:
        lines += [f"![test accuracy against state size; valid accuracy against updates]({records.curves.name})", "",
                  "## Exact commands", ""]
        lines += [f"- `{name}`: `{r['command']}`" + (f"; scored by `{r['test_command']}`" if "test_command" in r else "")
                  for name, r in results.items()]
        lines.append("")
    return lines


def task_list(text: str) -> List[Tuple[int, int]]:
    """'64:4,256:16' -> [(64, 4), (256, 16)]."""
    tasks = []
    for part in text.split(","):
        length, _, pairs = part.strip().partition(":")
        try:
            tasks.append((positive_int(length), positive_int(pairs)))
        except Exception:
            raise argparse.ArgumentTypeError(f"expected T:P pairs such as 64:4,256:16, got {text!r}") from None
    return tasks


def float_list(text: str) -> List[float]:
    values = [positive_float(part.strip()) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive numbers, got {text!r}")
    return values


def main(argv=None) -> int:
    parser = skeleton.study_parser(__doc__, STAGES, page=ROOT / "docs" / "recall.md", save_root=ROOT / "checkpoints" / "recall",
                                   out_root=ROOT / "runs" / "recall", parallel=2, thread_per_run=True)
    parser.add_argument("--data-root", type=Path, default=ROOT / "data-bin",
                        help="where the MQAR sets are built, one folder per task (default data-bin)")
    parser.add_argument("--tasks", type=task_list, default=[(64, 4)], help="T:P, comma-separated (default 64:4)")
    parser.add_argument("--widths", type=positive_ints, default=[64, 128], help="model widths (default 64,128)")
    parser.add_argument("--vocab", type=positive_int, default=512, help="V of fmm-prepare-mqar (default 512)")
    parser.add_argument("--train-lines", type=positive_int, default=100000, help="per task (default 100000)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="lines per update (default 32)")
    parser.add_argument("--lrs", type=float_list, default=[0.003],
                        help="swept learning rates (default 0.003; several: a sweep, e.g. 0.001,0.003)")
    parser.add_argument("--sweep-updates", type=positive_int, default=8000,
                        help="updates of each sweep run (default 8000: with one rate the sweep is the whole run)")
    parser.add_argument("--updates", type=positive_int, default=8000)
    parser.add_argument("--warmup", type=positive_int, default=100)
    parser.add_argument("--validate-every", type=positive_int, default=250)
    parser.add_argument("--only", help=f"comma-separated arms among {', '.join(ARMS)}")
    args = parser.parse_args(argv)
    arms = [name.strip() for name in (args.only or "").split(",") if name.strip()] or list(ARMS)
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        parser.error(f"--only: unknown arm(s) {', '.join(unknown)}; known: {', '.join(ARMS)}")
    for length, pairs in args.tasks:
        if length % 2 or 4 * pairs > length or args.vocab <= length:
            parser.error(f"--tasks {length}:{pairs}: MQAR needs T even, 4P <= T and --vocab > T (got --vocab {args.vocab})")
    if args.updates < args.sweep_updates:
        parser.error(f"--updates {args.updates} is below --sweep-updates {args.sweep_updates}: the sweep's runs are continued")
    args.threads = args.threads or args.parallel
    budget = Budget(relative(args.data_root), args.tasks, args.widths, args.vocab, args.train_lines, args.batch_size, args.lrs, args.sweep_updates,
                    args.updates, args.warmup, args.validate_every, arms)
    command = (f"python {SCRIPT} --data-root {relative(args.data_root)} --tasks {','.join(f'{t}:{p}' for t, p in args.tasks)} --widths {','.join(map(str, args.widths))} "
               f"--vocab {args.vocab} --train-lines {args.train_lines} --batch-size {args.batch_size} "
               f"--lrs {','.join(f'{lr:g}' for lr in args.lrs)} --sweep-updates {args.sweep_updates} --updates {args.updates}"
               + (f" --only {','.join(arms)}" if args.only else ""))
    facts = {}
    for length, pairs in args.tasks:
        data = data_path(budget.data_root, args.vocab, length, pairs)
        if not args.report_only and not (data / "mqar.json").exists():
            skeleton.prepare_data("fmm-prepare-mqar", "--length", length, "--pairs", pairs, "--vocab", args.vocab,
                                  "--train-lines", args.train_lines, "--valid-lines", 500, "--test-lines", 1000,
                                  "--destdir", data, "--workers", 1)
        if (data / "mqar.json").exists():
            facts[f"{length}:{pairs}"] = json.loads((data / "mqar.json").read_text())
    study = Study("Multi-query associative recall (MQAR): which attention recalls beyond the band", SCRIPT, STAGES,
                  runs=declared_runs, score=score, report=report, curves=curves)
    return skeleton.run_study(study, args, asdict(budget), command, {"data": facts} if facts else None)


if __name__ == "__main__":
    sys.exit(main())
