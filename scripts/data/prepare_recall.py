"""A recall probe in fairseq's language-modelling format: key-value pairs queried again after a gap.

    fmm-prepare-recall                                  # -> data-bin/recall (lines of 512 tokens)
    fmm-prepare-recall --length 1024 --max-gap 960 --destdir data-bin/recall-1024

Every line is one sample (train with ``--sample-break-mode eos``) of ``--length`` tokens: ``--pairs``
key-value pairs ``k17 v3`` (distinct keys per line, values drawn afresh for every line, so that
only the context can tell them) placed among random filler tokens, and each key queried once
later, ``k17`` again, after a gap drawn log-uniformly from [--min-gap, --max-gap] tokens (key to
key): the token after the query is the recalled value. A model can predict it only by looking
``gap`` tokens back: within its band (gap < w) the near field sees the pair, beyond it only a
far field (or full attention) can. Keys, values and fillers come from disjoint vocabularies
(``k*``, ``v*``, ``f*``), as in the multi-query associative recall task (Zoology's MQAR).
``fmm-recall`` scores a checkpoint on the test split: accuracy and loss at the recalled values, by gap.
The text splits stay in ``DEST/text/`` for it; ``recall.json`` records the settings.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from fmm_tools.data.preparation import PrepareError, fairseq_preprocess, publish_staging

SPLITS = {"train": 0, "valid": 1, "test": 2}  # split -> offset of its random seed


@dataclass(frozen=True)
class RecallSpec:
    """How the lines of the probe are made."""

    length: int = 512  # tokens per line
    pairs: int = 8  # key-value pairs per line, each queried once
    keys: int = 64  # vocabulary sizes: k0.., v0.., f0..
    values: int = 64
    fillers: int = 128
    min_gap: int = 4  # tokens from a pair's key to its query's key
    max_gap: int = 480

    def check(self) -> None:
        """Raises PrepareError naming the option that cannot work."""
        if self.min_gap < 2:
            raise PrepareError("--min-gap must be >= 2 (a query cannot overlap its pair)")
        if self.max_gap < self.min_gap:
            raise PrepareError(f"--max-gap {self.max_gap} is below --min-gap {self.min_gap}")
        if self.max_gap + 2 > self.length:
            raise PrepareError(f"--max-gap {self.max_gap} + 2 does not fit a line of --length {self.length}")
        if self.pairs > self.keys:
            raise PrepareError(f"--pairs {self.pairs} needs at least as many keys (--keys {self.keys})")
        if 4 * self.pairs > self.length // 2:
            raise PrepareError(f"--pairs {self.pairs}: 4 tokens each take more than half of a line of {self.length}")


def generate_line(spec: RecallSpec, rng: random.Random) -> List[str]:
    """One line: the pairs and their queries at free places, filler everywhere else."""
    tokens: List[str] = [""] * spec.length
    keys = rng.sample(range(spec.keys), spec.pairs)
    log_low, log_high = math.log(spec.min_gap), math.log(spec.max_gap + 1)
    for key in keys:
        value = f"v{rng.randrange(spec.values)}"
        for _ in range(1000):
            gap = min(int(math.exp(rng.uniform(log_low, log_high))), spec.max_gap)
            start = rng.randrange(spec.length - gap - 1)
            places = (start, start + 1, start + gap, start + gap + 1)
            if not any(tokens[place] for place in places):
                break
        else:
            raise PrepareError(f"no room for {spec.pairs} pairs in a line of {spec.length} (lower --pairs)")
        tokens[start] = tokens[start + gap] = f"k{key}"
        tokens[start + 1] = tokens[start + gap + 1] = value
    return [token or f"f{rng.randrange(spec.fillers)}" for token in tokens]


def recall_targets(tokens: Sequence[str]) -> Iterator[Tuple[int, int, str]]:
    """(position of the recalled value, gap, the value) for every key seen a second time: the value
    that followed the key the first time. The probe's answers, read from the line alone."""
    first_seen = {}
    for position, token in enumerate(tokens[:-1]):
        if not token.startswith("k"):
            continue
        if token in first_seen:
            earlier = first_seen[token]
            yield position + 1, position - earlier, tokens[earlier + 1]
        else:
            first_seen[token] = position


def write_split(path: Path, spec: RecallSpec, lines: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "w") as out:
        for _ in range(lines):
            out.write(" ".join(generate_line(spec, rng)) + "\n")


def dataset_complete(destdir: Path) -> bool:
    names = ["dict.txt", "recall.json"] + [f"{split}.{ext}" for split in SPLITS for ext in ("bin", "idx")]
    return all((destdir / name).is_file() for name in names) and all((destdir / "text" / f"{s}.txt").is_file() for s in SPLITS)


def prepare(spec: RecallSpec, sizes: dict, seed: int, destdir: Path, workers: int) -> None:
    spec.check()
    destdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destdir.name}.", dir=destdir.parent))
    try:
        text = staging / "text"
        text.mkdir()
        for split, offset in SPLITS.items():
            write_split(text / f"{split}.txt", spec, sizes[split], seed * 10 + offset)
            print(f"[prepare-recall] {split}: {sizes[split]} lines of {spec.length} tokens", flush=True)
        fairseq_preprocess(
            ["--only-source", "--trainpref", text / "train.txt", "--validpref", text / "valid.txt",
             "--testpref", text / "test.txt", "--destdir", staging, "--workers", workers],
            lambda message: print(f"[prepare-recall] {message}", flush=True),
        )
        (staging / "recall.json").write_text(json.dumps({**asdict(spec), "lines": sizes, "seed": seed}, indent=1) + "\n")
        publish_staging(staging, destdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="fmm-prepare-recall", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = RecallSpec()
    for name, value in asdict(defaults).items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=value, help="default: %(default)s")
    parser.add_argument("--train-lines", type=int, default=20000)
    parser.add_argument("--valid-lines", type=int, default=500)
    parser.add_argument("--test-lines", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--destdir", type=Path, default=Path("data-bin/recall"), help="default: %(default)s")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--force", action="store_true", help="rebuild even if --destdir holds the probe")
    args = parser.parse_args(argv)
    spec = RecallSpec(**{name: getattr(args, name) for name in asdict(defaults)})
    sizes = {"train": args.train_lines, "valid": args.valid_lines, "test": args.test_lines}
    for name, value in [(field, getattr(spec, field)) for field in asdict(spec)] + [(f"{s}_lines", n) for s, n in sizes.items()]:
        if value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if dataset_complete(args.destdir) and not args.force:
        print(f"[prepare-recall] {args.destdir} already holds the probe; nothing to do (use --force)")
        return 0
    try:
        prepare(spec, sizes, args.seed, args.destdir, args.workers)
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"data ready: {args.destdir}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
