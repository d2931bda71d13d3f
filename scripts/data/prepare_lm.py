#!/usr/bin/env python3
"""Prepare a binarised fairseq language-modelling dataset from real English text.

Two sources of text are supported:

* default: the Linux kernel documentation shipped by Debian (package ``linux-doc``,
  resolved to its versioned package such as ``linux-doc-6.1``; GPL-2). The ``.deb`` is
  fetched with ``apt-get download`` (no network besides the Debian mirror, no root needed
  once the package lists exist), unpacked with ``dpkg -x``, its English reStructuredText
  documents are lightly cleaned to one paragraph per line and split by document into
  train/valid/test (about 96/2/2, by a stable hash of each document's path). The text
  splits are cached under ``--cache-dir`` so later runs need neither apt nor dpkg.
* ``--raw-dir DIR``: any directory holding train/valid/test text files named
  ``{train,valid,test}.txt``, ``wiki.{train,valid,test}.tokens`` (WikiText-103),
  ``wiki.{train,valid,test}.raw`` (WikiText-103-raw) or ``{train,valid,test}.raw``.

The text is then tokenised, either with a sentencepiece BPE model trained on the train split
(``--tokenizer spm``, the default; the model is kept as ``spm.model`` in the output) or not
at all (``--tokenizer none``, for text already tokenised by spaces), empty lines are dropped,
and ``fairseq-preprocess --only-source`` writes ``dict.txt`` and ``{train,valid,test}.{bin,idx}``
to ``--destdir``.

Examples:
    fmm-prepare-lm                      # -> data-bin/linux-doc
    fmm-prepare-lm --raw-dir data/wikitext-103 --tokenizer none
"""

import argparse
import gzip
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from fmm_tools.data.preparation import (
    PrepareError,
    apt_lists_present,
    fairseq_preprocess,
    human,
    run_quiet,
    staged,
    write_tokenised,
)

SPLITS = ("train", "valid", "test")
RAW_NAME_PATTERNS = ("{}.txt", "wiki.{}.tokens", "wiki.{}.raw", "{}.raw")
VALID_PERCENT = 2
TEST_PERCENT = 2
# Bump when the cleaning or splitting changes, so that cached text splits are rebuilt.
CORPUS_FORMAT = "text-v1"
EXCLUDED_DOC_DIRS = ("translations",)  # non-English documents

RAW_DIR_HELP = (
    "To use other text instead, pass --raw-dir DIR, where DIR holds one plain-text file per "
    "split named train.txt/valid.txt/test.txt, wiki.train.tokens/wiki.valid.tokens/"
    "wiki.test.tokens (WikiText-103), wiki.train.raw/... (WikiText-103-raw) or "
    "train.raw/valid.raw/test.raw, one sentence or paragraph per line; add --tokenizer none "
    "if the text is already tokenised by spaces."
)

