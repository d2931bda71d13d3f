"""A tiny documentation tree with tiny_lm's sentencepiece corpus, for fmm-prepare-long-docs and its study."""
from pathlib import Path

from fmm_tools.data import prepare_lm
from fmm_tools.paths import ROOT


def tiny_docs_and_tokenizer(work: Path, tokenizer: str) -> Path:
    """``work/<tokenizer>``: tiny_lm's sentencepiece model and dictionary; ``work/docs``: 3 folders (alpha, beta,
    other) of 30 documents, each 8 of tiny_lm's lines. Returns the docs folder."""
    assert prepare_lm.main(["--raw-dir", str(ROOT / "tests/data/tiny_lm"), "--vocab-size", "300",
                            "--destdir", str(work / tokenizer), "--workers", "1"]) == 0
    lines = [line.strip() for line in (ROOT / "tests/data/tiny_lm/train.txt").read_text().splitlines() if line.strip()]
    for g, group in enumerate(("alpha", "beta", "other")):
        for d in range(30):
            path = work / "docs" / group / f"doc{d}.rst"
            path.parent.mkdir(parents=True, exist_ok=True)
            start = (g * 30 + d) * 3 % len(lines)
            path.write_text("\n\n".join(lines[start:start + 8]) + "\n")
    return work / "docs"
