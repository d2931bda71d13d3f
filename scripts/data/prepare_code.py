"""Build a source-code language-modelling corpus from the Python standard library's own sources.

    fmm-prepare-code                          # -> data-bin/python-stdlib (this interpreter's stdlib)
    fmm-prepare-code --source-dir DIR         # any folder of .py files

Code is where distance matters: identifiers and whole lines recur hundreds of tokens after they
were defined. Every machine with Python has the standard library (about 1,800 files, 31 MB for
3.11). Each file is tokenised by Python's own ``tokenize`` so that identifiers, numbers and
operators stay whole tokens; a source line is a line of the corpus (fairseq's end-of-line
symbol is the newline), indentation becomes ``<indent>`` / ``<dedent>``, strings and comments are
split into words and punctuation marks. Files are assigned to train/valid/test (94/3/3) by a stable hash of their path
(whole files, so no test file is seen in training). ``fairseq-preprocess --only-source
--nwordssrc V`` keeps the V most frequent tokens (the rest become ``<unk>``) and writes the
binarised corpus; ``corpus.json`` records the source, the Python version and the counts.
"""
import argparse
import hashlib
import io
import json
import os
import re
import shutil
import sys
import sysconfig
import tokenize
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from fmm_tools.data.preparation import PrepareError, fairseq_preprocess, human, staged

SPLITS = ("train", "valid", "test")
HELD_OUT_PERCENT = 3  # each of valid and test
SKIPPED_DIRECTORIES = ("site-packages", "__pycache__")
INDENT, DEDENT = "<indent>", "<dedent>"
WORDS = re.compile(r"\w+|[^\w\s]")  # inside strings and comments: words and single punctuation marks


def log(message: str) -> None:
    print(f"[prepare-code] {message}", flush=True)


def default_source_dir() -> Path:
    """This interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def source_files(root: Path) -> List[Path]:
    """Every .py file under ``root`` (installed packages and caches left out), in a stable order."""
    files = [path for path in root.rglob("*.py") if not set(path.relative_to(root).parts) & set(SKIPPED_DIRECTORIES)]
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def assign_split(relative_path: str) -> str:
    """'train', 'valid' or 'test' from a stable hash of the path (the same on every machine)."""
    bucket = int.from_bytes(hashlib.sha256(relative_path.encode("utf-8")).digest()[:8], "big") % 100
    if bucket < HELD_OUT_PERCENT:
        return "valid"
    if bucket < 2 * HELD_OUT_PERCENT:
        return "test"
    return "train"


def code_lines(source: str) -> Iterator[List[str]]:
    """The tokens of each logical source line: identifiers, numbers and operators whole, strings and
    comments split into words and punctuation, <indent>/<dedent> where the indentation changes. Raises
    tokenize.TokenError / SyntaxError on code Python cannot tokenise."""
    line: List[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        kind, text = token.type, token.string
        if kind in (tokenize.NEWLINE, tokenize.NL):
            if line:
                yield line
            line = []
        elif kind == tokenize.INDENT:
            line.append(INDENT)
        elif kind == tokenize.DEDENT:
            line.append(DEDENT)
        elif kind in (tokenize.STRING, tokenize.COMMENT):
            line.extend(WORDS.findall(text))
        elif kind not in (tokenize.ENCODING, tokenize.ENDMARKER) and text.strip():
            line.append(text.strip())
    if line:
        yield line


def read_source(path: Path) -> Optional[str]:
    """The file's text (its coding cookie honoured), or None if it cannot be decoded."""
    try:
        with tokenize.open(path) as handle:
            return handle.read()
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None


def write_splits(root: Path, text_dir: Path) -> Tuple[dict, int]:
    """Tokenised train/valid/test text under ``text_dir``; returns (split -> [files, lines, tokens], skipped)."""
    counts = {split: [0, 0, 0] for split in SPLITS}
    skipped = 0
    outputs = {split: open(text_dir / f"{split}.txt", "w", encoding="utf-8") for split in SPLITS}
    try:
        files = source_files(root)
        if not files:
            raise PrepareError(f"--source-dir {root}: no .py files found")
        for number, path in enumerate(files, 1):
            relative = path.relative_to(root).as_posix()
            source = read_source(path)
            try:
                lines = list(code_lines(source)) if source is not None else None
            except (tokenize.TokenError, SyntaxError):  # e.g. lib2to3's deliberately broken test data
                lines = None
            if not lines:
                skipped += source is None or lines is None
                continue
            split = assign_split(relative)
            for tokens in lines:
                outputs[split].write(" ".join(tokens) + "\n")
            counts[split][0] += 1
            counts[split][1] += len(lines)
            counts[split][2] += sum(len(tokens) + 1 for tokens in lines)  # + fairseq's end of line
            if number % 400 == 0 or number == len(files):
                log(f"{number}/{len(files)} files tokenised ({human(sum(c[2] for c in counts.values()))} tokens)")
    finally:
        for handle in outputs.values():
            handle.close()
    for split in SPLITS:
        if counts[split][0] == 0:
            raise PrepareError(f"--source-dir {root}: no file fell into the {split} split (too few files)")
    return counts, skipped


def dataset_complete(destdir: Path) -> bool:
    names = ["dict.txt", "corpus.json"] + [f"{split}.{ext}" for split in SPLITS for ext in ("bin", "idx")]
    return all((destdir / name).is_file() for name in names)


def prepare(root: Path, destdir: Path, vocab_size: int, workers: int) -> dict:
    """Tokenise and binarise; built in a staging directory and moved into place at the end."""
    with staged(destdir) as staging:
        text_dir = staging / "text"
        text_dir.mkdir()
        counts, skipped = write_splits(root, text_dir)
        for split in SPLITS:
            files, lines, tokens = counts[split]
            log(f"{split}: {files} files, {human(lines)} lines, {human(tokens)} tokens")
        fairseq_preprocess(
            ["--only-source", "--trainpref", text_dir / "train.txt", "--validpref", text_dir / "valid.txt",
             "--testpref", text_dir / "test.txt", "--destdir", staging, "--workers", workers, "--nwordssrc", vocab_size],
            log,
        )
        shutil.rmtree(text_dir)
        record = {
            "source": str(root), "python": sys.version.split()[0], "vocab_size": vocab_size, "skipped_files": skipped,
            "splits": {split: dict(zip(("files", "lines", "tokens"), counts[split])) for split in SPLITS},
        }
        (staging / "corpus.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="fmm-prepare-code", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source-dir", type=Path, help="folder of .py files (default: this Python's standard library)")
    parser.add_argument("--destdir", type=Path, default=Path("data-bin/python-stdlib"), help="default: %(default)s")
    parser.add_argument("--vocab-size", type=int, default=16000, help="most frequent tokens kept (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--force", action="store_true", help="rebuild even if --destdir holds a dataset")
    args = parser.parse_args(argv)
    root = args.source_dir or default_source_dir()
    if not root.is_dir():
        parser.error(f"--source-dir: no such directory: {root}")
    if args.vocab_size < 1:
        parser.error("--vocab-size must be >= 1")
    if dataset_complete(args.destdir) and not args.force:
        log(f"{args.destdir} already holds a binarised corpus; nothing to do (use --force)")
        return 0
    try:
        record = prepare(root, args.destdir, args.vocab_size, args.workers)
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sizes = ", ".join(f"{split} {human(record['splits'][split]['tokens'])} tokens" for split in SPLITS)
    print(f"data ready: {args.destdir} ({sizes}; Python {record['python']} from {root})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
