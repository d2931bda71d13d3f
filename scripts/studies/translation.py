#!/usr/bin/env python
"""Translation study: fmmformer vs fairseq's transformer on the EN-ES Bible corpus, same size, same
updates; BLEU and training time.

    python scripts/studies/translation.py --max-update 600
    python scripts/studies/translation.py --report-only      # rewrite docs/translation.md from docs/translation.json

Builds the corpus if needed (fmm-prepare-translation), then trains the three models at the same
time, the CPU threads split between them, so that all see the same machine load: fmmformer with the
near weight starting at 0 (the paper's init, the translation default) and at 1 on both sides (the
language model's default), and fairseq's transformer. The flags are identical except ``--arch`` and
the init (the sizes of ``fmmformer_tiny`` are given explicitly to all). Evaluates the best checkpoint
of each with beam 5 (fmm-evaluate-translation: sacrebleu on raw references). Reruns resume from
``checkpoint_last.pt``; checkpoints and logs are in ``--out/<model>/`` (the conversion study
fine-tunes ``--out/transformer/checkpoint_last.pt``).
"""
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List

from fmm_tools.cli_types import positive_int
from fmm_tools.paths import ROOT, relative
from fmm_tools.studies import skeleton
from fmm_tools.studies.fairseq_output import checkpoint_updates
from fmm_tools.studies.recipes import (
    TRANSLATION_LOSS, TRANSLATION_MODEL_SIZE, TRANSLATION_SCHEDULE, bleu_command, read_bleu,
)
from fmm_tools.studies.skeleton import Records, Run, Stage, Study, Trained

SCRIPT = "scripts/studies/translation.py"
STAGES = [Stage("train", "the three models at once", together=True)]
MODELS = {  # name -> --arch and its model flags
    "fmmformer_near0": ["--arch", "fmmformer", "--encoder-fmm-near-init", "0", "--decoder-fmm-near-init", "0"],
    "fmmformer_near1": ["--arch", "fmmformer", "--encoder-fmm-near-init", "1", "--decoder-fmm-near-init", "1"],
    "transformer": ["--arch", "transformer"],
}


@dataclass
class Budget:
    data: str
    max_update: int
    max_tokens: int


def study_run(name: str, budget: Budget) -> Run:
    return Run(name, name, [
        budget.data, *MODELS[name], "--user-dir", "fmm_fairseq", "--task", "translation", *TRANSLATION_MODEL_SIZE,
        *TRANSLATION_LOSS, *TRANSLATION_SCHEDULE, "--max-tokens", str(budget.max_tokens),
        "--max-update", str(budget.max_update), "--no-epoch-checkpoints", "--cpu", "--no-progress-bar", "--log-interval", "50",
    ], stage="train")


def epoch_train_seconds(log_text: str) -> List[int]:
    """fairseq's per-epoch ``train_wall`` (training time without validation and saving)."""
    return [int(x) for x in re.findall(r"\| train \| .*?\| train_wall (\d+)", log_text)]


def score(run: Run, trained: Trained) -> Dict:
    """BLEU of checkpoint_best.pt (beam 5), fairseq's training time and best valid loss."""
    budget = Budget(**trained.settings)
    log = trained.log()
    return {
        "bleu": read_bleu(trained.call(bleu_command(budget.data, trained.save_dir / "checkpoint_best.pt")).log),
        "train_seconds": sum(epoch_train_seconds(log)),
        "updates": checkpoint_updates(trained.save_dir / "checkpoint_last.pt"),
        "best_valid_loss": min(float(loss) for loss in re.findall(r"\| valid \| .*?\| loss ([\d.]+)", log)),
    }


def report(records: Records) -> List[str]:
    lines = ["| model | updates | test BLEU (beam 5) | best valid loss | fairseq train_wall (s) |", "|---|---|---|---|---|"]
    for name in MODELS:
        r = records.runs.get(name)
        lines.append(f"| {name} | {r['updates']} | {r['bleu']:.2f} | {r['best_valid_loss']:.3f} | {r['train_seconds']} |"
                     if r else f"| {name} | not run yet |||")
    lines += ["", "## Exact commands", ""]
    lines += [f"- `{name}`: `{r['command']}`" for name, r in records.runs.items()]
    return lines + [""]


def main(argv=None) -> int:
    parser = skeleton.study_parser(__doc__, STAGES, page=ROOT / "docs" / "translation.md",
                                   save_root=ROOT / "runs" / "translation", out_root=ROOT / "runs" / "translation")
    parser.add_argument("--data", type=Path, default=ROOT / "data-bin" / "bible-en-es")
    parser.add_argument("--max-update", type=positive_int, default=600)
    parser.add_argument("--max-tokens", type=positive_int, default=2048)
    parser.add_argument("--out", type=Path, help="checkpoints and logs (sets --save-root and --out-root)")
    args = parser.parse_args(argv)
    if args.out:
        args.save_root = args.out_root = args.out
    budget = Budget(relative(args.data), args.max_update, args.max_tokens)
    if not args.report_only:
        skeleton.prepare_data("fmm-prepare-translation", "--destdir", args.data)  # nothing to do when it is there
    command = f"python {SCRIPT} --max-update {args.max_update} --max-tokens {args.max_tokens} --threads {args.threads}"
    study = Study("fmmformer vs transformer: Bible EN-ES translation, same size, same updates", SCRIPT, STAGES,
                  runs=lambda records: [study_run(name, Budget(**records.settings)) for name in MODELS],
                  score=score, report=report)
    return skeleton.run_study(study, args, asdict(budget), command)


if __name__ == "__main__":
    sys.exit(main())