ADMONITIONS = {
    "admonition", "attention", "caution", "danger", "error", "hint", "important", "note",
    "seealso", "tip", "warning",
}
DIRECTIVE = re.compile(r"\.\.\s+([\w:-]+)::\s*(.*)$")
ADORNMENT = re.compile(r"^([=\-~^*#+\"'`.:_])\1{2,}[\s=\-~^*#+\"'`.:_]*$")
TABLE_ROW = re.compile(r"^[|+].*[|+]$")
FIELD = re.compile(r"^:[\w -]+:(\s|$)")
BULLET = re.compile(r"^([-*+\u2022]|#\.|\(?\d+[.)])\s+")
INLINE_RULES = (
    (re.compile(r":[\w:+.-]+:`([^`]*?)\s*<[^`>]*>`"), r"\1"),  # :ref:`text <target>`
    (re.compile(r":[\w:+.-]+:`~?([^`]*)`"), r"\1"),  # :c:func:`open()`
    (re.compile(r"`([^`<]*?)\s*<[^`>]*>`__?"), r"\1"),  # `text <https://...>`_
    (re.compile(r"`([^`]+)`__?"), r"\1"),  # `text`_
    (re.compile(r"``(.+?)``"), r"\1"),  # ``literal``
    (re.compile(r"`([^`]+)`"), r"\1"),  # `interpreted text`
    (re.compile(r"\*\*(\S.*?)\*\*"), r"\1"),  # **strong**
    (re.compile(r"(?<![\w*])\*(\S[^*]*?)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"\s*\[(#|\*|\d+)\]_"), ""),  # footnote references
    (re.compile(r"\s+"), " "),
)


def log(message):
    """Print one progress line."""
    print(f"[fmm-prepare-lm] {message}", flush=True)


# --- cleaning and splitting -------------------------------------------------------------------


def clean_inline(text):
    """Remove inline reStructuredText markup (roles, literals, links, emphasis) from a line."""
    for pattern, replacement in INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text.strip()


def is_prose(line):
    """Whether a cleaned line looks like text rather than code, a diagram or a number dump."""
    letters = sum(c.isalpha() for c in line)
    return letters > 0 and letters >= 0.5 * len(line.replace(" ", ""))


def clean_rst(text):
    """Turn a reStructuredText document into a list of paragraphs, one line each.

    Drops directives and comments together with their indented bodies (except admonitions
    such as ``.. note::``, whose text is kept), literal blocks introduced by ``::``, section
    adornments, table borders and rows, and field lists; joins the lines of each paragraph or
    list item; strips inline markup; and keeps only lines that look like prose.
    """
    paragraphs = []
    current = []
    current_indent = None
    skip_deeper_than = None  # while set, lines indented deeper than this (and blanks) are dropped

    def flush():
        nonlocal current, current_indent
        if current:
            paragraphs.append(clean_inline(" ".join(current)))
        current, current_indent = [], None

    for raw_line in text.expandtabs(8).splitlines():
        stripped = raw_line.strip()
        indent = len(raw_line) - len(raw_line.lstrip())
        if skip_deeper_than is not None:
            if not stripped or indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        if not stripped:
            flush()
            continue
        if stripped == ".." or stripped.startswith(".. "):
            flush()
            directive = DIRECTIVE.match(stripped)
            if directive and directive.group(1).lower() in ADMONITIONS:
                if directive.group(2):
                    current = [directive.group(2)]  # its indentation is set by the next line
            else:
                skip_deeper_than = indent
            continue
        if ADORNMENT.match(stripped) or TABLE_ROW.match(stripped) or FIELD.match(stripped):
            flush()
            continue
        bullet = BULLET.match(stripped)
        if bullet:
            flush()
            stripped = stripped[bullet.end():]
            current_indent = indent + bullet.end()
        elif current and current_indent is not None and indent != current_indent:
            flush()
        if current_indent is None:
            current_indent = indent
        if stripped.endswith("::"):
            # A literal block (usually code) follows; keep the sentence, drop the block.
            body = stripped[:-2]
            stripped = body.rstrip() if not body or body[-1].isspace() else body + ":"
            skip_deeper_than = indent
        if stripped:
            current.append(stripped)
        if skip_deeper_than is not None:
            flush()
    flush()
    return [p for p in paragraphs if is_prose(p)]


def assign_split(relative_path):
    """Assign a document to 'train', 'valid' or 'test' by a stable hash of its relative path.

    The result depends only on the path string, so it is the same on every machine and
    independent of the order in which files are found.
    """
    digest = hashlib.sha256(relative_path.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    if bucket < VALID_PERCENT:
        return "valid"
    if bucket < VALID_PERCENT + TEST_PERCENT:
        return "test"
    return "train"


# --- the Debian linux-doc corpus --------------------------------------------------------------


def fail_package(package, what):
    """Raise the error explaining that the Debian package could not be had, and what to do."""
    raise PrepareError(
        f"could not obtain the Debian package '{package}': {what}. The default corpus is the "
        f"Linux kernel documentation, fetched with 'apt-get download' from a Debian mirror "
        f"(pick another package with --debian-package NAME, e.g. one listed by "
        f"'apt-cache search linux-doc'). {RAW_DIR_HELP}"
    )


def resolve_package(package):
    """Return the package that holds the documentation, following a metapackage such as
    'linux-doc' to the versioned package it depends on (e.g. 'linux-doc-6.1')."""
    if shutil.which("apt-cache") is None or shutil.which("apt-get") is None:
        fail_package(package, "apt-get/apt-cache are not available on this machine")
    status, output = run_quiet(["apt-cache", "depends", package])
    if status != 0 and not apt_lists_present():
        log("apt has no package lists yet; running apt-get update")
        update_status, update_output = run_quiet(["apt-get", "update"])
        if update_status != 0:
            fail_package(package, f"'apt-get update' failed: {update_output[-500:]}")
        status, output = run_quiet(["apt-cache", "depends", package])
    if status != 0:
        fail_package(package, f"apt does not know it ({output[-300:]})")
    versioned = re.findall(rf"^\s*Depends:\s*({re.escape(package)}-\S+)$", output, re.M)
    return versioned[0] if versioned else package


def download_package(package, cache_dir):
    """Return the package's .deb in cache_dir, downloading it with apt-get only if absent."""
    cached = sorted(cache_dir.glob(f"{package}_*.deb"))
    if cached:
        log(f"using cached {cached[-1]}")
        return cached[-1]
    cache_dir.mkdir(parents=True, exist_ok=True)
    log(f"downloading {package} with apt-get download into {cache_dir}/")
    status, output = run_quiet(["apt-get", "download", package], cwd=cache_dir)
    cached = sorted(cache_dir.glob(f"{package}_*.deb"))
    if status != 0 or not cached:
        fail_package(package, f"'apt-get download {package}' failed: {output[-500:]}")
    return cached[-1]


def read_documents(root):
    """Yield (relative path, text) for the English .rst documents under */Documentation/.

    Files may be gzip-compressed (Debian ships them as .rst.gz); the relative path is taken
    from the Documentation directory and without '.gz', and documents come in sorted order.
    """
    for doc_root in sorted(root.glob("usr/share/doc/*/Documentation")):
        paths = [p for p in doc_root.rglob("*") if p.name.endswith((".rst", ".rst.gz"))]
        for path in sorted(paths):
            relative = path.relative_to(doc_root).as_posix()
            relative = relative[: -len(".gz")] if relative.endswith(".gz") else relative
            if relative.split("/")[0] in EXCLUDED_DOC_DIRS or not path.is_file():
                continue
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as f:
                yield relative, f.read()


def build_debian_corpus(package, cache_dir):
    """Build (or reuse) cleaned train/valid/test text from a Debian documentation package.

    Returns the directory holding {train,valid,test}.txt.
    """
    package = resolve_package(package)
    deb = download_package(package, cache_dir)
    corpus_dir = cache_dir / f"{deb.stem}.{CORPUS_FORMAT}"
    if all((corpus_dir / f"{split}.txt").is_file() for split in SPLITS):
        log(f"using cached text corpus {corpus_dir}/")
        return corpus_dir
    log(f"extracting {deb.name} and cleaning its documentation")
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        status, output = run_quiet(["dpkg", "-x", str(deb), tmp])
        if status != 0:
            fail_package(package, f"'dpkg -x {deb}' failed: {output[-500:]}")
        staging = Path(tmp) / "corpus"
        staging.mkdir()
        outputs = {split: open(staging / f"{split}.txt", "w", encoding="utf-8") for split in SPLITS}
        documents = dict.fromkeys(SPLITS, 0)
        try:
            for relative, text in read_documents(Path(tmp)):
                paragraphs = clean_rst(text)
                if paragraphs:
                    split = assign_split(relative)
                    outputs[split].write("\n".join(paragraphs) + "\n")
                    documents[split] += 1
        finally:
            for f in outputs.values():
                f.close()
        if not documents["train"]:
            fail_package(package, "it contains no Documentation/**/*.rst files")
        log("documents per split: " + ", ".join(f"{s} {n}" for s, n in documents.items()))
        shutil.rmtree(corpus_dir, ignore_errors=True)
        staging.rename(corpus_dir)
    return corpus_dir


# --- raw text, tokenisation and binarisation --------------------------------------------------


def find_raw_splits(raw_dir):
    """Map each split to its text file in raw_dir, checking that all exist and are non-empty."""
    if not raw_dir.is_dir():
        raise PrepareError(f"--raw-dir {raw_dir} is not a directory. {RAW_DIR_HELP}")
    files = {}
    for split in SPLITS:
        candidates = [raw_dir / p.format(split) for p in RAW_NAME_PATTERNS]
        found = [c for c in candidates if c.is_file()]
        if not found:
            names = ", ".join(c.name for c in candidates)
            raise PrepareError(f"no {split} split in {raw_dir} (looked for {names}). {RAW_DIR_HELP}")
        if len(found) > 1:
            names = ", ".join(c.name for c in found)
            raise PrepareError(f"several {split} files in {raw_dir} ({names}); keep only one")
        with open(found[0], encoding="utf-8", errors="replace") as f:
            if not any(line.strip() for line in f):
                raise PrepareError(f"the {split} split {found[0]} is empty. {RAW_DIR_HELP}")
        files[split] = found[0]
    return files


def train_sentencepiece(train_file, model_file, vocab_size):
    """Train a BPE sentencepiece model on the non-empty lines of train_file into model_file.

    Deterministic: the first lines are used in file order (no sampling or shuffling), and the
    model file records no paths or thread counts, so the same text gives the same bytes.
    """
    import sentencepiece as spm

    log(f"training a sentencepiece BPE model (vocab {vocab_size}) on {train_file}")
    model = io.BytesIO()
    with open(train_file, encoding="utf-8", errors="replace") as f:
        spm.SentencePieceTrainer.train(
            sentence_iterator=(line.strip() for line in f if line.strip()),
            model_writer=model,
            vocab_size=vocab_size,
            model_type="bpe",
            character_coverage=0.9995,
            input_sentence_size=2_000_000,
            shuffle_input_sentence=False,
            bos_id=-1,  # fairseq adds its own end-of-sentence symbol
            eos_id=-1,
            num_threads=1,
            minloglevel=2,
        )
    model_file.write_bytes(model.getvalue())
    return spm.SentencePieceProcessor(model_file=str(model_file))


def binarise(text_dir, destdir, workers):
    """Run fairseq-preprocess --only-source on text_dir/{train,valid,test}.txt into destdir."""
    fairseq_preprocess(
        ["--only-source", "--trainpref", text_dir / "train.txt", "--validpref", text_dir / "valid.txt",
         "--testpref", text_dir / "test.txt", "--destdir", destdir, "--workers", workers],
        log,
    )


def dataset_complete(destdir):
    """Whether destdir holds dict.txt and .bin/.idx files for every split."""
    names = ["dict.txt"] + [f"{s}.{ext}" for s in SPLITS for ext in ("bin", "idx")]
    return all((destdir / name).is_file() for name in names)


def prepare(raw_files, destdir, tokenizer, vocab_size, workers):
    """Tokenise and binarise the raw split files into destdir; return per-split statistics.

    Everything is built in a staging directory beside destdir and moved into place at the
    end, so a failed run leaves destdir as it was.
    """
    with staged(destdir) as staging:
        text_dir = staging / "text"
        text_dir.mkdir()
        sp = None
        if tokenizer == "spm":
            sp = train_sentencepiece(raw_files["train"], staging / "spm.model", vocab_size)
        stats = {}
        for split in SPLITS:
            stats[split] = write_tokenised(raw_files[split], text_dir / f"{split}.txt", sp)
            lines, tokens = stats[split]
            log(f"{split}: {human(lines)} lines, {human(tokens)} tokens ({raw_files[split]})")
        binarise(text_dir, staging, workers)
        shutil.rmtree(text_dir)
    return stats


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="fmm-prepare-lm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--raw-dir", type=Path,
        help="directory with train/valid/test text files instead of the Debian corpus",
    )
    source.add_argument(
        "--debian-package", default="linux-doc",
        help="Debian documentation package to build the corpus from (default: %(default)s)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=Path("data/cache"),
        help="where the .deb and its cleaned text splits are kept (default: %(default)s)",
    )
    parser.add_argument(
        "--destdir", type=Path,
        help="output directory (default: data-bin/linux-doc, or data-bin/<name of --raw-dir>)",
    )
    parser.add_argument(
        "--tokenizer", choices=("spm", "none"), default="spm",
        help="spm: train a sentencepiece BPE model on train; none: split lines on spaces "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--vocab-size", type=int, default=8000,
        help="sentencepiece vocabulary size (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=min(8, os.cpu_count() or 1),
        help="worker processes for fairseq-preprocess (default: %(default)s)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if --destdir holds a dataset"
    )
    args = parser.parse_args(argv)
    if args.destdir is None:
        name = args.raw_dir.resolve().name if args.raw_dir else "linux-doc"
        args.destdir = Path("data-bin") / name
    return args


def main(argv=None):
    """Entry point: returns the process exit status."""
    args = parse_args(argv)
    if dataset_complete(args.destdir) and not args.force:
        log(f"{args.destdir} already holds a binarised dataset; nothing to do (use --force)")
        return 0
    try:
        if args.raw_dir is not None:
            raw_files = find_raw_splits(args.raw_dir)
        else:
            corpus_dir = build_debian_corpus(args.debian_package, args.cache_dir)
            raw_files = {split: corpus_dir / f"{split}.txt" for split in SPLITS}
        stats = prepare(raw_files, args.destdir, args.tokenizer, args.vocab_size, args.workers)
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with open(args.destdir / "dict.txt", encoding="utf-8") as f:
        vocab = 4 + sum(1 for _ in f)  # fairseq adds <s>, <pad>, </s> and <unk>
    sizes = ", ".join(f"{split} {human(stats[split][1])} tokens" for split in SPLITS)
    print(f"data ready: {args.destdir} ({sizes}, vocab {vocab})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
