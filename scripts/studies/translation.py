"""fmmformer vs fairseq's transformer on the EN-ES Bible corpus: same size, same updates, BLEU and time.

    python scripts/compare_translation.py --max-update 600

Builds the corpus if needed (prepare_translation_data.py), then trains the three models at the
same time, the CPU threads split between them, so that all see the same machine load: fmmformer
with the near weight starting at 0 (the paper's init, the translation default) and at 1 on both
sides (the language model's default), and fairseq's transformer. The flags are identical except
``--arch`` and the init (the sizes of ``fmmformer_tiny`` are given explicitly to all).
Evaluates the best checkpoint of each with beam 5 (evaluate_translation.py: sacrebleu on raw
references) and writes a markdown table and JSON to ``--out``. Reruns resume from
``checkpoint_last.pt``; logs are in ``--out/<model>/train.log``.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fmm_fairseq.studies import (
    BIN, TRANSLATION_LOSS, TRANSLATION_MODEL_SIZE, TRANSLATION_SCHEDULE, checkpoint_updates, run_measured,
)

ROOT = Path(__file__).resolve().parents[1]
MODELS = {  # name -> --arch and its model flags
    "fmmformer_near0": ["--arch", "fmmformer", "--encoder-fmm-near-init", "0", "--decoder-fmm-near-init", "0"],
    "fmmformer_near1": ["--arch", "fmmformer", "--encoder-fmm-near-init", "1", "--decoder-fmm-near-init", "1"],
    "transformer": ["--arch", "transformer"],
}


def train_command(data: Path, model: list, save_dir: Path, max_update: int, max_tokens: int):
    return [
        str(BIN / "fairseq-train"), str(data), *model, "--user-dir", "fmm_fairseq", "--task", "translation",
        *TRANSLATION_MODEL_SIZE, *TRANSLATION_LOSS, *TRANSLATION_SCHEDULE, "--max-tokens", str(max_tokens),
        "--max-update", str(max_update),
        "--no-epoch-checkpoints", "--cpu", "--seed", "1", "--no-progress-bar", "--log-interval", "50",
        "--save-dir", str(save_dir),
    ]


def train_side_by_side(commands, threads: int):
    """Trains every run at once (``threads`` each, output appended to its log); fails naming each that failed."""
    for name, (command, _) in commands.items():
        print(f"[{name}] $ {' '.join(command)}", flush=True)
    with ThreadPoolExecutor(len(commands)) as pool:
        running = [pool.submit(run_measured, command, log, threads, ROOT) for command, log in commands.values()]
    failed = [str(future.exception()) for future in running if future.exception()]
    if failed:
        raise SystemExit("training failed:\n" + "\n".join(failed))


def epoch_train_seconds(log_text: str):
    """fairseq's per-epoch ``train_wall`` (training time without validation and saving)."""
    return [int(x) for x in re.findall(r"\| train \| .*?\| train_wall (\d+)", log_text)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data-bin/bible-en-es"))
    parser.add_argument("--max-update", type=int, default=600)
    parser.add_argument("--max-tokens", type=int, default=2048)
    parser.add_argument("--out", type=Path, default=Path("runs/translation"))
    options = parser.parse_args()
    subprocess.run([sys.executable, "scripts/prepare_translation_data.py", "--destdir", str(options.data)], cwd=ROOT, check=True)
    commands = {}
    for name, model in MODELS.items():
        save_dir = options.out / name
        save_dir.mkdir(parents=True, exist_ok=True)
        if checkpoint_updates(save_dir / "checkpoint_last.pt") < options.max_update:  # fairseq would train one more update otherwise
            commands[name] = (train_command(options.data, model, save_dir, options.max_update, options.max_tokens), save_dir / "train.log")
    if commands:
        train_side_by_side(commands, threads=max(1, (os.cpu_count() or 2) // len(MODELS)))

    results = {}
    for name in MODELS:
        save_dir = options.out / name
        evaluation = subprocess.run(
            [sys.executable, "scripts/evaluate_translation.py", str(options.data), "--path",
             str(save_dir / "checkpoint_best.pt"), "--beam", "5", "--cpu"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
        print(f"[{name}] {evaluation.strip()}", flush=True)
        log_text = (save_dir / "train.log").read_text(encoding="utf-8")
        results[name] = {
            "bleu": float(re.search(r"^BLEU = ([\d.]+)", evaluation, re.M).group(1)),
            "train_seconds": sum(epoch_train_seconds(log_text)),
            "updates": options.max_update,
            "best_valid_loss": float(re.findall(r"\| valid \| .*?\| best_loss ([\d.]+)", log_text)[-1]),
        }
    (options.out / "comparison.json").write_text(json.dumps(results, indent=2) + "\n")
    table = "\n".join(
        ["| model | updates | test BLEU (beam 5) | best valid loss | fairseq train_wall (s) |", "|---|---|---|---|---|"]
        + [f"| {name} | {r['updates']} | {r['bleu']:.2f} | {r['best_valid_loss']:.3f} | {r['train_seconds']} |" for name, r in results.items()]
    )
    (options.out / "comparison.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
