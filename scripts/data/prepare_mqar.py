"""Multi-query associative recall (MQAR, Zoology: Arora et al. 2023) in fairseq's language-modelling format.

    fmm-prepare-mqar                                    # -> data-bin/mqar: T=256, P=16, V=8192, 100k/1k/3k lines
    fmm-prepare-mqar --length 64 --pairs 4 --destdir data-bin/mqar-64

Every line is one sample (train with ``--sample-break-mode eos`` and ``--criterion answer_cross_entropy``)
of ``--length`` T tokens, as Zoology's ``multiquery_ar`` generator makes them:

    k_1 v_1 k_2 v_2 ... k_P v_P | f f k_3 v_3 f f f f k_1 v_1 ...

- the line opens with its P = ``--pairs`` key-value pairs: keys ``k*`` and values ``v*`` from two
  vocabularies of V/2 each (V = ``--vocab``), all distinct within the line (drawn without replacement);
- the remaining T - 2P positions hold (T - 2P)/2 query slots, slot i at position 2P + 2i; key j (the
  j-th pair) is asked at slot s_j, the s_j drawn without replacement with p(i) ∝ (i + 1)^(a - 1),
  a = ``--power-a`` (0.01: a power law toward short gaps), in the pairs' order; the query key is
  followed by its value, the answer: the target after the key, the only place a model is scored;
- every other position holds a filler, ``f0``, or with ``--random-fillers N`` one drawn uniformly
  from ``f0`` .. ``f{N-1}`` (a vocabulary of its own: a filler never looks like a key).

The gap of a query is its key's position minus the position of the same key in the opening pairs:
2P + 2 s_j - 2(j - 1), between 2 and T - 2. Needs V > T, 4P <= T and T even (Zoology's constraints).

Writes the binarised splits and ``dict.txt`` (every key, value and filler, in that order, whether a
line drew it or not: the same dictionary for every seed and size); the text in ``DEST/text/{split}.txt`` with, per line,
``DEST/text/{split}.answers.jsonl`` = ``[[position of the answer token, gap, value token], ...]``
(positions count the line's tokens from 0, sorted); ``mqar.json`` records the settings, line counts
and seed. ``fmm-recall DEST`` scores checkpoints at the answers, by gap.
"""
import itertools
import json
import random
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Tuple

from fmm_tools.data.preparation import PrepareError, binarise_probe, build_unless_done, probe_parser, staged

SPLITS = {"train": 0, "valid": 1, "test": 2}  # split -> offset of its random seed

Answer = Tuple[int, int, str]  # (position of the answer token in the line, gap, value token)


@dataclass(frozen=True)
class MQARSpec:
    """How the lines are made (Zoology's defaults for T = 256)."""

    length: int = 256  # T, tokens per line
    pairs: int = 16  # P, key-value pairs per line, each asked once
    vocab: int = 8192  # V: keys k0..k{V/2-1}, values v0..v{V/2-1}
    power_a: float = 0.01  # query slot i drawn with p ∝ (i + 1)^(a - 1)
    random_fillers: int = 0  # > 0: fillers drawn from f0..f{N-1}; 0: always f0

    def check(self) -> None:
        """Raises PrepareError naming the option that cannot work."""
        if self.length % 2:
            raise PrepareError(f"--length {self.length} must be even (a query slot is a key and its value)")
        if self.pairs < 1:
            raise PrepareError(f"--pairs {self.pairs} must be >= 1")
        if 4 * self.pairs > self.length:
            raise PrepareError(f"--pairs {self.pairs}: 4 x pairs must be <= --length {self.length} (the pairs, then a slot per key)")
        if self.vocab <= self.length:
            raise PrepareError(f"--vocab {self.vocab} must exceed --length {self.length} (Zoology's constraint)")
        if self.power_a <= 0:
            raise PrepareError(f"--power-a {self.power_a} must be > 0")
        if self.random_fillers < 0:
            raise PrepareError(f"--random-fillers {self.random_fillers} must be >= 0 (0: the single filler f0)")

    @property
    def slots(self) -> int:
        return (self.length - 2 * self.pairs) // 2


