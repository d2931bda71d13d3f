"""A long-document classification task for sentence_prediction: the topic of a passage that starts far
past the first 512 tokens.

    fmm-prepare-long-docs                          # Linux documentation -> data-bin/linux-doc-topics
    fmm-prepare-long-docs --docs-dir my/Documentation --classes networking,filesystems

Every example is one line of at most ``--max-tokens`` sentencepiece pieces (those of ``--spm-dir``,
the masked-LM pretraining data, so a RoBERTa trained on it reads them): a **preamble** of
``--min-offset``-``--max-offset`` pieces (uniform) of documents from none of the classes, then a
**passage** of up to ``--passage-tokens`` pieces from one document of a class (a random window of it).
The label is the passage's class: the top folder of its document (``networking/...``). A model that
reads only the first ``--min-offset`` pieces sees no passage and is at chance (1 / classes); to do
better it must carry the passage from where it stands to the classification token.

Documents are split between train/valid/test by a stable hash of their path (70/10/20), so no test
passage or preamble comes from a document seen in fine-tuning; classes are balanced in every split.
Written to ``--destdir``:

    input0/  label/            fairseq-preprocess output (input0 with --spm-dir's dict.txt; label: the classes in order)
    {train,valid,test}.jsonl   one line per example: label, class, passage document, where the passage
                               starts in it and in the example, its length, the preamble's documents
    spm.model  long_docs.json  the tokenizer (for the hub) and what was built, with which settings

Then, e.g. (class k is the k-th of --classes):

    fairseq-train data-bin/linux-doc-topics --user-dir fmm_fairseq --task sentence_prediction \\
      --arch fmm_roberta --num-classes 4 --init-token 0 --max-positions 4096 \\
      --criterion sentence_prediction --finetune-from-model ROBERTA-4096.pt ...
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from fmm_tools.cli_types import positive_int
from fmm_tools.data import prepare_lm
from fmm_tools.data.preparation import PrepareError, fairseq_preprocess, human, run_quiet, staged
from fmm_tools.paths import relative

SPLITS = {"train": 70, "valid": 10, "test": 20}  # percent of the documents
DEFAULT_CLASSES = ("networking", "filesystems", "hwmon", "userspace-api")
FORMAT = "long-docs-v1"


def log(message):
    print(f"[fmm-prepare-long-docs] {message}", flush=True)


@dataclass(frozen=True)
class TaskSpec:
    """How the examples are made (recorded in long_docs.json)."""

    classes: Tuple[str, ...] = DEFAULT_CLASSES
    max_tokens: int = 4094  # pieces per example; <s> and </s> make 4,096
    min_offset: int = 768  # pieces of preamble before the passage
    max_offset: int = 3072
    passage_tokens: int = 1024
    min_passage: int = 128  # shorter documents are never a passage
    examples: Tuple[int, int, int] = (4000, 500, 1000)  # train, valid, test
    seed: int = 0

    def check(self) -> None:
        """Raises PrepareError naming the option that cannot work."""
        if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
            raise PrepareError(f"--classes {','.join(self.classes)}: need two or more distinct top folders")
        if not 0 < self.min_offset <= self.max_offset:
            raise PrepareError(f"--min-offset {self.min_offset} / --max-offset {self.max_offset}: need 0 < min <= max")
        if self.min_passage > self.passage_tokens:
            raise PrepareError(f"--min-passage {self.min_passage} exceeds --passage-tokens {self.passage_tokens}")
        if self.max_offset + self.min_passage > self.max_tokens:
            raise PrepareError(f"--max-offset {self.max_offset} + --min-passage {self.min_passage} does not fit "
                               f"--max-tokens {self.max_tokens}")


def split_of(path: str) -> str:
    """train/valid/test by a stable hash of the document's path (70/10/20)."""
    bucket = int.from_bytes(hashlib.sha256(f"long-docs:{path}".encode()).digest()[:8], "big") % 100
    for split, percent in SPLITS.items():
        if bucket < percent:
            return split
        bucket -= percent
    raise AssertionError("the percentages sum to 100")


def group_of(path: str) -> str:
    return path.split("/")[0] if "/" in path else ""


