#!/usr/bin/env python
"""Long-context study: where the far field pays, and whether a model trained short runs long.

    python scripts/studies/long_context.py                    # every stage, resumable (hours on 2 cores)
    python scripts/studies/long_context.py --stages recall    # one stage
    python scripts/studies/long_context.py --report-only      # rewrite docs/long_context.md from its records

Every model: 2 layers x 128 dims, 4 heads, FFN 512 (``recipes.LM_MODEL_SIZE``), Adam, lr 0.002,
inverse-sqrt schedule; one thread per run, ``--parallel`` runs at a time (default 2).

* ``recall`` — the recall probe (``fmm-prepare-recall``: lines of 512 tokens, 16 key-value pairs each
  asked again after a gap of 4-480 tokens, constant filler), equal updates; ``fmm-recall``: accuracy
  at the recalled values by gap. Softmax, band only (w = 20), linear only, FMM and its variants.
* ``calibrate`` — the seconds per update of every 2,048-token model on each corpus, measured with the
  same threads and parallelism as the runs that follow (so equal wall-clock is equal *measured*
  cost, whatever else shares the machine later), and the band whose cost equals FMM's.
* ``code`` / ``docs`` — 2,048 tokens per sample, equal wall-clock (``--minutes`` of calibrated
  training each; the updates each reached are reported): the Python standard library's sources
  (``fmm-prepare-code``) and the Linux documentation (``fmm-prepare-lm``). Test perplexity
  (``fairseq-eval-lm``) and loss by position (``fmm-position-loss``), s/update, peak memory.
* ``extrapolate`` — trained at 512 tokens per sample, scored at 512 / 2,048 / 8,192 / 16,384 with the
  same tokens per batch: softmax with sinusoidal positions and without, band only without,
  FMM with and without positions, and, without them, band only, FMM and FMM split with a relative
  bias inside the band (``--fmm-near-alibi``). Perplexity, eval time and peak memory; loss by position at 8,192.
* ``seeds`` — seed 2 of the runs whose figures are close: band, FMM, FMM split and FMM split with the
  in-band bias on code; band only and FMM split with the bias, trained at 512 and scored longer.
* ``crossover`` — the training budget at which the far field pays: ``--arch fmmformer_lm_long`` against
  band only + in-band bias, both as that architecture sets them (no positions, pre-norm), 2,048 tokens
  per sample, up to ``--crossover-updates`` (default 5,000), seeds 1 and 2, on both corpora; softmax
  at the same settings last. Valid perplexity and the ratio FMM / band against updates and wall-clock,
  the update where the ratio stays below 1; test perplexity and loss by position at the end. Trained in
  the order that gives the first signal first: documentation seed 1, code seed 1, seeds 2, softmax.
  The page also shows unfinished runs (marked partial): every invocation, ``--report-only`` included,
  reads their curves from their train logs into the records.

Interrupted? Run it again: finished runs (with a record in docs/long_context.json) are skipped,
unfinished ones resume from their checkpoint_last.pt.
"""
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from fmm_tools.cli_types import positive_float, positive_int
from fmm_tools.paths import BIN, ROOT, relative
from fmm_tools.studies import skeleton
from fmm_tools.studies.fairseq_output import checkpoint_updates, json_records, perplexity, seconds_per_update, valid_curve
from fmm_tools.studies.recipes import LM_MODEL_SIZE, STUDY_RUN_FLAGS
from fmm_tools.studies.skeleton import Line, Panel, Records, Run, Stage, Study, StudyError, Trained

