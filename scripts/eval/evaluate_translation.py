"""Translate a test split with fairseq-generate (beam search) and score BLEU on raw text.

    fmm-evaluate-translation data-bin/bible-en-es --path checkpoints/fmm/checkpoint_best.pt

Hypotheses are detokenised by fairseq itself (``--post-process sentencepiece``) and scored with
sacrebleu against the raw, untokenised references that fmm-prepare-translation keeps in
``DATA/raw/{split}.{target_lang}``. Prints one line ``BLEU = ...`` (sacrebleu's signature follows)
and writes the hypotheses, in test order, next to the checkpoint.
"""
import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

from sacrebleu.metrics import BLEU

from fmm_tools.paths import BIN

HYPOTHESIS = re.compile(r"^D-(\d+)\t[^\t]*\t(.*)$")


def language_pair(data: Path):
    """('en', 'es') from the binarised files, e.g. test.en-es.en.bin."""
    names = sorted(p.name for p in data.glob("test.*-*.*.bin")) or sorted(p.name for p in data.glob("*.*-*.*.bin"))
    if not names:
        raise SystemExit(f"error: {data} holds no binarised translation data (*.SRC-TGT.LANG.bin)")
    source, target = names[0].split(".")[1].split("-")
    return source, target


def plugin_directory() -> str:
    """The installed fmm_fairseq package's folder (for --user-dir), found without importing it."""
    return importlib.util.find_spec("fmm_fairseq").submodule_search_locations[0]


def generate(data: Path, checkpoint: Path, split: str, beam: int, batch_size: int, extra):
    """Runs fairseq-generate and returns the detokenised hypotheses ordered by sentence id."""
    command = [
        str(BIN / "fairseq-generate"), str(data), "--user-dir", plugin_directory(),
        "--path", str(checkpoint), "--gen-subset", split, "--beam", str(beam), "--batch-size", str(batch_size),
        "--post-process", "sentencepiece", "--scoring", "sacrebleu", *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"fairseq-generate failed:\n{result.stderr[-3000:]}")
    hypotheses = {}
    for line in result.stdout.splitlines():
        match = HYPOTHESIS.match(line)
        if match:
            hypotheses[int(match.group(1))] = match.group(2)
    return [hypotheses[i] for i in sorted(hypotheses)], result.stdout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fmm-evaluate-translation", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="fairseq-preprocess output with raw/ references")
    parser.add_argument("--path", type=Path, required=True, help="checkpoint to evaluate")
    parser.add_argument("--split", default="test")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--max-len-a", type=float, default=1.5, help="hypotheses stop at max_len_a * source length + max_len_b tokens"
    )
    parser.add_argument("--max-len-b", type=int, default=10)
    parser.add_argument("--cpu", action="store_true", help="passed on to fairseq-generate")
    options = parser.parse_args(argv)
    _, target = language_pair(options.data)
    references_file = options.data / "raw" / f"{options.split}.{target}"
    if not references_file.exists():
        raise SystemExit(f"error: raw references {references_file} not found (made by fmm-prepare-translation)")
    references = references_file.read_text(encoding="utf-8").splitlines()
    extra = ["--max-len-a", str(options.max_len_a), "--max-len-b", str(options.max_len_b)]
    hypotheses, log = generate(
        options.data, options.path, options.split, options.beam, options.batch_size, extra + (["--cpu"] if options.cpu else [])
    )
    if len(hypotheses) != len(references):
        raise SystemExit(f"error: {len(hypotheses)} hypotheses for {len(references)} references in {references_file}")
    output = options.path.with_name(f"{options.path.stem}.{options.split}.beam{options.beam}.{target}")
    output.write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    metric = BLEU()
    score = metric.corpus_score(hypotheses, [references])
    fairseq_line = next((line for line in log.splitlines() if line.startswith("Generate ")), "")
    print(f"fairseq-generate: {fairseq_line}")
    print(f"hypotheses: {output}")
    print(f"{score}  [{metric.get_signature()}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
