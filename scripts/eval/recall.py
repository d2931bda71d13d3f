"""Recall accuracy of language models on the probe of ``fmm-prepare-recall`` or on MQAR (``fmm-prepare-mqar``), by gap.

    fmm-recall data-bin/recall --path checkpoints/recall-fmm/checkpoint_best.pt [--path ...] --output runs/recall
    fmm-recall data-bin/mqar --path checkpoints/mqar-fmm/checkpoint_best.pt

Each checkpoint is loaded through fairseq (``checkpoint_utils``, its task and dictionary) and
reads every line of the split (``DATA/text/SPLIT.txt``) as ``fairseq-eval-lm`` would (the line's
tokens after the end-of-sentence symbol). At every recalled token (after a key seen the second time)
it scores whether the most probable next token is the one that followed the key the first time
(accuracy) and its loss; both by the gap between the two keys, in buckets whose
first edge is the band width. Chance is 1 / (number of keys, or of values). Writes OUT.json, prints a table.

The answers: where ``DATA/text/SPLIT.answers.jsonl`` exists (MQAR), the recorded ones, per line
``[[position of the answer token, gap, value], ...]``; otherwise read from the line (``recall_targets``).
The settings: ``DATA/mqar.json`` (largest gap T - 2, chance 1 / (V/2) values) or ``DATA/recall.json``.
"""
import argparse
import json
import math
import sys
from pathlib import Path
from typing import Dict, List, Optional

import torch

from fmm_attention import FMMAttention
from fmm_tools.data.prepare_mqar import read_answers
from fmm_tools.data.prepare_recall import recall_targets
from fmm_tools.eval.position_loss import PLUGIN_DIR, bucket_edges


def score(checkpoint: str, data: Path, split: str, batch_size: int, user_dir: str) -> Dict:
    """Per recalled value: gap, correct (bool), loss (nats); and the checkpoint's band width."""
    from argparse import Namespace

    from fairseq import checkpoint_utils, utils

    utils.import_user_module(Namespace(user_dir=user_dir))
    models, _, task = checkpoint_utils.load_model_ensemble_and_task([checkpoint], arg_overrides={"data": str(data)})
    model = models[0].eval()
    dictionary = task.source_dictionary
    lines = (data / "text" / f"{split}.txt").read_text().splitlines()
    answers_file = data / "text" / f"{split}.answers.jsonl"
    answers = read_answers(answers_file) if answers_file.is_file() else [list(recall_targets(line.split())) for line in lines]
    if len(answers) != len(lines):
        raise ValueError(f"{answers_file} has {len(answers)} lines, {split}.txt {len(lines)}")
    gaps: List[int] = []
    correct: List[bool] = []
    losses: List[float] = []
    with torch.no_grad():
        for first in range(0, len(lines), batch_size):
            batch = [line.split() for line in lines[first : first + batch_size]]
            length = max(len(tokens) for tokens in batch) + 1
            source = torch.full((len(batch), length), dictionary.pad(), dtype=torch.long)
            for row, tokens in enumerate(batch):
                source[row, : len(tokens) + 1] = torch.tensor([dictionary.eos()] + [dictionary.index(t) for t in tokens])
            log_probs = model.get_normalized_probs(model(source), log_probs=True)  # (batch, length, vocab)
            for row, tokens in enumerate(batch):
                for position, gap, value in answers[first + row]:
                    predicted = log_probs[row, position]
                    target = dictionary.index(value)
                    gaps.append(gap)
                    correct.append(bool(predicted.argmax() == target))
                    losses.append(-float(predicted[target]))
    bandwidth = next((layer.config.bandwidth for layer in model.modules() if isinstance(layer, FMMAttention)), None)
    return {"gaps": gaps, "correct": correct, "losses": losses, "bandwidth": bandwidth or None}


def probe_settings(data: Path) -> Optional[Dict]:
    """{"max_gap", "chance"} of the probe in ``data``: MQAR's (gaps up to T - 2, V/2 values) or the
    recall probe's (--max-gap, 1 / (values or keys)); None when neither settings file is there."""
    if (data / "mqar.json").is_file():
        mqar = json.loads((data / "mqar.json").read_text())
        return {"max_gap": mqar["length"] - 2, "chance": 1 / (mqar["vocab"] // 2)}
    if (data / "recall.json").is_file():
        probe = json.loads((data / "recall.json").read_text())
        return {"max_gap": probe["max_gap"], "chance": 1 / (probe["values"] or probe["keys"])}
    return None


def buckets(result: Dict, edges: List[int]) -> List[Dict]:
    gaps = torch.tensor(result["gaps"])
    correct = torch.tensor(result["correct"], dtype=torch.float64)
    losses = torch.tensor(result["losses"], dtype=torch.float64)
    rows = []
    for first, end in zip(edges[:-1], edges[1:]):
        chosen = (gaps >= first) & (gaps < end)
        count = int(chosen.sum())
        if count:
            accuracy = float(correct[chosen].mean())
            rows.append({
                "first": first, "last": end - 1, "queries": count, "accuracy": accuracy,
                "stderr": math.sqrt(accuracy * (1 - accuracy) / count), "loss": float(losses[chosen].mean()),
            })
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fmm-recall", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the probe (fmm-prepare-recall --destdir)")
    parser.add_argument("--path", action="append", required=True, help="a checkpoint; repeat for several")
    parser.add_argument("--label", action="append", help="a name per --path (default: the checkpoint's folder)")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--band", type=int, help="the first bucket edge (default: the checkpoints' band)")
    parser.add_argument("--user-dir", default=PLUGIN_DIR, help="default: the installed plugin (%(default)s)")
    parser.add_argument("--output", type=Path, help="write OUTPUT.json")
    args = parser.parse_args(argv)
    settings = probe_settings(args.data)
    if settings is None:
        parser.error(f"{args.data} holds no recall probe (neither recall.json nor mqar.json; run fmm-prepare-recall or -mqar)")
    if args.label and len(args.label) != len(args.path):
        parser.error(f"--label: give one per --path ({len(args.path)}), got {len(args.label)}")
    results = []
    for index, checkpoint in enumerate(args.path):
        if not Path(checkpoint).is_file():
            parser.error(f"--path: no such checkpoint: {checkpoint}")
        result = score(checkpoint, args.data, args.split, args.batch_size, args.user_dir)
        result["label"] = args.label[index] if args.label else Path(checkpoint).parent.name
        results.append(result)
    band: Optional[int] = args.band or next((r["bandwidth"] for r in results if r["bandwidth"]), None)
    edges = bucket_edges(settings["max_gap"] + 1, band)
    chance = settings["chance"]
    print(f"accuracy at the recalled tokens by gap (chance {chance:.3f}); {args.split} split")
    print("| checkpoint | all | " + " | ".join(f"{a}-{b - 1}" for a, b in zip(edges[:-1], edges[1:])) + " |")
    print("|" + "---|" * (len(edges) + 1))
    for result in results:
        result["buckets"] = buckets(result, edges)
        result["accuracy"] = sum(result["correct"]) / len(result["correct"])
        cells = {row["first"]: f"{row['accuracy']:.3f}" for row in result["buckets"]}
        print(f"| {result['label']} | {result['accuracy']:.3f} | " + " | ".join(cells.get(a, "") for a in edges[:-1]) + " |")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        summary = [{key: r[key] for key in ("label", "bandwidth", "accuracy", "buckets")} for r in results]
        args.output.with_suffix(".json").write_text(json.dumps({"edges": edges, "chance": chance, "checkpoints": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
