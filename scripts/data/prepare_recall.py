"""A recall probe in fairseq's language-modelling format: random segments repeated after a gap.

    fmm-prepare-recall                                  # -> data-bin/recall (lines of 512 tokens)
    fmm-prepare-recall --length 1024 --max-gap 960 --destdir data-bin/recall-1024

Every line is one sample (train with ``--sample-break-mode eos``) of ``--length`` tokens:
``--segments`` segments of ``--segment-length`` random key tokens (``k*``, each key once per line,
drawn afresh for every line, so only the context can tell what follows a key), each repeated once
later, after a gap drawn log-uniformly from [--min-gap, --max-gap] tokens (first copy to second),
among filler tokens (``f*``). In the second copy every token but the first is recalled: it is the
token that followed the previous one in the first copy, ``gap`` tokens back. Within the band
(gap < w) the near field sees it; beyond, only a far field (or full attention) can — the
repeated-sequence task on which induction heads form, and with ``--segment-length 2`` and
``--values`` a key-value recall as in Zoology's MQAR (the second token of a pair drawn from
``v*``, with replacement). ``fmm-recall`` scores a checkpoint on the test split: accuracy and loss
at the recalled tokens, by gap. The text splits stay in ``DEST/text/`` for it; ``recall.json``
records the settings.
"""
import json
import math
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, List, Sequence, Tuple

from fmm_tools.data.preparation import PrepareError, binarise_probe, build_unless_done, probe_parser, staged

SPLITS = {"train": 0, "valid": 1, "test": 2}  # split -> offset of its random seed


@dataclass(frozen=True)
class RecallSpec:
    """How the lines of the probe are made."""

    length: int = 512  # tokens per line
    segments: int = 4  # segments per line, each repeated once
    segment_length: int = 16
    keys: int = 128  # vocabulary sizes: k0.., f0.. (and v0.. with --values)
    values: int = 0  # > 0: the last token of a segment is a value v* (drawn with replacement): key-value recall
    fillers: int = 1
    min_gap: int = 17  # tokens from a segment's first copy to its second (a filler at least between them)
    max_gap: int = 448

    def check(self) -> None:
        """Raises PrepareError naming the option that cannot work."""
        if self.segment_length < 2:
            raise PrepareError("--segment-length must be >= 2 (a token and the one it recalls)")
        if self.min_gap <= self.segment_length:
            raise PrepareError(f"--min-gap {self.min_gap} must exceed --segment-length {self.segment_length}: the copies would touch")
        if self.max_gap < self.min_gap:
            raise PrepareError(f"--max-gap {self.max_gap} is below --min-gap {self.min_gap}")
        if self.max_gap + self.segment_length > self.length:
            raise PrepareError(f"--max-gap {self.max_gap} + a segment does not fit a line of --length {self.length}")
        keys_per_segment = self.segment_length - (1 if self.values else 0)
        if self.segments * keys_per_segment > self.keys:
            raise PrepareError(f"--segments {self.segments} x {keys_per_segment} keys each need --keys >= "
                               f"{self.segments * keys_per_segment}, got {self.keys}")
        if 2 * self.segments * self.segment_length > self.length // 2:
            raise PrepareError(f"--segments {self.segments}: their copies take more than half of a line of {self.length}")


def generate_line(spec: RecallSpec, rng: random.Random) -> List[str]:
    """One line: every segment and its copy at free places, filler everywhere else."""
    tokens: List[str] = [""] * spec.length
    width = spec.segment_length
    keys_per_segment = width - 1 if spec.values else width
    keys = iter(rng.sample(range(spec.keys), spec.segments * keys_per_segment))
    log_low, log_high = math.log(spec.min_gap), math.log(spec.max_gap + 1)
    for _ in range(spec.segments):
        segment = [f"k{next(keys)}" for _ in range(keys_per_segment)] + ([f"v{rng.randrange(spec.values)}"] if spec.values else [])
        for _ in range(1000):
            gap = min(int(math.exp(rng.uniform(log_low, log_high))), spec.max_gap)
            start = rng.randrange(spec.length - gap - width + 1)
            # the copies and a filler on each side: a copy's last key is never followed by another segment
            places = [*range(start - 1, start + width + 1), *range(start + gap - 1, start + gap + width + 1)]
            if not any(tokens[place] for place in places if 0 <= place < spec.length):
                break
        else:
            raise PrepareError(f"no room for {spec.segments} segments in a line of {spec.length} (lower --segments)")
        tokens[start : start + width] = tokens[start + gap : start + gap + width] = segment
    return [token or f"f{rng.randrange(spec.fillers)}" for token in tokens]


def recall_targets(tokens: Sequence[str]) -> Iterator[Tuple[int, int, str]]:
    """(position of the recalled token, gap, the token) wherever a key is seen the second time and a
    key or value followed it the first time: that token. The probe's answers, from the line alone."""
    first_seen = {}
    for position, token in enumerate(tokens[:-1]):
        if not token.startswith("k"):
            continue
        if token in first_seen:
            earlier = first_seen[token]
            if tokens[earlier + 1][0] in "kv":
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
    with staged(destdir) as staging:
        text = staging / "text"
        text.mkdir()
        for split, offset in SPLITS.items():
            write_split(text / f"{split}.txt", spec, sizes[split], seed * 10 + offset)
            print(f"[prepare-recall] {split}: {sizes[split]} lines of {spec.length} tokens", flush=True)
        binarise_probe(text, staging, workers, "prepare-recall")
        (staging / "recall.json").write_text(json.dumps({**asdict(spec), "lines": sizes, "seed": seed}, indent=1) + "\n")


def main(argv=None) -> int:
    parser, values = probe_parser("fmm-prepare-recall", __doc__, RecallSpec(), (20000, 500, 1000), "data-bin/recall", "the probe")
    args = parser.parse_args(argv)
    fields, sizes = values(args)
    spec = RecallSpec(**fields)
    for name, value in [(field, getattr(spec, field)) for field in asdict(spec)] + [(f"{s}_lines", n) for s, n in sizes.items()]:
        if value < (0 if name == "values" else 1):
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    return build_unless_done("prepare-recall", args.destdir, dataset_complete(args.destdir), args.force, "the probe",
                             lambda: prepare(spec, sizes, args.seed, args.destdir, args.workers))


if __name__ == "__main__":
    sys.exit(main())
