"""fmmformer vs fairseq's transformer on the EN-ES Bible corpus: same size, same updates, BLEU and time.

    python scripts/compare_translation.py --max-update 3000

Builds the corpus if needed (prepare_translation_data.py), trains both models with identical
flags except ``--arch`` (sizes of ``fmmformer_tiny``, given explicitly to both), evaluates the
best checkpoint of each with beam 5 (evaluate_translation.py: sacrebleu on raw references), and
writes a markdown table plus JSON to ``--out``. Reruns resume from ``checkpoint_last.pt``.
"""
import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SIZES = [
    "--encoder-layers", "3", "--decoder-layers", "3", "--encoder-embed-dim", "256", "--decoder-embed-dim", "256",
    "--encoder-ffn-embed-dim", "1024", "--decoder-ffn-embed-dim", "1024", "--encoder-attention-heads", "4",
    "--decoder-attention-heads", "4", "--share-all-embeddings",
]
MODELS = {"fmmformer": ["--arch", "fmmformer"], "transformer": ["--arch", "transformer"]}


def train_flags(max_update: int, max_tokens: int):
    return [
        "--user-dir", "fmm_fairseq", "--task", "translation", *SIZES, "--dropout", "0.1",
        "--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "0.0", "--lr", "0.001",
        "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "400", "--criterion", "label_smoothed_cross_entropy",
        "--label-smoothing", "0.1", "--max-tokens", str(max_tokens), "--max-update", str(max_update),
        "--no-epoch-checkpoints", "--cpu", "--seed", "1", "--no-progress-bar", "--log-interval", "100",
    ]


def run_logged(command, log_path: Path):
    """Runs a command with its output appended to log_path (and echoed); fails loudly."""
    print("$", " ".join(command), flush=True)
    with open(log_path, "a", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            log.write(line)
            if "| train_inner |" in line or "| valid |" in line or "done training" in line:
                print(line.rstrip()[-160:], flush=True)
        if process.wait() != 0:
            raise SystemExit(f"failed: {' '.join(command)} (see {log_path})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data-bin/bible-en-es"))
    parser.add_argument("--max-update", type=int, default=3000)
    parser.add_argument("--max-tokens", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=Path("runs/translation"))
    options = parser.parse_args()
    subprocess.run([sys.executable, "scripts/prepare_translation_data.py", "--destdir", str(options.data)], cwd=ROOT, check=True)
    options.out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, arch in MODELS.items():
        save_dir = options.out / name
        save_dir.mkdir(exist_ok=True)
        log_path = save_dir / "train.log"
        start = time.perf_counter()
        run_logged(
            [str(BIN / "fairseq-train"), str(options.data), *arch, *train_flags(options.max_update, options.max_tokens),
             "--save-dir", str(save_dir)],
            log_path,
        )
        wall = time.perf_counter() - start
        summary = re.findall(r"\| train \| .*?train_wall (\d+)", log_path.read_text(encoding="utf-8"))
        evaluation = subprocess.run(
            [sys.executable, "scripts/evaluate_translation.py", str(options.data), "--path",
             str(save_dir / "checkpoint_best.pt"), "--beam", "5", "--cpu"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
        bleu = float(re.search(r"^BLEU = ([\d.]+)", evaluation, re.M).group(1))
        results[name] = {
            "bleu": bleu, "train_wall_s_last_run": round(wall, 1),
            "fairseq_train_wall_s_per_epoch": [int(x) for x in summary], "updates": options.max_update,
        }
        print(f"{name}: BLEU {bleu}", flush=True)
    (options.out / "comparison.json").write_text(json.dumps(results, indent=2) + "\n")
    rows = [
        "| model | updates | BLEU (beam 5, test) | fairseq train_wall (s, sum over epochs) |",
        "|---|---|---|---|",
    ]
    for name, result in results.items():
        rows.append(f"| {name} | {result['updates']} | {result['bleu']:.2f} | {sum(result['fairseq_train_wall_s_per_epoch'])} |")
    table = "\n".join(rows)
    (options.out / "comparison.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