SCRIPT = "scripts/studies/long_context.py"
FMM = ["--arch", "fmmformer_lm", "--user-dir", "fmm_fairseq"]
SCHEDULE = ["--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "1.0", "--lr", "0.002",
            "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "200"]
STAGES = [
    Stage("recall", "the key-value recall probe, equal updates"),
    Stage("calibrate", "seconds per update of each 2,048-token model"),
    Stage("code", "Python sources, 2,048 tokens, equal wall-clock"),
    Stage("extrapolate", "trained at 512, scored at 512-16,384"),
    Stage("docs", "Linux documentation, 2,048 tokens, equal wall-clock"),
    Stage("seeds", "seed 2 of the close runs: on code, and trained at 512 scored longer"),
    Stage("crossover", "fmmformer_lm_long against band + in-band bias, 2,048 tokens, up to --crossover-updates"),
]
CORPORA = {"code": "fmm-prepare-code", "docs": "fmm-prepare-lm"}  # corpus -> its builder
RECALL_LENGTH = 512
# key-value recall (MQAR-like): 16 pairs per line, each key asked again after 4-480 tokens, constant filler
RECALL_PROBE = ["--length", str(RECALL_LENGTH), "--segments", "16", "--segment-length", "2", "--keys", "64", "--values", "64",
                "--fillers", "1", "--min-gap", "4", "--max-gap", "480"]
SPLIT = ["--fmm-far-outside-band", "--fmm-far-horizons", "32,1024", "--fmm-learn-far-weight"]


@dataclass(frozen=True)
class Arm:
    label: str
    model: List[str]


ARMS: Dict[str, Arm] = {
    "softmax": Arm("softmax (transformer_lm)", ["--arch", "transformer_lm"]),
    "band": Arm("band only, w = 20", FMM + ["--fmm-feature-maps", "none"]),
    "band_cost": Arm("band only, w of FMM's cost", FMM + ["--fmm-feature-maps", "none"]),  # w from the calibration
    "band_alibi": Arm("band only, w = 20, relative bias in the band", FMM + ["--fmm-feature-maps", "none", "--fmm-near-alibi"]),
    "linear": Arm("linear only (elu)", FMM + ["--fmm-bandwidth", "0", "--fmm-feature-maps", "elu"]),
    "fmm": Arm("FMM (default: band 20 + elu, elu_flip, far weight 1)", FMM),
    "fmm_far_learned": Arm("FMM, far weight learned", FMM + ["--fmm-learn-far-weight"]),
    "fmm_outside": Arm("FMM, far field outside the band", FMM + ["--fmm-far-outside-band"]),
    "fmm_decay": Arm("FMM, far field decaying (horizons 32-1,024)", FMM + ["--fmm-far-horizons", "32,1024"]),
    "fmm_softmax_map": Arm("FMM, softmax feature map", FMM + ["--fmm-feature-maps", "softmax"]),
    "fmm_split": Arm("FMM split: outside the band, decaying, far weight learned", FMM + SPLIT),
    "fmm_alibi": Arm("FMM, relative bias in the band", FMM + ["--fmm-near-alibi"]),
    "fmm_split_alibi": Arm("FMM split, relative bias in the band", FMM + SPLIT + ["--fmm-near-alibi"]),
    "fmm_long": Arm("fmmformer_lm_long: FMM split, relative bias in the band", ["--arch", "fmmformer_lm_long", "--user-dir", "fmm_fairseq"]),
}
RECALL_ARMS = ["softmax", "band", "linear", "fmm", "fmm_split", "fmm_softmax_map"]
CODE_ARMS = ["softmax", "band", "band_cost", "linear", "fmm", "fmm_far_learned", "fmm_outside", "fmm_decay", "fmm_split",
             "band_alibi", "fmm_split_alibi"]
DOCS_ARMS = ["softmax", "band", "band_cost", "linear", "fmm", "fmm_split", "band_alibi", "fmm_split_alibi"]
SEED_ARMS = ["band", "fmm", "fmm_split", "fmm_split_alibi"]  # on code; fmm_split_alibi is 1.009x band there
EXTRAPOLATION_SEED_ARMS = ["band_alibi_none", "fmm_split_alibi_none"]  # the closest pair trained at 512 (0.98x)
EXTRAPOLATION_ARMS = {  # name -> (arm, positions)
    "softmax_sinusoidal": ("softmax", "sinusoidal"),
    "softmax_none": ("softmax", "none"),
    "band_none": ("band", "none"),
    "band_alibi_none": ("band_alibi", "none"),
    "fmm_sinusoidal": ("fmm", "sinusoidal"),
    "fmm_none": ("fmm", "none"),
    "fmm_split_none": ("fmm_split", "none"),
    "fmm_alibi_none": ("fmm_alibi", "none"),
    "fmm_split_alibi_none": ("fmm_split_alibi", "none"),
}
BAND_PROBE = 128  # the second band width timed, to interpolate the band of FMM's cost
# arms that cost what another arm costs, and get its calibrated updates: the in-band bias adds no
# measurable time per update (2,048 tokens, pairs of one-thread runs on a quiet machine: band 0.795-0.835
# s/update, with the bias 0.816-0.833; split 0.952-1.006, with the bias 0.952-1.014); timed on their
# own in another session they were given 15-20% fewer updates than the arm without the bias
TIMED_AS = {"band_alibi": "band", "fmm_split_alibi": "fmm_split"}
# The crossover: arm -> its short name in tables and legends; the pair whose ratio is measured first, the ceiling last
CROSSOVER_ARMS = {"fmm_long": "fmmformer_lm_long", "band_alibi": "band + bias", "softmax": "softmax"}
CROSSOVER_PAIR = ("band_alibi", "fmm_long")
CROSSOVER_CORPORA = ("docs", "code")  # documentation first: the earliest crossover signal
CROSSOVER_SEEDS = (1, 2)
# what fmmformer_lm_long sets besides its FMM options (fairseq's base_lm_architecture forces pre-norm),
# given to every crossover arm so that they differ in attention only
CROSSOVER_FLAGS = ["--no-token-positional-embeddings", "--decoder-normalize-before"]
PROGRESS = "crossover_progress"  # the records' fact: the curves of unfinished crossover runs
EXTRAPOLATION_REACH = 10  # a crossover is extrapolated to at most this many times the updates reached


@dataclass
class Budget:
    """The settings every record keeps."""

    recall_updates: int = 3000
    recall_batch: int = 16
    minutes: float = 30.0  # calibrated training time of each 2,048-token run
    calibration_updates: int = 30
    long_tokens: int = 2048
    tokens_per_update: int = 4096
    extrapolation_updates: int = 1500
    extrapolation_tokens: int = 512
    eval_lengths: List[int] = field(default_factory=lambda: [512, 2048, 8192, 16384])
    eval_tokens_per_batch: int = 16384
    crossover_updates: int = 5000
    validate_every: int = 250
    model_size: List[str] = field(default_factory=lambda: list(LM_MODEL_SIZE))
    recall_data: str = "data-bin/recall-probe"
    code_data: str = "data-bin/python-stdlib"
    docs_data: str = "data-bin/linux-doc"
    arms: List[str] = field(default_factory=lambda: list(ARMS))  # --only: the arms of every stage

    def data(self, corpus: str) -> str:
        return self.code_data if corpus == "code" else self.docs_data

    def chosen(self, arms) -> List[str]:
        return [arm for arm in arms if arm in self.arms]


def common(budget: Budget) -> List[str]:
    return [*budget.model_size, *SCHEDULE, *STUDY_RUN_FLAGS]


def train_args(budget: Budget, data: str, arm: str, tokens: int, batch: int, updates: int, extra=()) -> List[str]:
    return [data, "--task", "language_modeling", *ARMS[arm].model, *extra, "--tokens-per-sample", str(tokens),
            "--batch-size", str(batch), "--max-update", str(updates), *common(budget),
            "--validate-interval-updates", str(budget.validate_every), "--save-interval-updates", str(budget.validate_every),
            "--log-interval", "25"]


def band_of_equal_cost(costs: Dict[str, float]) -> int:
    """The band whose seconds per update match FMM's, linear in w between w = 20 and w = BAND_PROBE."""
    slope = (costs[f"band{BAND_PROBE}"] - costs["band"]) / (BAND_PROBE - 20)
    width = 20 + (costs["fmm"] - costs["band"]) / slope if slope > 0 else BAND_PROBE
    return int(max(20, min(4 * round(width / 4), 1024)))


def timed_arms(budget: Budget, corpus: str) -> List[str]:
    """What the calibration times on a corpus: its arms (band_cost through band and band{BAND_PROBE},
    those of TIMED_AS through the arm they cost as)."""
    arms = budget.chosen(CODE_ARMS if corpus == "code" else DOCS_ARMS)
    timed = list(dict.fromkeys(TIMED_AS.get(arm, arm) for arm in arms if arm != "band_cost"))
    if "band_cost" in arms:
        timed += [arm for arm in ("band", "fmm") if arm not in timed] + [f"band{BAND_PROBE}"]
    return timed


def calibration(records: Records, corpus: str) -> Optional[Dict[str, float]]:
    """Seconds per update by arm on ``corpus``; None until every timed arm is recorded."""
    costs = {name.split(":")[-1]: r["seconds_per_update"] for name, r in records.runs.items() if name.startswith(f"calibrate:{corpus}:")}
    return costs if set(timed_arms(Budget(**records.settings), corpus)) <= set(costs) else None


def run_directory(name: str) -> str:
    """A run's folder under --save-root and --out-root."""
    return name.replace(":", "_")


def crossover_order() -> List[Tuple[str, str, int]]:
    """(corpus, arm, seed) of every crossover run, in the order they train: the pair on each corpus,
    seed 1 then seed 2, then the ceiling."""
    pairs = [(corpus, arm, seed) for seed in CROSSOVER_SEEDS for corpus in CROSSOVER_CORPORA for arm in CROSSOVER_PAIR]
    ceiling = [(corpus, arm, seed) for arm in CROSSOVER_ARMS if arm not in CROSSOVER_PAIR
               for seed in CROSSOVER_SEEDS for corpus in CROSSOVER_CORPORA]
    return pairs + ceiling


def crossover_name(corpus: str, arm: str, seed: int) -> str:
    return f"crossover:{corpus}:{arm}:seed{seed}"


def runs(records: Records) -> List[Run]:
    budget = Budget(**records.settings)
    declared: List[Run] = []

    def add(name: str, label: str, train, stage: str, facts: Dict, seed: int = 1, after=()) -> None:
        declared.append(Run(name, label, train, seed=seed, stage=stage, after=tuple(after), facts=facts,
                            directory=run_directory(name)))

    probe_file = ROOT / budget.recall_data / "recall.json"
    line = json.loads(probe_file.read_text())["length"] if probe_file.exists() else RECALL_LENGTH
    for arm in budget.chosen(RECALL_ARMS):
        add(f"recall:{arm}", ARMS[arm].label, train_args(
            budget, budget.recall_data, arm, line + 1, budget.recall_batch, budget.recall_updates,  # the line and its </s>
            ["--sample-break-mode", "eos"]), "recall", {"arm": arm, "kind": "recall"})
    batch = budget.tokens_per_update // budget.long_tokens
    for corpus in CORPORA:
        data, arms, timed = budget.data(corpus), budget.chosen(CODE_ARMS if corpus == "code" else DOCS_ARMS), timed_arms(budget, corpus)
        for name in timed:
            arm, extra = (name, []) if name in ARMS else ("band", ["--fmm-bandwidth", str(BAND_PROBE)])
            interval = ["--log-interval", str(max(1, budget.calibration_updates // 6)), "--disable-validation"]
            add(f"calibrate:{corpus}:{name}", f"{ARMS[arm].label} ({name})", train_args(
                budget, data, arm, budget.long_tokens, batch, budget.calibration_updates, extra) + interval,
                "calibrate", {"arm": name, "kind": "calibration", "corpus": corpus})
        for stage, chosen, seed in ((corpus, arms, 1), ("seeds", budget.chosen(SEED_ARMS) if corpus == "code" else [], 2)):
            for arm in chosen:
                facts = {"arm": arm, "kind": "lm", "corpus": corpus, "data": data}
                add(f"{corpus}:{arm}:seed{seed}", ARMS[arm].label, equal_time_arguments(records, budget, corpus, arm, facts),
                    stage, facts, seed=seed, after=[f"calibrate:{corpus}:{name}" for name in timed])
    data = budget.docs_data
    extrapolation_batch = budget.tokens_per_update // budget.extrapolation_tokens
    for name, (arm, positions) in EXTRAPOLATION_ARMS.items():
        if arm not in budget.arms:
            continue
        extra = ["--no-token-positional-embeddings"] if positions == "none" else []
        for stage, seed in (("extrapolate", 1), ("seeds", 2)) if name in EXTRAPOLATION_SEED_ARMS else (("extrapolate", 1),):
            add(f"extrapolate:{name}" + (f":seed{seed}" if seed > 1 else ""), f"{ARMS[arm].label}, positions: {positions}",
                train_args(budget, data, arm, budget.extrapolation_tokens, extrapolation_batch, budget.extrapolation_updates, extra),
                stage, {"arm": arm, "kind": "extrapolation", "positions": positions, "data": data}, seed=seed)
    for corpus, arm, seed in crossover_order():
        if arm in budget.arms:
            data = budget.data(corpus)
            add(crossover_name(corpus, arm, seed), ARMS[arm].label, train_args(
                budget, data, arm, budget.long_tokens, batch, budget.crossover_updates, CROSSOVER_FLAGS), "crossover",
                {"arm": arm, "kind": "crossover", "corpus": corpus, "data": data, "updates_planned": budget.crossover_updates},
                seed=seed)
    return declared


def equal_time_arguments(records: Records, budget: Budget, corpus: str, arm: str, facts: Dict):
    """fairseq-train's arguments of an equal wall-clock run, made when it starts (after the calibration):
    ``--minutes`` at the calibrated seconds per update; band_cost gets the band of FMM's cost."""
    def arguments() -> List[str]:
        costs = calibration(records, corpus)
        if costs is None:
            raise StudyError(f"{corpus}: the calibration is not recorded")
        width = band_of_equal_cost(costs) if arm == "band_cost" else None
        cost = costs["fmm"] if arm == "band_cost" else costs[TIMED_AS.get(arm, arm)]
        updates = max(1, round(budget.minutes * 60 / cost))
        facts.update(updates_planned=updates, calibrated_seconds_per_update=cost, bandwidth=width)
        return train_args(budget, budget.data(corpus), arm, budget.long_tokens, budget.tokens_per_update // budget.long_tokens,
                          updates, ["--fmm-bandwidth", str(width)] if width else [])

    return arguments


def eval_lm(trained: Trained, data: str, length: int, batch: int, subset: str = "test") -> Dict:
    """fairseq-eval-lm at ``length`` tokens per sample: perplexity, seconds and peak memory of the process."""
    checkpoint = trained.save_dir / "checkpoint_best.pt"
    user_dir = ["--user-dir", "fmm_fairseq"] if "--user-dir" in ARMS[trained.run.facts["arm"]].model else [
        "--model-overrides", json.dumps({"max_target_positions": length}).replace('"', "'")]
    command = [BIN / "fairseq-eval-lm", data, *user_dir, "--path", checkpoint, "--gen-subset", subset,
               "--tokens-per-sample", length, "--batch-size", batch, "--cpu", "--num-workers", "0"]
    finished = trained.call(command, f"eval_{subset}_{length}.log")
    return {"ppl": perplexity(finished.log[-4000:]), "seconds": round(finished.seconds, 1), "peak_mib": round(finished.peak_mib),
            "command": relative(command)}


def position_loss(trained: Trained, data: str, length: int, batch: int) -> Dict:
    out = trained.out_dir / f"position_loss_{length}"
    overrides = [] if "--user-dir" in ARMS[trained.run.facts["arm"]].model else [
        "--model-overrides", json.dumps({"max_target_positions": length}).replace('"', "'")]
    command = [BIN / "fmm-position-loss", data, "--path", trained.save_dir / "checkpoint_best.pt", "--tokens-per-sample", length,
               "--batch-size", batch, "--band", "20", "--cpu", "--output", out, *overrides]
    trained.call(command, f"position_loss_{length}.log")
    record = json.loads(out.with_suffix(".json").read_text())["checkpoints"][0]
    return {"ppl": record["perplexity"], "buckets": record["buckets"], "command": relative(command)}


def training_facts(trained: Trained) -> Dict:
    log = trained.log()
    records = json_records(log, "train_inner")
    return {
        "updates": checkpoint_updates(trained.save_dir / "checkpoint_last.pt"),
        "seconds_per_update": round(seconds_per_update(log), 3) if records else None,
        "train_peak_mib": round(trained.finished.peak_mib) if trained.finished else None,
        "curve": valid_curve(log),
    }


def score(run: Run, trained: Trained) -> Dict:
    budget, facts = Budget(**trained.settings), run.facts
    if facts["kind"] == "calibration":
        return {"seconds_per_update": round(seconds_per_update(trained.log()), 3)}
    if facts["kind"] == "recall":
        out = trained.out_dir / "recall"
        command = [BIN / "fmm-recall", budget.recall_data, "--path", trained.save_dir / "checkpoint_last.pt",
                   "--band", "20", "--output", out]
        trained.call(command, "recall.log")
        result = json.loads(out.with_suffix(".json").read_text())
        probe = json.loads((ROOT / budget.recall_data / "recall.json").read_text())
        return {**training_facts(trained), "probe": probe, "accuracy": result["checkpoints"][0]["accuracy"], "chance": result["chance"],
                "buckets": result["checkpoints"][0]["buckets"], "eval_command": relative(command)}
    if facts["kind"] in ("lm", "crossover"):
        batch = budget.tokens_per_update // budget.long_tokens
        return {**training_facts(trained), "valid": eval_lm(trained, facts["data"], budget.long_tokens, batch, "valid"),
                "test": eval_lm(trained, facts["data"], budget.long_tokens, batch),
                "position_loss": position_loss(trained, facts["data"], budget.long_tokens, batch)}
    scores = {}
    for length in budget.eval_lengths:
        batch = max(1, budget.eval_tokens_per_batch // length)
        try:
            scores[str(length)] = eval_lm(trained, facts["data"], length, batch)
        except StudyError as error:  # e.g. softmax out of memory at the longest length
            scores[str(length)] = {"failed": str(error).splitlines()[0]}
    longest = max(length for length in budget.eval_lengths if "ppl" in scores[str(length)] and length <= 8192)
    return {**training_facts(trained), "eval": scores,
            "position_loss": position_loss(trained, facts["data"], longest, max(1, budget.eval_tokens_per_batch // longest))}


def crossover_progress(records: Records, out_root: Path) -> Dict[str, Dict]:
    """The crossover runs without a record so far: their validation curves, s/update and command, read
    from their train logs under ``out_root`` where there are some, else as the records hold them (a
    checkout without the logs)."""
    progress = {name: run for name, run in records.facts.get(PROGRESS, {}).items() if name not in records.runs}
    for corpus, arm, seed in crossover_order():
        name = crossover_name(corpus, arm, seed)
        log = out_root / run_directory(name) / "train.log"
        text = log.read_text() if name not in records.runs and log.exists() else ""
        curve = valid_curve(text)
        if curve:
            started = [line[2:] for line in text.splitlines() if line.startswith("$ ")]
            progress[name] = {"corpus": corpus, "arm": arm, "seed": seed, "updates": curve[-1]["updates"],
                              "seconds_per_update": round(seconds_per_update(text), 3) if json_records(text, "train_inner") else None,
                              "curve": curve, "command": relative(started[-1].split(" "))}
    return progress


def record_crossover_progress(page: Path, out_root: Path) -> None:
    """Brings the records' progress of unfinished crossover runs up to date with their train logs."""
    records = Records(page)
    progress = crossover_progress(records, out_root)
    if progress != records.facts.get(PROGRESS, {}):
        records.facts[PROGRESS] = progress
        records.save()


# ----------------------------------------------------------------------------------------------- report


def number(value: Optional[float], digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def by_kind(records: Records, kind: str, **where) -> Dict[str, Dict]:
    return {name: r for name, r in records.runs.items() if r.get("kind") == kind and all(r.get(k) == v for k, v in where.items())}


def bucket_columns(results: List[Dict], key: str) -> List[tuple]:
    spans = []
    for r in results:
        for row in r[key] if key == "buckets" else r["position_loss"]["buckets"]:
            if (row["first"], row["last"]) not in spans:
                spans.append((row["first"], row["last"]))
    return sorted(spans)


def position_losses(result: Dict) -> Dict[tuple, float]:
    """A run's loss by position bucket: (first, last) -> nats."""
    return {(row["first"], row["last"]): row["loss"] for row in result["position_loss"]["buckets"]}


def probe_options(probe: Dict) -> str:
    """The fmm-prepare-recall options that made the probe (from its recall.json)."""
    names = ("length", "segments", "segment_length", "keys", "values", "fillers", "min_gap", "max_gap", "seed")
    return " ".join(f"--{name.replace('_', '-')} {probe[name]}" for name in names)


def recall_section(records: Records) -> List[str]:
    results = by_kind(records, "recall")
    if not results:
        return []
    budget = Budget(**records.settings)
    ordered = [results[f"recall:{arm}"] for arm in RECALL_ARMS if f"recall:{arm}" in results]
    queries = sum(row["queries"] for row in ordered[0]["buckets"])
    spans = bucket_columns(ordered, "buckets")
    probe = ordered[0]["probe"]
    lines = [
        f"## Recall probe (trained at {probe['length']} tokens, equal updates)", "",
        f"Lines of {probe['length']} tokens, {probe['segments']} segments of {probe['segment_length']} tokens (the last a value "
        f"when there are values) each repeated once after a gap of {probe['min_gap']}-{probe['max_gap']} tokens, "
        f"{probe['fillers']} filler token(s) "
        f"(`fmm-prepare-recall {probe_options(probe)} --destdir {budget.recall_data}`); {budget.recall_updates:,} updates "
        f"of {budget.recall_batch} lines each; `fmm-recall` on the {queries:,} recalled tokens of the test split. Accuracy "
        f"by gap (tokens from a segment's first copy to its second); chance {ordered[0]['chance']:.3f}; "
        "± is the standard error of the bucket.", "",
        "| model | all | " + " | ".join(f"{a}-{b}" for a, b in spans) + " | s/update |",
        "|---|---:|" + "---:|" * len(spans) + "---:|",
    ]
    for r in ordered:
        cells = {(row["first"], row["last"]): f"{row['accuracy']:.3f} ± {row['stderr']:.3f}" for row in r["buckets"]}
        lines.append(f"| {r['label']} | {r['accuracy']:.3f} | " + " | ".join(cells.get(span, "") for span in spans)
                     + f" | {number(r['seconds_per_update'])} |")
    return lines + [""]


def lm_section(records: Records, corpus: str, seed: int = 1) -> List[str]:
    results = {r["arm"]: r for r in by_kind(records, "lm", corpus=corpus).values() if r["seed"] == seed}
    if not results:
        return []
    budget = Budget(**records.settings)
    names = [arm for arm in (CODE_ARMS if corpus == "code" else DOCS_ARMS) if arm in results]
    ordered = [results[arm] for arm in names]
    spans = bucket_columns(ordered, "position_loss")
    band = results.get("band")
    title = {"code": "Python standard library sources", "docs": "Linux documentation"}[corpus]
    lines = [
        f"## {title}: {budget.long_tokens:,} tokens per sample, equal wall-clock (seed {seed})", "",
        f"{budget.minutes:g} minutes of training each at the calibrated seconds per update (1 thread, "
        f"{budget.tokens_per_update:,} tokens per update); perplexity of `checkpoint_best.pt` by `fairseq-eval-lm`; "
        "loss by position (`fmm-position-loss`, test) as the difference to band only (w = 20), in nats: below 0 is better.", "",
        "| model | updates | s/update | train peak MiB | valid ppl | test ppl | test / band | "
        + " | ".join(f"Δ {a}-{b}" for a, b in spans) + " |",
        "|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(spans),
    ]
    for r in ordered:
        ratio = f"{r['test']['ppl'] / band['test']['ppl']:.3f}" if band else "–"
        own, base = position_losses(r), position_losses(band) if band else {}
        deltas = [f"{own[s] - base[s]:+.3f}" if s in own and s in base else "" for s in spans]
        label = r["label"] + (f" ({r['bandwidth']})" if r.get("bandwidth") else "")
        lines.append(f"| {label} | {r['updates']:,} | {number(r['seconds_per_update'])} | {number(r['train_peak_mib'], 0)} "
                     f"| {r['valid']['ppl']:.2f} | {r['test']['ppl']:.2f} | {ratio} | " + " | ".join(deltas) + " |")
    absolute = " | ".join(f"{row['loss']:.3f}" for row in band["position_loss"]["buckets"]) if band else ""
    if band:
        lines += ["", f"Band only's own loss by bucket (nats): {absolute}."]
    return lines + [""]


def extrapolation_section(records: Records) -> List[str]:
    results = by_kind(records, "extrapolation")
    if not results:
        return []
    budget = Budget(**records.settings)
    lines = [
        f"## Trained at {budget.extrapolation_tokens} tokens, scored longer (Linux documentation)", "",
        f"{budget.extrapolation_updates:,} updates of {budget.tokens_per_update:,} tokens each; `fairseq-eval-lm` on the test "
        f"split at each length with {budget.eval_tokens_per_batch:,} tokens per batch (batch = that / length; softmax with "
        "`--model-overrides \"{'max_target_positions': L}\"`): test perplexity, and the evaluation's peak resident "
        "memory (whole process, model and data included) and time.", "",
        "| model | " + " | ".join(f"ppl {n:,}" for n in budget.eval_lengths) + " | "
        + " | ".join(f"MiB / s at {n:,}" for n in budget.eval_lengths) + " |",
        "|---|" + "---:|" * (2 * len(budget.eval_lengths)),
    ]
    seeded = [(name, f"extrapolate:{name}" + suffix) for suffix in ("", ":seed2") for name in EXTRAPOLATION_ARMS]
    for name, key in seeded:
        r = results.get(key)
        if r is None:
            continue
        ppl, cost = [], []
        for n in budget.eval_lengths:
            e = r["eval"].get(str(n), {})
            ppl.append(f"{e['ppl']:.2f}" if "ppl" in e else "did not run")
            cost.append(f"{e['peak_mib']:,} / {e['seconds']:.0f}" if "ppl" in e else e.get("failed", "")[:60])
        seed = f" (seed {r['seed']})" if r["seed"] > 1 or f"extrapolate:{name}:seed2" in results else ""
        lines.append(f"| {r['label']}{seed} | " + " | ".join(ppl) + " | " + " | ".join(cost) + " |")
    ordered = [results[f"extrapolate:{name}"] for name in EXTRAPOLATION_ARMS if f"extrapolate:{name}" in results]
    spans = bucket_columns(ordered, "position_loss")
    longest = {int(r["position_loss"]["buckets"][-1]["last"]) + 1 for r in ordered}
    lines += [
        "", f"Loss by position (`fmm-position-loss`, test, nats) at {', '.join(f'{n:,}' for n in sorted(longest))} tokens "
        f"per sample; buckets from {budget.extrapolation_tokens} on lie past the training length.", "",
        "| model | " + " | ".join(f"{a}-{b}" for a, b in spans) + " |",
        "|---|" + "---:|" * len(spans),
    ]
    for r in ordered:
        own = position_losses(r)
        lines.append(f"| {r['label']} | " + " | ".join(f"{own[s]:.3f}" if s in own else "" for s in spans) + " |")
    return lines + [""]


def crossover_results(records: Records) -> Dict[Tuple[str, str, int], Dict]:
    """(corpus, arm, seed) -> the run's record, or what an unfinished run reached (``partial``)."""
    results = {(r["corpus"], r["arm"], r["seed"]): {**r, "partial": False} for r in by_kind(records, "crossover").values()}
    for name, run in records.facts.get(PROGRESS, {}).items():
        if name not in records.runs:
            results[(run["corpus"], run["arm"], run["seed"])] = {**run, "partial": True}
    return results


def valid_points(result: Dict) -> Dict[int, float]:
    return {point["updates"]: point["valid_ppl"] for point in result["curve"]}


def ratio_by_updates(result: Dict, band: Dict) -> Dict[int, float]:
    """A run's valid perplexity over band's at every update both validated."""
    own, base = valid_points(result), valid_points(band)
    return {updates: own[updates] / base[updates] for updates in sorted(set(own) & set(base))}


def valid_at_seconds(result: Dict, seconds: float) -> Optional[float]:
    """A run's valid perplexity after ``seconds`` of training (updates x its s/update), linear in log
    perplexity between its validations; None outside them."""
    points = [(point["updates"] * result["seconds_per_update"], math.log(point["valid_ppl"])) for point in result["curve"]]
    for (t0, y0), (t1, y1) in zip(points, points[1:]):
        if t0 <= seconds <= t1:
            return math.exp(y0 + (y1 - y0) * (seconds - t0) / (t1 - t0))
    return None


def ratio_at_equal_time(result: Dict, band: Dict) -> Dict[int, float]:
    """At each of a run's validations (by its updates): its valid perplexity over band's after as many
    seconds of training; empty without both runs' s/update."""
    if not result.get("seconds_per_update") or not band.get("seconds_per_update"):
        return {}
    ratios = {}
    for point in result["curve"]:
        base = valid_at_seconds(band, point["updates"] * result["seconds_per_update"])
        if base is not None:
            ratios[point["updates"]] = point["valid_ppl"] / base
    return ratios


def crossing(ratio: Dict[int, float]) -> Optional[int]:
    """The first update from which the ratio stays below 1 (None: not below 1 at the last one)."""
    first = None
    for updates in sorted(ratio):
        first = (first or updates) if ratio[updates] < 1 else None
    return first


def extrapolated_crossing(ratio: Dict[int, float]) -> Optional[float]:
    """Where the least-squares line of the ratio against ln(updates), fitted to the validations of the
    last half of the updates reached (3 at least), reaches 1; None where it does not within
    EXTRAPOLATION_REACH times the updates reached."""
    last = max(ratio, default=0)
    points = [(math.log(updates), value) for updates, value in ratio.items() if updates >= last / 2]
    if len(points) < 3:
        return None
    mean_x, mean_y = sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    reached = math.exp(mean_x + (1 - mean_y) / slope) if slope < 0 else math.inf
    return reached if reached <= EXTRAPOLATION_REACH * last else None


def crossover_reading(ratios: Dict[int, Dict[int, float]]) -> str:
    """Where the ratio FMM / band goes below 1 for every seed, measured or extrapolated."""
    measured, extrapolated, parts = {}, {}, []
    for seed in CROSSOVER_SEEDS:
        ratio = ratios.get(seed)
        if not ratio:
            parts.append(f"seed {seed}: not compared yet")
            continue
        last = max(ratio)
        below, ahead = crossing(ratio), extrapolated_crossing(ratio)
        if below:
            measured[seed] = below
            parts.append(f"seed {seed}: below 1 from update {below:,} on ({ratio[last]:.3f} at {last:,})")
        elif ahead:
            extrapolated[seed] = ahead
            parts.append(f"seed {seed}: {ratio[last]:.3f} at {last:,}, extrapolated below 1 at ≈ {ahead:,.0f}")
        else:
            parts.append(f"seed {seed}: {ratio[last]:.3f} at {last:,}, no crossing within {EXTRAPOLATION_REACH}× its "
                         "updates by the fitted line")
    if len(measured) == len(CROSSOVER_SEEDS):
        verdict = f"crossover for both seeds at update **{max(measured.values()):,}**"
    elif len(measured) + len(extrapolated) == len(CROSSOVER_SEEDS):
        verdict = f"crossover for both seeds extrapolated at ≈ **{max({**measured, **extrapolated}.values()):,.0f}**"
    else:
        verdict = "no crossover for both seeds yet"
    return f"{verdict} ({'; '.join(parts)})"


def crossover_panels(results: Dict[Tuple[str, str, int], Dict], corpus: str) -> List[Panel]:
    """Valid perplexity and the ratio to band + bias against updates and against training hours."""
    ppl, ppl_hours, ratio, ratio_hours = [], [], [], []
    band_name = CROSSOVER_ARMS[CROSSOVER_PAIR[0]]
    for where, arm, seed in crossover_order():
        result = results.get((where, arm, seed))
        if where != corpus or not result:
            continue
        label = f"{CROSSOVER_ARMS[arm]}, seed {seed}" + (f" (partial, {result['updates']:,})" if result["partial"] else "")
        points = valid_points(result)
        ppl.append(Line(label, sorted(points.items()), dashed=seed > 1))
        spu = result.get("seconds_per_update")
        if spu:
            ppl_hours.append(Line(label, [(updates * spu / 3600, value) for updates, value in sorted(points.items())], dashed=seed > 1))
        band = results.get((corpus, CROSSOVER_PAIR[0], seed))
        if band and arm != CROSSOVER_PAIR[0]:
            ratio.append(Line(label, sorted(ratio_by_updates(result, band).items()), dashed=seed > 1))
            ratio_hours.append(Line(label, [(updates * spu / 3600, value) for updates, value in
                                            sorted(ratio_at_equal_time(result, band).items())], dashed=seed > 1))
    for lines in (ratio, ratio_hours):
        xs = [x for line in lines for x, _ in line.points]
        if xs:
            lines.append(Line(f"= {band_name}", [(min(xs), 1.0), (max(xs), 1.0)], dashed=True, marker=None))
    hours = "training hours (updates x s/update)"
    return [Panel(ppl, "valid perplexity", title=f"{corpus}: valid perplexity", log_y=True),
            Panel(ratio, f"valid perplexity / {band_name}'s", title=f"{corpus}: ratio at equal updates"),
            Panel(ppl_hours, "valid perplexity", x_label=hours, title=f"{corpus}: against wall-clock", log_y=True),
            Panel(ratio_hours, f"valid perplexity / {band_name}'s", x_label=hours, title=f"{corpus}: ratio at equal wall-clock")]


def crossover_section(records: Records) -> List[str]:
    """The crossover's page section, finished and unfinished runs; draws each corpus's figure beside the page."""
    results = crossover_results(records)
    if not results:
        return []
    budget = Budget(**records.settings)
    band_arm, fmm_arm = CROSSOVER_PAIR
    band_name, fmm_name = CROSSOVER_ARMS[band_arm], CROSSOVER_ARMS[fmm_arm]
    unfinished = sum(result["partial"] for result in results.values())
    lines = [
        f"## The crossover: {fmm_name} against band only + in-band bias, {budget.long_tokens:,} tokens per sample, "
        f"up to {budget.crossover_updates:,} updates", "",
        f"`{' '.join(ARMS[fmm_arm].model)}` ({ARMS[fmm_arm].label}) against `{' '.join(ARMS[band_arm].model)}` "
        f"({ARMS[band_arm].label}), softmax (`{' '.join(ARMS['softmax'].model)}`) last, as the ceiling; "
        f"every arm with `{' '.join(CROSSOVER_FLAGS)}`, as `fmmformer_lm_long` sets them (fairseq's `base_lm_architecture` "
        f"forces pre-norm), so that they differ in attention only. {budget.tokens_per_update:,} tokens per update, at most "
        f"{budget.crossover_updates:,} updates, validation every {budget.validate_every} updates (and at each epoch's end), "
        f"seeds {' and '.join(map(str, CROSSOVER_SEEDS))}, one thread per run. Ratio: a run's valid perplexity over "
        f"{band_name}'s of the same seed, at the same update, or after as much training time (below 1: the far field "
        "pays). Training time = updates × the run's seconds per update, which is 1 / the mean of fairseq's `ups` over "
        "its 25-update log intervals after the first (validation and checkpoints not counted); the machine was shared "
        "with other work while these runs trained, so this is a reading of cost, not a benchmark.", "",
    ]
    if unfinished:
        lines += [f"**Partial**: {unfinished} of {len(results)} runs started not finished yet; their curves reach the "
                  "update shown (their train logs when last read; they resume from there).", ""]
    lines += ["| corpus | model | seed | updates | status | s/update |", "|---|---|---:|---:|---|---:|"]
    for corpus, arm, seed in crossover_order():
        result = results.get((corpus, arm, seed))
        if result:
            status = f"**partial** (of {budget.crossover_updates:,})" if result["partial"] else "finished"
            lines.append(f"| {corpus} | {CROSSOVER_ARMS[arm]} | {seed} | {result['updates']:,} | {status} | "
                         f"{number(result.get('seconds_per_update'))} |")
        elif arm in budget.arms:
            lines.append(f"| {corpus} | {CROSSOVER_ARMS[arm]} | {seed} | – | not started | – |")
    lines.append("")
    for corpus in CROSSOVER_CORPORA:
        lines += crossover_corpus_lines(records, results, corpus)
    lines += ["Commands (finished runs as recorded, unfinished ones as last started):", ""]
    for corpus, arm, seed in crossover_order():
        result = results.get((corpus, arm, seed))
        if result:
            lines.append(f"- `{crossover_name(corpus, arm, seed)}`: `{result['command']}`")
    return lines + [""]


def crossover_corpus_lines(records: Records, results: Dict[Tuple[str, str, int], Dict], corpus: str) -> List[str]:
    """One corpus of the crossover: curves by update, the crossing, the test figures and the figure."""
    band_arm, fmm_arm = CROSSOVER_PAIR
    own = {(arm, seed): result for (where, arm, seed), result in results.items() if where == corpus}
    if not own:
        return []
    title = {"code": "Python standard library sources", "docs": "Linux documentation"}[corpus]
    columns, ratios = [], {}  # (header, cells by update)
    for seed in CROSSOVER_SEEDS:
        band, fmm = own.get((band_arm, seed)), own.get((fmm_arm, seed))
        for arm, result in ((band_arm, band), (fmm_arm, fmm)):
            if result:
                columns.append((f"{CROSSOVER_ARMS[arm]} s{seed}", {u: f"{v:.2f}" for u, v in valid_points(result).items()}))
        if band and fmm:
            ratios[seed] = ratio_by_updates(fmm, band)
            columns.append((f"ratio s{seed}", {u: f"{v:.3f}" for u, v in ratios[seed].items()}))
            columns.append((f"ratio s{seed}, equal time", {u: f"{v:.3f}" for u, v in ratio_at_equal_time(fmm, band).items()}))
    for where, arm, seed in crossover_order():
        if where == corpus and arm not in CROSSOVER_PAIR and (arm, seed) in own:
            columns.append((f"{CROSSOVER_ARMS[arm]} s{seed}", {u: f"{v:.2f}" for u, v in valid_points(own[(arm, seed)]).items()}))
    updates = sorted({u for _, cells in columns for u in cells})
    lines = [f"### {title}", "",
             f"Valid perplexity (fairseq's, during training) by update; ratio = {CROSSOVER_ARMS[fmm_arm]} / "
             f"{CROSSOVER_ARMS[band_arm]} of the same seed (s1, s2).", "",
             "| updates | " + " | ".join(header for header, _ in columns) + " |", "|---:|" + "---:|" * len(columns)]
    lines += [f"| {u:,} | " + " | ".join(cells.get(u, "") for _, cells in columns) + " |" for u in updates]
    lines += ["", f"Crossover: {crossover_reading(ratios)}. Extrapolated: where the least-squares line of the ratio "
              "against ln(updates), fitted to the validations of the last half of the updates reached, reaches 1.", ""]
    finished = {key: result for key, result in own.items() if not result["partial"]}
    if finished:
        lines += crossover_test_lines(finished)
    figure = records.page.with_name(f"{records.page.stem}_crossover_{corpus}.png")
    skeleton.plot_curves(figure, crossover_panels(results, corpus))
    return lines + [f"![crossover, {title}]({figure.name})", ""]


def mean_and_half_spread(values: List[float]) -> Tuple[float, float]:
    return sum(values) / len(values), (max(values) - min(values)) / 2


def crossover_test_lines(finished: Dict[Tuple[str, int], Dict]) -> List[str]:
    """Test perplexity and loss by position of a corpus's finished runs, against band + bias of the same seed."""
    band_arm, fmm_arm = CROSSOVER_PAIR
    ordered = [(arm, seed) for seed in CROSSOVER_SEEDS for arm in CROSSOVER_ARMS if (arm, seed) in finished]
    spans = bucket_columns([finished[key] for key in ordered], "position_loss")
    lines = [f"At the end: `checkpoint_best.pt` (the lowest valid perplexity, at the update shown) by `fairseq-eval-lm`; loss "
             f"by position (`fmm-position-loss`, test) minus {CROSSOVER_ARMS[band_arm]}'s of the same seed, in nats.", "",
             "| model | seed | updates | best at | train peak MiB | valid ppl | test ppl | test / band + bias | "
             + " | ".join(f"Δ {a}-{b}" for a, b in spans) + " |",
             "|---|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(spans)]
    for arm, seed in ordered:
        result, band = finished[(arm, seed)], finished.get((band_arm, seed))
        points = valid_points(result)
        best = min(points, key=points.get)
        own, base = position_losses(result), position_losses(band) if band else {}
        ratio = f"{result['test']['ppl'] / band['test']['ppl']:.3f}" if band else "–"
        lines.append(f"| {CROSSOVER_ARMS[arm]} | {seed} | {result['updates']:,} | {best:,} | {number(result['train_peak_mib'], 0)} | "
                     f"{result['valid']['ppl']:.2f} | {result['test']['ppl']:.2f} | {ratio} | "
                     + " | ".join(f"{own[s] - base[s]:+.3f}" if s in own and s in base else "" for s in spans) + " |")
    pairs = [seed for seed in CROSSOVER_SEEDS if (band_arm, seed) in finished and (fmm_arm, seed) in finished]
    if len(pairs) == len(CROSSOVER_SEEDS):
        (fmm, fmm_spread), (band, band_spread) = (mean_and_half_spread([finished[(arm, seed)]["test"]["ppl"] for seed in pairs])
                                                  for arm in (fmm_arm, band_arm))
        deltas = [sum(position_losses(finished[(fmm_arm, seed)])[s] - position_losses(finished[(band_arm, seed)])[s]
                      for seed in pairs) / len(pairs) for s in spans]
        lines += ["", f"Mean of the {len(pairs)} seeds (± half their spread): {CROSSOVER_ARMS[fmm_arm]} {fmm:.2f} ± "
                  f"{fmm_spread:.2f}, {CROSSOVER_ARMS[band_arm]} {band:.2f} ± {band_spread:.2f}: **{fmm / band:.3f}×**; by "
                  "position, Δ of the means: " + ", ".join(f"{a}-{b} {d:+.3f}" for (a, b), d in zip(spans, deltas)) + "."]
    return lines + [""]


def curves(records: Records) -> List[Panel]:
    panels = []
    recall = by_kind(records, "recall")
    if recall:
        lines = [Line(r["label"], [((row["first"] + row["last"]) / 2, row["accuracy"]) for row in r["buckets"]], marker="o")
                 for r in recall.values()]
        panels.append(Panel(lines, "recall accuracy", x_label="gap (tokens)", title="recall probe, by gap", log_x=True))
    for corpus in CORPORA:
        results = [r for r in by_kind(records, "lm", corpus=corpus).values() if r["seed"] == 1]
        band = next((r for r in results if r["arm"] == "band"), None)
        if band:
            base = {row["first"]: row["loss"] for row in band["position_loss"]["buckets"]}
            lines = [Line(r["label"], [(max(row["first"], 1), row["loss"] - base[row["first"]])
                                       for row in r["position_loss"]["buckets"] if row["first"] in base], marker="o")
                     for r in results if r["arm"] != "band"]
            panels.append(Panel(lines, "loss - band only's (nats)", x_label="position (first of bucket)",
                                title=f"{corpus}: loss by position against band only", log_x=True))
    extrapolation = [r for r in by_kind(records, "extrapolation").values() if r["seed"] == 1]
    if extrapolation:
        lines = [Line(r["label"], [(int(n), e["ppl"]) for n, e in r["eval"].items() if "ppl" in e], marker="o")
                 for r in extrapolation]
        panels.append(Panel(lines, "test perplexity", x_label="tokens per sample at evaluation", log_y=True, log_x=True,
                            title="trained at 512, scored longer"))
    for panel in panels:
        if panel.x_label != "updates":
            panel.legend_size = 6
    return panels


def report(records: Records) -> List[str]:
    budget = Budget(**records.settings)
    lines = [
        f"Model for every run: `{' '.join(budget.model_size)}` (dropout 0.1), schedule `{' '.join(SCHEDULE)}`; "
        "one CPU thread per run, two runs at a time. FMM variants differ from the default only in the flags named "
        f"(`fmm_split` = `{' '.join(SPLIT)}`).", "",
        *recall_section(records),
        *lm_section(records, "code"), *lm_section(records, "code", seed=2),
        *lm_section(records, "docs"),
        *extrapolation_section(records),
    ]
    if curves(records):
        lines += [f"![recall, loss by position, extrapolation]({records.curves.name})", ""]
    lines += crossover_section(records)
    if records.runs:
        calibrations = by_kind(records, "calibration")
        if calibrations:
            lines += ["## Calibration (seconds per update at 2,048 tokens, one thread)", ""]
            for corpus in CORPORA:
                costs = calibration(records, corpus)
                if costs:
                    equal = f"; band of FMM's cost: w = {band_of_equal_cost(costs)}" if f"band{BAND_PROBE}" in costs else ""
                    lines.append(f"- {corpus}: " + ", ".join(f"{name} {cost:.2f}" for name, cost in sorted(costs.items())) + equal)
            lines += ["- budgeted as another arm (the in-band bias costs nothing measurable per update): "
                      + ", ".join(f"{arm} as {base}" for arm, base in TIMED_AS.items()), ""]
        commands = [f"- `{name}`: `{r['command']}`" for name, r in records.runs.items()
                    if "command" in r and r.get("kind") not in ("calibration", "crossover")]  # the crossover's: in its section
        if commands:
            lines += ["## Exact commands", "", *commands]
        example = next((r for r in records.runs.values() if r.get("kind") == "lm"), None)
        if example:
            lines += ["", "Scored with, e.g.:", "", f"    {example['test']['command']}", f"    {example['position_loss']['command']}"]
        recall_example = next((r for r in records.runs.values() if r.get("kind") == "recall"), None)
        if recall_example:
            lines += [f"    {recall_example['eval_command']}"]
        lines.append("")
    return lines


def main(argv=None) -> int:
    parser = skeleton.study_parser(__doc__, STAGES, page=ROOT / "docs" / "long_context.md",
                                   save_root=ROOT / "checkpoints" / "long_context", out_root=ROOT / "runs" / "long_context",
                                   parallel=2, thread_per_run=True)
    parser.add_argument("--minutes", type=positive_float, default=Budget.minutes,
                        help="calibrated training minutes of each 2,048-token run (default %(default)s)")
    parser.add_argument("--recall-updates", type=positive_int, default=Budget.recall_updates)
    parser.add_argument("--extrapolation-updates", type=positive_int, default=Budget.extrapolation_updates)
    parser.add_argument("--calibration-updates", type=positive_int, default=Budget.calibration_updates)
    parser.add_argument("--crossover-updates", type=positive_int, default=Budget.crossover_updates,
                        help="most updates of each crossover run (default %(default)s); a stopped run resumes")
    parser.add_argument("--validate-every", type=positive_int, default=Budget.validate_every,
                        help="updates between validations (and interval checkpoints) of every run (default %(default)s)")
    parser.add_argument("--long-tokens", type=positive_int, default=Budget.long_tokens, help="tokens per sample of code/docs")
    parser.add_argument("--extrapolation-tokens", type=positive_int, default=Budget.extrapolation_tokens,
                        help="tokens per sample the extrapolate stage trains with")
    parser.add_argument("--tokens-per-update", type=positive_int, default=Budget.tokens_per_update)
    parser.add_argument("--model-size", help="override the model size flags (tests use a smaller model)")
    parser.add_argument("--eval-lengths", help="comma-separated evaluation lengths of the extrapolate stage")
    parser.add_argument("--recall-data", type=Path, default=ROOT / Budget.recall_data, help="built when missing")
    parser.add_argument("--code-data", type=Path, default=ROOT / Budget.code_data, help="built when missing")
    parser.add_argument("--docs-data", type=Path, default=ROOT / Budget.docs_data, help="built when missing")
    parser.add_argument("--only", help=f"comma-separated arms, for every stage, among {', '.join(ARMS)}")
    args = parser.parse_args(argv)
    args.threads = args.threads or args.parallel
    arms = list(ARMS) if not args.only else [arm.strip() for arm in args.only.split(",") if arm.strip()]
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        parser.error(f"--only: unknown arm(s) {', '.join(unknown)}; known: {', '.join(ARMS)}")
    budget = Budget(recall_updates=args.recall_updates, minutes=args.minutes, calibration_updates=args.calibration_updates,
                    extrapolation_updates=args.extrapolation_updates, recall_data=relative(args.recall_data),
                    code_data=relative(args.code_data), docs_data=relative(args.docs_data), arms=arms,
                    long_tokens=args.long_tokens, extrapolation_tokens=args.extrapolation_tokens,
                    tokens_per_update=args.tokens_per_update, crossover_updates=args.crossover_updates,
                    validate_every=args.validate_every)
    if args.model_size:
        budget.model_size = args.model_size.split()
    if args.eval_lengths:
        budget.eval_lengths = sorted({int(n) for n in args.eval_lengths.split(",")})
    # the page's command names every arm recorded so far, not just this invocation's --only
    recorded = {r.get("arm") for r in Records(args.docs).runs.values()}
    shown = [arm for arm in ARMS if arm in recorded or arm in arms]
    command = (f"python {SCRIPT} --minutes {budget.minutes:g} --recall-updates {budget.recall_updates} "
               f"--extrapolation-updates {budget.extrapolation_updates} --crossover-updates {budget.crossover_updates} "
               + (f"--validate-every {budget.validate_every} " if budget.validate_every != Budget.validate_every else "")
               + f"--parallel {args.parallel}" + (f" --only {','.join(shown)}" if len(shown) < len(ARMS) else ""))
    record_crossover_progress(args.docs, args.out_root)  # the page shows unfinished runs as far as they got
    if not args.report_only:
        chosen = args.stages or [stage.name for stage in STAGES]
        if "recall" in chosen and not (args.recall_data / "recall.json").exists():
            skeleton.prepare_data("fmm-prepare-recall", *RECALL_PROBE, "--destdir", args.recall_data)
        for corpus, builder in CORPORA.items():
            data = ROOT / budget.data(corpus)
            if set(chosen) & {corpus, "calibrate", "seeds", "crossover", "extrapolate" if corpus == "docs" else corpus} and not (data / "dict.txt").exists():
                skeleton.prepare_data(builder, "--destdir", data)
    study = Study("Long context: where the far field pays, and models trained short run long", SCRIPT, STAGES,
                  runs=runs, score=score, report=report, curves=curves)
    status = skeleton.run_study(study, args, asdict(budget), command)
    record_crossover_progress(args.docs, args.out_root)  # drops the runs that finished
    return status


if __name__ == "__main__":
    sys.exit(main())
