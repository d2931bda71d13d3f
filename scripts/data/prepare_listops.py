#!/usr/bin/env python3
"""Build the Long Range Arena's ListOps task for fairseq's sentence_prediction.

Generates ListOps as LRA defines it (fmm_tools.data.listops: operators [MAX [MIN [MED [SM,
digits 0-9, depth <= 10, 2-10 arguments, 500 < length < 2000 tokens, 96,000 / 2,000 / 2,000
distinct examples, deterministic in --seed), or reads LRA's released TSVs with --raw-dir, and writes

    DESTDIR/raw/basic_{train,val,test}.tsv    LRA's format (generated data only)
    DESTDIR/input0/  DESTDIR/label/           fairseq-preprocess output, the sentence_prediction layout
    DESTDIR/listops.json                      what was built, with which settings

Every row of --raw-dir is checked (header, fields, tokens, brackets, and that the target is the
expression's value) before anything is written; an error names the file and line. The fixed
dictionaries make class k the digit k. Then:

    fairseq-train DESTDIR --user-dir fmm_fairseq --task sentence_prediction --arch fmm_roberta_lra \\
      --num-classes 10 --init-token 0 --max-positions 2048 ...

Examples:
    fmm-prepare-listops --destdir data-bin/listops
    fmm-prepare-listops --raw-dir lra_release/listops-1000 --destdir data-bin/listops-lra
"""
import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from fmm_tools.cli_types import positive_int
from fmm_tools.data import listops
from fmm_tools.data.preparation import PrepareError, fairseq_preprocess, human, staged

SPLITS = {"train": "basic_train.tsv", "valid": "basic_val.tsv", "test": "basic_test.tsv"}  # fairseq name -> LRA file
FORMAT = "listops-v1"


def log(message):
    print(f"[fmm-prepare-listops] {message}", flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="fmm-prepare-listops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--destdir", type=Path, default=Path("data-bin/listops"), help="output directory (default: %(default)s)")
    parser.add_argument("--raw-dir", type=Path, help="binarise LRA's basic_{train,val,test}.tsv from this directory instead of generating")
    parser.add_argument("--seed", type=int, default=0, help="generation seed (default: %(default)s)")
    parser.add_argument("--train-size", type=positive_int, default=96000, help="(default: %(default)s)")
    parser.add_argument("--valid-size", type=positive_int, default=2000, help="(default: %(default)s)")
    parser.add_argument("--test-size", type=positive_int, default=2000, help="(default: %(default)s)")
    parser.add_argument("--min-length", type=int, default=500, help="keep expressions longer than this (default: %(default)s)")
    parser.add_argument("--max-length", type=int, default=2000, help="keep expressions shorter than this (default: %(default)s)")
    parser.add_argument("--max-depth", type=positive_int, default=10, help="(default: %(default)s)")
    parser.add_argument("--max-args", type=int, default=10, help="at most this many arguments per operator, >= 2 (default: %(default)s)")
    parser.add_argument("--workers", type=positive_int, default=min(8, os.cpu_count() or 1), help="fairseq-preprocess workers")
    parser.add_argument("--force", action="store_true", help="rebuild even if --destdir holds this dataset")
    args = parser.parse_args(argv)
    if args.max_args < 2:
        parser.error(f"--max-args must be >= 2, got {args.max_args}")
    if not 0 <= args.min_length < args.max_length - 1:
        parser.error(f"--min-length {args.min_length} / --max-length {args.max_length}: need 0 <= min < max - 1 (lengths strictly between)")
    return args


def settings_of(args):
    if args.raw_dir is not None:
        return {"format": FORMAT, "source": str(args.raw_dir.resolve())}
    keys = ("seed", "train_size", "valid_size", "test_size", "min_length", "max_length", "max_depth", "max_args")
    return {"format": FORMAT, "source": "generated", **{key: getattr(args, key) for key in keys}}


