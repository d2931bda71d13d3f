"""What every corpus builder shares: its error type, counts for progress lines,
quiet subprocesses and apt, fairseq-preprocess, tokenised copies, and building in a staging
directory that is published only when finished, so that a failed run leaves the destination as it was."""
import argparse
import contextlib
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from fmm_tools.paths import BIN


class PrepareError(Exception):
    """A problem with the inputs or the environment, reported to the user without a traceback."""


def human(n: int) -> str:
    """Format a count compactly, e.g. 4123456 -> '4.1M'."""
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def run_quiet(cmd, cwd=None) -> Tuple[int, str]:
    """Run a command, returning (exit status, combined output); a missing program gives 127."""
    try:
        result = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        return 127, f"{cmd[0]}: command not found"
    return result.returncode, result.stdout.strip()


def apt_lists_present() -> bool:
    """Whether apt has package lists at all (if not, 'apt-get update' has never run)."""
    return bool(glob.glob("/var/lib/apt/lists/*_Packages*"))


def fairseq_preprocess_command() -> str:
    """The fairseq-preprocess next to the running interpreter (a venv), else the one on PATH."""
    beside = BIN / "fairseq-preprocess"
    if beside.is_file():
        return str(beside)
    on_path = shutil.which("fairseq-preprocess")
    if on_path is None:
        raise PrepareError("fairseq-preprocess not found next to the running Python or on PATH; install fairseq")
    return on_path


def fairseq_preprocess(arguments: List[str], log: Callable[[str], None]) -> None:
    """Run fairseq-preprocess with ``arguments``; log its per-file summaries (with the <unk> share)."""
    cmd = [fairseq_preprocess_command(), *map(str, arguments)]
    log(f"binarising with {cmd[0]}")
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise PrepareError(f"fairseq-preprocess failed:\n{result.stdout[-3000:]}")
    for name, summary in re.findall(r"/([\w.]+): (\d+ sents, .*)$", result.stdout, re.M):
        log(f"fairseq-preprocess {name}: {summary}")


def write_tokenised(source, target, sp=None) -> Tuple[int, int]:
    """Copy source to target without empty lines, tokenised with sentencepiece ``sp`` if given.

    Returns (lines, tokens) written. Pieces sentencepiece cannot represent become '<unk>',
    which fairseq maps to its own unknown symbol.
    """
    lines = tokens = 0
    with open(source, encoding="utf-8", errors="replace") as fin, open(target, "w", encoding="utf-8") as fout:
        for line in fin:
            line = line.strip()
            if not line:
                continue
            pieces = [sp.id_to_piece(i) for i in sp.encode(line)] if sp else line.split()
            fout.write(" ".join(pieces) + "\n")
            lines += 1
            tokens += len(pieces)
    return lines, tokens


@contextlib.contextmanager
def staged(destdir: Path) -> Iterator[Path]:
    """A new directory beside ``destdir`` to build in; when the block ends without an error its
    entries replace those of the same name in ``destdir``. Removed either way."""
    destdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destdir.name}.", dir=destdir.parent))
    try:
        yield staging
        destdir.mkdir(exist_ok=True)
        for path in staging.iterdir():
            target = destdir / path.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(path, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def build_unless_done(tool: str, destdir: Path, done: bool, force: bool, what: str, build: Callable[[], None]) -> int:
    """A builder's last step: nothing when ``destdir`` already holds ``what`` (unless ``force``), else
    ``build()``; a PrepareError is printed as the error. Returns the exit status."""
    if done and not force:
        print(f"[{tool}] {destdir} already holds {what}; nothing to do (use --force)")
        return 0
    try:
        build()
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"data ready: {destdir}", flush=True)
    return 0


def probe_parser(prog: str, doc: str, spec: Any, lines: Tuple[int, int, int], destdir: str, what: str):
    """The options of a generated probe's builder (fmm-prepare-recall, fmm-prepare-mqar): one per field of
    the ``spec`` dataclass (its defaults), the split sizes (``lines``: train, valid, test), --seed,
    --destdir, --workers and --force. Returns the parser and a function of the parsed args giving the
    spec's fields and the split sizes ({"train": .., "valid": .., "test": ..})."""
    parser = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    fields = {name: value for name, value in vars(spec).items()}
    for name, value in fields.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value, help="default: %(default)s")
    for split, count in zip(("train", "valid", "test"), lines):
        parser.add_argument(f"--{split}-lines", type=int, default=count, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--destdir", type=Path, default=Path(destdir), help="default: %(default)s")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--force", action="store_true", help=f"rebuild even if --destdir holds {what}")

    def values(args) -> Tuple[Dict[str, Any], Dict[str, int]]:
        return ({name: getattr(args, name) for name in fields},
                {split: getattr(args, f"{split}_lines") for split in ("train", "valid", "test")})

    return parser, values


def binarise_probe(text: Path, destdir: Path, workers: int, tool: str, dictionary: Optional[Path] = None) -> None:
    """A generated probe's ``text/{train,valid,test}.txt`` binarised into ``destdir`` (fairseq-preprocess
    --only-source; ``dictionary`` as its --srcdict when given), its messages prefixed with ``[tool]``."""
    fixed = ["--srcdict", dictionary] if dictionary else []
    fairseq_preprocess(
        ["--only-source", *fixed, "--trainpref", text / "train.txt", "--validpref", text / "valid.txt",
         "--testpref", text / "test.txt", "--destdir", destdir, "--workers", workers],
        lambda message: print(f"[{tool}] {message}", flush=True),
    )