def debian_documents(package: str, cache_dir: Path) -> Iterator[Tuple[str, str]]:
    """(path under Documentation/, text) of the Debian documentation package (fmm-prepare-lm's source)."""
    deb = prepare_lm.download_package(prepare_lm.resolve_package(package), cache_dir)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        status, output = run_quiet(["dpkg", "-x", str(deb), tmp])
        if status != 0:
            raise PrepareError(f"'dpkg -x {deb}' failed: {output[-500:]}")
        yield from prepare_lm.read_documents(Path(tmp))


def tree_documents(docs_dir: Path) -> Iterator[Tuple[str, str]]:
    """(path under ``docs_dir``, text) of its .rst files, in sorted order."""
    if not docs_dir.is_dir():
        raise PrepareError(f"--docs-dir {docs_dir} is not a directory")
    for path in sorted(docs_dir.rglob("*.rst")):
        yield path.relative_to(docs_dir).as_posix(), path.read_text(encoding="utf-8", errors="replace")


def tokenised(documents: Iterator[Tuple[str, str]], sp) -> Dict[str, List[str]]:
    """path -> the pieces of its cleaned text (paragraphs joined by a space), as the LM corpus cleans it."""
    pieces = {}
    for path, text in documents:
        paragraphs = prepare_lm.clean_rst(text)
        if paragraphs:
            pieces[path] = [sp.id_to_piece(i) for i in sp.encode(" ".join(paragraphs))]
    if not pieces:
        raise PrepareError("no documents with text found")
    return pieces


def make_examples(pieces: Dict[str, List[str]], spec: TaskSpec, split: str, count: int) -> Iterator[Tuple[List[str], Dict]]:
    """``count`` examples of ``split``: (pieces, manifest record); classes in turn, so balanced."""
    rng = random.Random(f"{spec.seed}:{split}")
    in_split = sorted(path for path in pieces if split_of(path) == split)
    passages = {c: [p for p in in_split if group_of(p) == c and len(pieces[p]) >= spec.min_passage] for c in spec.classes}
    fillers = [p for p in in_split if group_of(p) not in spec.classes]
    empty = [c for c, docs in passages.items() if not docs]
    if empty:
        raise PrepareError(f"--classes: no {split} document of {', '.join(empty)} has --min-passage {spec.min_passage} pieces")
    if sum(len(pieces[p]) for p in fillers) < spec.max_offset:
        raise PrepareError(f"the {split} documents outside --classes hold fewer than --max-offset {spec.max_offset} pieces")
    for index in range(count):
        label = index % len(spec.classes)
        offset = rng.randint(spec.min_offset, spec.max_offset)
        preamble, sources = [], []
        while len(preamble) < offset:
            path = rng.choice(fillers)
            start = rng.randrange(len(pieces[path]))
            preamble += pieces[path][start:start + offset - len(preamble)]
            sources.append(path)
        document = rng.choice(passages[spec.classes[label]])
        length = min(spec.passage_tokens, len(pieces[document]), spec.max_tokens - offset)
        start = rng.randint(0, len(pieces[document]) - length)
        record = {"label": label, "class": spec.classes[label], "document": document, "start": start, "offset": offset,
                  "length": length, "preamble": sources}
        yield preamble + pieces[document][start:start + length], record