def generate(args):
    """The three splits, drawn from one stream of distinct expressions (none is in two splits)."""
    sizes = {"train": args.train_size, "valid": args.valid_size, "test": args.test_size}
    total = sum(sizes.values())
    examples, started = [], time.time()
    try:
        for example in listops.generate_examples(
            total, args.seed, args.min_length, args.max_length, args.max_depth, args.max_args
        ):
            examples.append(example)
            if len(examples) % 10000 == 0:
                log(f"generated {human(len(examples))} of {human(total)} ({time.time() - started:.0f} s)")
    except listops.ListOpsError as error:
        raise PrepareError(str(error)) from None
    splits, start = {}, 0
    for split, size in sizes.items():
        splits[split], start = examples[start : start + size], start + size
    return splits


def read_raw(raw_dir):
    """LRA's three TSVs, every row checked before anything is written."""
    splits = {}
    for split, name in SPLITS.items():
        path = raw_dir / name
        if not path.is_file():
            raise PrepareError(f"{path} not found: --raw-dir needs {', '.join(SPLITS.values())}")
        try:
            splits[split] = listops.read_tsv(path)
        except listops.ListOpsError as error:
            raise PrepareError(str(error)) from None
        log(f"read {path}: {human(len(splits[split]))} examples")
    return splits


def write_dictionary(path, symbols):
    path.write_text("".join(f"{symbol} 1\n" for symbol in symbols), encoding="utf-8")


def build(splits, staging, generated, workers):
    """raw/ (generated data), then input0/ and label/ with fairseq-preprocess and fixed dictionaries."""
    if generated:
        (staging / "raw").mkdir()
        for split, name in SPLITS.items():
            listops.write_tsv(staging / "raw" / name, splits[split])
    text = staging / "text"
    text.mkdir()
    for split, examples in splits.items():
        with open(text / f"{split}.input0", "w", encoding="utf-8") as inputs, open(text / f"{split}.label", "w", encoding="utf-8") as labels:
            for expression, label in examples:
                inputs.write(expression + "\n")
                labels.write(f"{label}\n")
    write_dictionary(text / "dict.input0", listops.VOCABULARY)
    write_dictionary(text / "dict.label", listops.DIGITS)
    for field in ("input0", "label"):
        fairseq_preprocess(
            ["--only-source", "--srcdict", text / f"dict.{field}", "--trainpref", text / f"train.{field}",
             "--validpref", text / f"valid.{field}", "--testpref", text / f"test.{field}",
             "--destdir", staging / field, "--workers", workers],
            log,
        )
    shutil.rmtree(text)


def main(argv=None):
    args = parse_args(argv)
    settings = settings_of(args)
    record = args.destdir / "listops.json"
    if record.is_file() and not args.force and json.loads(record.read_text())["settings"] == settings:
        log(f"{args.destdir} already holds this dataset; nothing to do (use --force)")
        return 0
    started = time.time()
    try:
        splits = read_raw(args.raw_dir) if args.raw_dir is not None else generate(args)
        generation_s = time.time() - started
        with staged(args.destdir) as staging:
            build(splits, staging, args.raw_dir is None, args.workers)
            lengths = {split: [len(e.split()) for e, _ in examples] for split, examples in splits.items()}
            summary = {
                "settings": settings,
                "examples": {split: len(examples) for split, examples in splits.items()},
                "mean_length": {split: round(sum(v) / len(v), 1) for split, v in lengths.items()},
                "length_range": {split: [min(v), max(v)] for split, v in lengths.items()},
                "majority_class_share": {
                    split: round(max(sum(1 for _, y in ex if y == c) for c in range(10)) / len(ex), 4) for split, ex in splits.items()
                },
                "outer_operator_prior": {  # accuracy of the outermost operator's most frequent training answer
                    split: round(listops.outer_operator_prior(splits["train"], splits[split]), 4) for split in ("valid", "test")
                },
                "read_or_generated_s": round(generation_s, 1),
                "total_s": round(time.time() - started, 1),
            }
            (staging / "listops.json").write_text(json.dumps(summary, indent=1) + "\n")
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{split} {len(examples)}" for split, examples in splits.items())
    print(f"data ready: {args.destdir} ({counts} examples, {summary['total_s']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