class MQARGenerator:
    """Draws lines of one spec; the slot weights' cumulative sums are computed once."""

    def __init__(self, spec: MQARSpec):
        spec.check()
        self.spec = spec
        self.weights = [(i + 1) ** (spec.power_a - 1) for i in range(spec.slots)]
        self.cumulative = list(itertools.accumulate(self.weights))
        self.fillers = [f"f{i}" for i in range(max(1, spec.random_fillers))]

    def vocabulary(self) -> List[str]:
        """Every symbol a line can hold: keys, values, fillers (the dictionary, whatever the lines drew)."""
        half = self.spec.vocab // 2
        return [f"k{i}" for i in range(half)] + [f"v{i}" for i in range(half)] + self.fillers

    def query_slots(self, rng: random.Random) -> List[int]:
        """P distinct slots, drawn one after another with p ∝ weight among those left (numpy's
        ``choice(replace=False, p=...)``): i.i.d. draws with repeats rejected; when repeats become
        likely (few, light slots left) the rest is drawn by exponential clocks (Efraimidis-Spirakis)."""
        wanted, slots = self.spec.pairs, self.spec.slots
        chosen: List[int] = []
        taken = set()
        for _ in range(4):
            for slot in rng.choices(range(slots), cum_weights=self.cumulative, k=2 * (wanted - len(chosen))):
                if slot not in taken:
                    taken.add(slot)
                    chosen.append(slot)
                    if len(chosen) == wanted:
                        return chosen
        # the rest at once: exponential clocks of rate weight fire in the order of sequential sampling
        clocks = sorted((rng.expovariate(self.weights[i]), i) for i in range(slots) if i not in taken)
        return chosen + [slot for _, slot in clocks[: wanted - len(chosen)]]

    def line(self, rng: random.Random) -> Tuple[List[str], List[Answer]]:
        """One line's tokens and its answers (sorted by position)."""
        spec = self.spec
        half, pairs = spec.vocab // 2, spec.pairs
        keys = [f"k{i}" for i in rng.sample(range(half), pairs)]
        values = [f"v{i}" for i in rng.sample(range(half), pairs)]
        if spec.random_fillers > 1:
            tokens = rng.choices(self.fillers, k=spec.length)
        else:
            tokens = [self.fillers[0]] * spec.length
        tokens[0 : 2 * pairs : 2] = keys
        tokens[1 : 2 * pairs : 2] = values
        answers = []
        for j, slot in enumerate(self.query_slots(rng)):
            position = 2 * pairs + 2 * slot
            tokens[position], tokens[position + 1] = keys[j], values[j]
            answers.append((position + 1, position - 2 * j, values[j]))
        answers.sort()
        return tokens, answers


def write_split(text: Path, split: str, generator: MQARGenerator, lines: int, seed: int) -> None:
    """``text/{split}.txt`` and ``text/{split}.answers.jsonl``, line by line."""
    rng = random.Random(seed)
    with open(text / f"{split}.txt", "w") as out, open(text / f"{split}.answers.jsonl", "w") as answers_out:
        for _ in range(lines):
            tokens, answers = generator.line(rng)
            out.write(" ".join(tokens) + "\n")
            answers_out.write(json.dumps([list(answer) for answer in answers], separators=(",", ":")) + "\n")


def read_answers(path: Path) -> List[List[Answer]]:
    """The answers of ``{split}.answers.jsonl``: per line a list of (position, gap, value)."""
    with open(path) as lines:
        return [[tuple(answer) for answer in json.loads(line)] for line in lines]


def dataset_complete(destdir: Path) -> bool:
    names = ["dict.txt", "mqar.json"] + [f"{split}.{ext}" for split in SPLITS for ext in ("bin", "idx")]
    texts = [f"{split}{ext}" for split in SPLITS for ext in (".txt", ".answers.jsonl")]
    return all((destdir / name).is_file() for name in names) and all((destdir / "text" / name).is_file() for name in texts)


def prepare(spec: MQARSpec, sizes: dict, seed: int, destdir: Path, workers: int) -> None:
    generator = MQARGenerator(spec)  # checks the spec
    with staged(destdir) as staging:
        text = staging / "text"
        text.mkdir()
        for split, offset in SPLITS.items():
            write_split(text, split, generator, sizes[split], seed * 10 + offset)
            print(f"[prepare-mqar] {split}: {sizes[split]} lines of {spec.length} tokens, {spec.pairs} queries each", flush=True)
        vocabulary = text / "vocabulary.txt"
        vocabulary.write_text("".join(f"{symbol} 1\n" for symbol in generator.vocabulary()))
        binarise_probe(text, staging, workers, "prepare-mqar", dictionary=vocabulary)
        (staging / "mqar.json").write_text(json.dumps({**asdict(spec), "lines": sizes, "seed": seed}, indent=1) + "\n")


def main(argv=None) -> int:
    parser, values = probe_parser("fmm-prepare-mqar", __doc__, MQARSpec(), (100000, 1000, 3000), "data-bin/mqar", "the data")
    args = parser.parse_args(argv)
    fields, sizes = values(args)
    spec = MQARSpec(**fields)
    for split, lines in sizes.items():
        if lines < 1:
            parser.error(f"--{split}-lines must be >= 1, got {lines}")
    return build_unless_done("prepare-mqar", args.destdir, dataset_complete(args.destdir), args.force, "the data",
                             lambda: prepare(spec, sizes, args.seed, args.destdir, args.workers))


if __name__ == "__main__":
    sys.exit(main())