def build(pieces: Dict[str, List[str]], spec: TaskSpec, spm_dir: Path, staging: Path, workers: int) -> Dict:
    text = staging / "text"
    text.mkdir()
    counts, passages = {}, {}
    for split, count in zip(SPLITS, spec.examples):
        with open(text / f"{split}.input0", "w") as inputs, open(text / f"{split}.label", "w") as labels, \
                open(staging / f"{split}.jsonl", "w") as manifest:
            for example, record in make_examples(pieces, spec, split, count):
                inputs.write(" ".join(example) + "\n")
                labels.write(f"{record['class']}\n")
                manifest.write(json.dumps(record) + "\n")
                passages.setdefault(split, {}).setdefault(record["class"], set()).add(record["document"])
        counts[split] = count
        log(f"{split}: {count} examples")
    (text / "dict.label").write_text("".join(f"{name} 1\n" for name in spec.classes))
    for field, dictionary in (("input0", spm_dir / "dict.txt"), ("label", text / "dict.label")):
        fairseq_preprocess(["--only-source", "--srcdict", dictionary, "--trainpref", text / f"train.{field}",
                            "--validpref", text / f"valid.{field}", "--testpref", text / f"test.{field}",
                            "--destdir", staging / field, "--workers", workers], log)
    shutil.rmtree(text)
    shutil.copy(spm_dir / "spm.model", staging / "spm.model")
    documents = {split: sum(1 for p in pieces if split_of(p) == split) for split in SPLITS}
    return {"examples": counts, "documents": documents,
            "passage_documents": {split: {c: len(d) for c, d in by_class.items()} for split, by_class in passages.items()}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="fmm-prepare-long-docs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--docs-dir", type=Path, help="a documentation tree (.rst files under topic folders) instead of Debian's")
    source.add_argument("--debian-package", default="linux-doc", help="(default: %(default)s, as fmm-prepare-lm)")
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"), help="where the .deb is kept (default: %(default)s)")
    parser.add_argument("--spm-dir", type=Path, default=Path("data-bin/linux-doc"),
                        help="the pretraining data: its spm.model and dict.txt (default: %(default)s, from fmm-prepare-lm)")
    parser.add_argument("--destdir", type=Path, default=Path("data-bin/linux-doc-topics"), help="(default: %(default)s)")
    parser.add_argument("--classes", default=",".join(DEFAULT_CLASSES), help="top folders, one class each (default: %(default)s)")
    for name in ("max_tokens", "min_offset", "max_offset", "passage_tokens", "min_passage", "seed"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(TaskSpec, name), help="(default: %(default)s)")
    parser.add_argument("--examples", default=",".join(map(str, TaskSpec.examples)), help="train,valid,test (default: %(default)s)")
    parser.add_argument("--workers", type=positive_int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--force", action="store_true", help="rebuild even if --destdir holds this task")
    args = parser.parse_args(argv)
    try:
        examples = tuple(int(n) for n in args.examples.split(","))
    except ValueError:
        examples = ()
    if len(examples) != 3 or min(examples) < 1:
        parser.error(f"--examples {args.examples}: need three positive counts, train,valid,test")
    args.spec = TaskSpec(tuple(c.strip() for c in args.classes.split(",") if c.strip()), args.max_tokens, args.min_offset,
                         args.max_offset, args.passage_tokens, args.min_passage, examples, args.seed)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    spec = args.spec
    source = relative(args.docs_dir.resolve()) if args.docs_dir else f"debian:{args.debian_package}"
    settings = {"format": FORMAT, "source": source, "spm": relative(args.spm_dir.resolve()), **asdict(spec)}
    settings = json.loads(json.dumps(settings))  # tuples as lists, as read back
    record = args.destdir / "long_docs.json"
    if record.is_file() and not args.force and json.loads(record.read_text())["settings"] == settings:
        log(f"{args.destdir} already holds this task; nothing to do (use --force)")
        return 0
    started = time.time()
    try:
        spec.check()
        missing = [name for name in ("spm.model", "dict.txt") if not (args.spm_dir / name).is_file()]
        if missing:
            raise PrepareError(f"--spm-dir {args.spm_dir} has no {' or '.join(missing)} (build it with fmm-prepare-lm)")
        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(model_file=str(args.spm_dir / "spm.model"))
        documents = tree_documents(args.docs_dir) if args.docs_dir else debian_documents(args.debian_package, args.cache_dir)
        pieces = tokenised(documents, sp)
        groups = {group_of(p) for p in pieces}
        unknown = [c for c in spec.classes if c not in groups]
        if unknown:
            raise PrepareError(f"--classes: no folder {', '.join(unknown)} (folders: {', '.join(sorted(groups))})")
        log(f"{len(pieces)} documents, {human(sum(map(len, pieces.values())))} pieces")
        with staged(args.destdir) as staging:
            summary = {"settings": settings, **build(pieces, spec, args.spm_dir, staging, args.workers),
                       "chance": round(1 / len(spec.classes), 4), "seconds": round(time.time() - started, 1)}
            (staging / "long_docs.json").write_text(json.dumps(summary, indent=1) + "\n")
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"data ready: {args.destdir} ({', '.join(f'{s} {n}' for s, n in summary['examples'].items())} examples, "
          f"{summary['seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
