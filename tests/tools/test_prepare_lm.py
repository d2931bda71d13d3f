"""fmm-prepare-lm (scripts/data/prepare_lm.py): cleaning, splitting, raw-text and Debian inputs, binarisation."""
import shutil
import subprocess

import pytest

from fmm_tools.data import prepare_lm as prep
from fmm_tools.paths import BIN, ROOT

TINY = ROOT / "tests" / "data" / "tiny_lm"


def run_script(*args, cwd):
    """Run the command as a user would; returns the CompletedProcess."""
    return subprocess.run(
        [str(BIN / "fmm-prepare-lm"), *map(str, args)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def non_empty_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def load_split(destdir, split):
    from fairseq.data import Dictionary, data_utils

    dictionary = Dictionary.load(str(destdir / "dict.txt"))
    dataset = data_utils.load_indexed_dataset(str(destdir / split), dictionary)
    assert dataset is not None, f"no {split} dataset in {destdir}"
    return dictionary, dataset


def assert_complete_dataset(destdir):
    expected = {"dict.txt"} | {f"{s}.{e}" for s in ("train", "valid", "test") for e in ("bin", "idx")}
    assert expected <= {p.name for p in destdir.iterdir()}
    assert prep.dataset_complete(destdir)


def test_clean_rst_keeps_prose_and_drops_markup():
    snippet = """\
.. SPDX-License-Identifier: GPL-2.0

==============
The MSI Guide
==============

:Author: Somebody

This guide describes the basics of
Message Signaled Interrupts, see :ref:`the howto <msi-howto>` and ``pci_alloc_irq_vectors()``.

Use the following function::

  int pci_irq_vector(struct pci_dev *dev, unsigned int nr);

which returns the vector. An example follows ::

    pci_irq_vector(dev, 0);

.. code-block:: c

   static int foo(void) { return 0; }

.. note::
   Interrupts are **never** shared.

- First item that wraps
  onto a second line.
- Second item.

+-------+-------+
| a     | b     |
+-------+-------+

0x48 - 0x4f
"""
    assert prep.clean_rst(snippet) == [
        "The MSI Guide",
        "This guide describes the basics of Message Signaled Interrupts, "
        "see the howto and pci_alloc_irq_vectors().",
        "Use the following function:",
        "which returns the vector. An example follows",
        "Interrupts are never shared.",
        "First item that wraps onto a second line.",
        "Second item.",
    ]


def test_assign_split_is_stable_and_roughly_96_2_2():
    # Pinned values: a hash that differs between runs or machines (e.g. Python's hash()) fails.
    assert prep.assign_split("process/changes.rst") == "valid"
    assert prep.assign_split("process/stable-api-nonsense.rst") == "test"
    assert prep.assign_split("process/howto.rst") == "train"
    paths = [f"dir{i % 37}/doc-{i}.rst" for i in range(20000)]
    splits = [prep.assign_split(p) for p in paths]
    assert splits == [prep.assign_split(p) for p in reversed(paths)][::-1]
    shares = {s: splits.count(s) / len(splits) for s in ("train", "valid", "test")}
    assert 0.95 < shares["train"] < 0.97
    assert 0.015 < shares["valid"] < 0.025
    assert 0.015 < shares["test"] < 0.025


def test_raw_dir_tokenizer_none_builds_a_complete_dataset(tmp_path):
    raw = tmp_path / "raw"  # the tiny corpus with blank and whitespace-only lines mixed in
    raw.mkdir()
    for split in ("train", "valid", "test"):
        lines = (TINY / f"{split}.txt").read_text(encoding="utf-8").splitlines()
        text = "".join(f"{line}\n\n   \n" if i % 10 == 0 else f"{line}\n" for i, line in enumerate(lines))
        (raw / f"{split}.txt").write_text(text, encoding="utf-8")
    destdir = tmp_path / "out"
    result = run_script("--raw-dir", raw, "--tokenizer", "none", "--destdir", destdir,
                        "--workers", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"data ready: {destdir}" in result.stdout
    assert_complete_dataset(destdir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "raw"]  # no staging left behind
    for split in ("train", "valid", "test"):
        lines = non_empty_lines(raw / f"{split}.txt")
        assert len(lines) == len(non_empty_lines(TINY / f"{split}.txt"))
        dictionary, dataset = load_split(destdir, split)
        assert len(dataset) == len(lines)
        # Tokens are the space-separated words, each sentence ending in </s>.
        assert dataset[0][-1].item() == dictionary.eos()
        assert len(dataset[len(lines) - 1]) == len(lines[-1].split()) + 1
        if split == "train":  # the dictionary holds every train word, so nothing becomes <unk>
            assert [dictionary.string(dataset[i]) for i in range(len(lines))] == lines

    # A second run leaves the complete dataset alone; --force rebuilds it.
    before = (destdir / "train.bin").stat().st_mtime_ns
    assert prep.main(["--raw-dir", str(raw), "--destdir", str(destdir)]) == 0
    assert (destdir / "train.bin").stat().st_mtime_ns == before
    assert not (destdir / "spm.model").exists()


def test_raw_dir_tokenizer_spm_is_deterministic_and_decodable(tmp_path):
    import sentencepiece as spm

    dicts, models = [], []
    for run in ("a", "b"):
        destdir = tmp_path / run
        result = run_script("--raw-dir", TINY, "--vocab-size", "200", "--destdir", destdir,
                            "--workers", "1", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert_complete_dataset(destdir)
        dicts.append((destdir / "dict.txt").read_text(encoding="utf-8"))
        models.append((destdir / "spm.model").read_bytes())
    assert dicts[0] == dicts[1]
    assert models[0] == models[1]
    assert 100 < len(dicts[0].splitlines()) <= 200

    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "a" / "spm.model"))
    assert sp.get_piece_size() == 200
    lines = non_empty_lines(TINY / "valid.txt")
    dictionary, dataset = load_split(tmp_path / "a", "valid")
    assert len(dataset) == len(lines)
    assert sp.decode_pieces(dictionary.string(dataset[0]).split()) == lines[0]


@pytest.mark.parametrize("problem", ["missing", "empty"])
def test_raw_dir_with_a_bad_split_fails_clearly_and_writes_nothing(tmp_path, problem):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(TINY / "train.txt", raw / "train.txt")
    shutil.copy(TINY / "valid.txt", raw / "valid.txt")
    if problem == "empty":
        (raw / "test.txt").write_text("\n  \n", encoding="utf-8")
    destdir = tmp_path / "bin" / "out"
    result = run_script("--raw-dir", raw, "--tokenizer", "none", "--destdir", destdir, cwd=tmp_path)
    assert result.returncode != 0
    expected = "no test split" if problem == "missing" else "is empty"
    assert expected in result.stderr and "--raw-dir DIR" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bin").exists()


def test_raw_dir_recognises_wikitext_names_and_rejects_ambiguity(tmp_path):
    for split in ("train", "valid", "test"):
        (tmp_path / f"wiki.{split}.tokens").write_text(" = title = \n\n text \n", encoding="utf-8")
    assert prep.find_raw_splits(tmp_path) == {
        s: tmp_path / f"wiki.{s}.tokens" for s in ("train", "valid", "test")
    }
    (tmp_path / "valid.txt").write_text("text\n", encoding="utf-8")
    with pytest.raises(prep.PrepareError, match="several valid files"):
        prep.find_raw_splits(tmp_path)


@pytest.mark.skipif(
    shutil.which("apt-get") is None or not prep.apt_lists_present(),
    reason="needs apt-get with package lists",
)
def test_unknown_debian_package_fails_clearly_and_writes_nothing(tmp_path):
    result = run_script("--debian-package", "no-such-package-fmm-fairseq", cwd=tmp_path)
    assert result.returncode != 0
    assert "could not obtain the Debian package 'no-such-package-fmm-fairseq'" in result.stderr
    assert "--raw-dir DIR" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # neither data/cache nor data-bin
