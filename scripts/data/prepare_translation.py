#!/usr/bin/env python3
"""Prepare a binarised fairseq translation dataset (English-Spanish by default) from real text.

Three sources of parallel text are supported:

* default: the Bible, verse-aligned, from Debian's SWORD modules -- the King James Version
  (package ``sword-text-kjv``, module ``engKJV2006eb``) and the Reina-Valera 1909
  (package ``sword-text-sparv``, module ``spaRV1909eb``), both public domain. Each module is
  exported with ``mod2imp`` (package ``libsword-utils``) to the IMP format (a ``$$$Book C:V``
  line followed by the verse's OSIS markup); the exports are cached under ``--cache-dir`` so
  later runs need neither the packages nor mod2imp. When the packages are missing and the script
  runs as root, it installs them with apt-get (``--no-install`` turns that off). Verses are
  aligned on their keys (both modules use the KJV versification), cleaned of markup (Strong's
  numbers, footnotes, non-canonical headings, the KJV's pilcrows and brackets, the RV1909's
  capitalised first word of each chapter, ...), and kept where both sides are non-empty and
  their Strong's numbers agree (where the RV1909 numbers verses differently, e.g. Numbers 13,
  Job 39-40, Jonah 2, the same key holds different verses; about 200 such pairs are dropped):
  about 30.9k pairs. Each verse goes to train/valid/test (about 94/3/3) by a stable hash of its
  key (e.g. ``Genesis 1:1``), so the split is the same on every machine and independent of order.
* ``--src-file A --tgt-file B``: two aligned plain-text files, one sentence per line. Lines are
  whitespace-normalised, pairs with an empty side are dropped, and each pair goes to
  train/valid/test (94/3/3) by a stable hash of its content (source and target text), so
  duplicated pairs always land in the same split and never leak from train into test.
* ``--raw-dir DIR``: a pre-split corpus, ``DIR/{train,valid,test}.{SRC,TGT}`` (e.g.
  ``train.en``/``train.es`` with the default ``--source-lang en --target-lang es``).

Files whose line counts differ, or that hold no text, are rejected before anything is written.

One joint sentencepiece BPE model (``--vocab-size``, default 8000) is trained on the train split
of both languages; all splits are encoded with it and ``fairseq-preprocess --joined-dictionary``
writes ``dict.SRC.txt`` (= ``dict.TGT.txt``) and ``{train,valid,test}.SRC-TGT.{SRC,TGT}.{bin,idx}``
to ``--destdir``, which also keeps ``spm.model`` and the untokenised, cleaned text of every split
as ``raw/{train,valid,test}.{SRC,TGT}`` (line i of a raw file is sentence i of the binarised
split, for BLEU against raw references). Everything is built in a staging directory beside
``--destdir`` and moved in at the end, so a failed run writes nothing; a complete dataset is left
alone unless ``--force`` is given.

Examples:
    fmm-prepare-translation                  # -> data-bin/bible-en-es
    fmm-prepare-translation --raw-dir tests/data/tiny_mt --vocab-size 300
    fmm-prepare-translation --src-file corpus.en --tgt-file corpus.es
"""

import argparse
import hashlib
import html
import io
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
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
VALID_PERCENT = 3
TEST_PERCENT = 3

# The Bible per language: the SWORD module names to try, in order (Debian bookworm's, then older
# ones), the Debian package holding them, and how to clean them: 'drop_cap' when the first word
# of each chapter is printed in capitals, 'enclitics' when pronouns may be written joined to the
# verb across a tag ('dándo<transChange>lo').
SWORD_MODULES = {
    "en": {"modules": ("engKJV2006eb", "KJV"), "package": "sword-text-kjv",
           "drop_cap": False, "enclitics": False},
    "es": {"modules": ("spaRV1909eb", "SpaRV"), "package": "sword-text-sparv",
           "drop_cap": True, "enclitics": True},
}
SWORD_TOOLS_PACKAGE = "libsword-utils"
VERSE_KEY = re.compile(r"^(.+) ([1-9]\d*):([1-9]\d*)$")  # skips 'Book 0:0', 'Book C:0', headings
# Where two modules number verses differently (e.g. Numbers 13, Job 39-40, Jonah 2 in the
# RV1909), the same key holds different verses. Their Strong's numbers (the Hebrew/Greek word
# each translated word stands for) tell: a pair is dropped when they overlap (Dice coefficient)
# less than MIN_STRONGS_OVERLAP, or when a verse up to ALIGN_WINDOW verses away matches one side
# better by ALIGN_MARGIN or more; a chapter that loses half its pairs so is dropped whole. Verses
# with fewer than MIN_STRONGS numbers are not judged.
LEMMA = re.compile(r"\blemma=\"([^\"]*)\"")  # e.g. lemma="strong:H1121 H5971"
STRONGS = re.compile(r"(?:^|[\s:])([GH])0*(\d+)\b")
MIN_STRONGS = 3
MIN_STRONGS_OVERLAP = 0.2
ALIGN_WINDOW = 6
ALIGN_MARGIN = 0.2
# The Hebrew letters heading the stanzas of Psalm 119 ('ALEPH.'), plain text in the RV1909.
ACROSTIC = re.compile(
    r"^(?:ALEPH|BETH|GIMEL|DALETH|HE|VAU|ZAIN|CHETH|HETH|TETH|JOD|YOD|CAPH|LAMED|MEM|NUN|SAMECH|"
    r"AIN|PE|TZADDI|TSADDI|COPH|KOPH|QOPH|RESH|SIN|SCHIN|SHIN|TAU)\b\.?\s*"
)

OTHER_TEXT_HELP = (
    "To use other text instead, pass --src-file A --tgt-file B (two aligned plain-text files, "
    "one sentence per line; they are split into train/valid/test by a stable hash of each pair) "
    "or --raw-dir DIR, where DIR holds a pre-split corpus named {train,valid,test}.SRC and "
    "{train,valid,test}.TGT (e.g. train.en, train.es, valid.en, ... with the default "
    "--source-lang en --target-lang es)."
)

# Markup removal, in order. Elements whose content is not verse text go first, with their
# content; then USFM remnants; then every remaining tag (keeping the text inside).
DROP_WITH_CONTENT = (
    re.compile(r"<note\b[^>]*/>"),
    re.compile(r"<note\b[^>]*>.*?</note>", re.S),  # OSIS/ThML footnotes and cross references
    re.compile(r"<title\b(?![^>]*canonical=\"true\")[^>]*/>"),
    # Headings added by editors (book titles, 'ALEPH.' in Psalm 119); canonical titles such as
    # the psalm superscriptions ('A Psalm of David.') are verse text and are kept.
    re.compile(r"<title\b(?![^>]*canonical=\"true\")[^>]*>.*?</title>", re.S),
    re.compile(r"<RF>.*?<Rf>", re.S),  # GBF footnotes
    re.compile(r"<RX>.*?<Rx>", re.S),  # GBF cross references
)
USFM_MARKER = re.compile(r"\\\+?[a-z]+\d*\*?")  # e.g. '\nd ' and '\+nd*' left in the KJV
DIVINE_NAME = re.compile(r"<divineName\b[^>]*>(.*?)</divineName>", re.S)
TAG = re.compile(r"<[^<>]*>")
# Tags between two words: in OSIS they stand for nothing, but these modules are not careful
# about spaces: the KJV has 'tear</w>s', the RV1909 'allí</w><transChange ...>también' and,
# for enclitic pronouns, 'repartiéron<transChange ...>lo'. See join_or_space.
TAGS_BETWEEN_WORDS = re.compile(r"<(?<=[^\W_]<)[^<>]*>(?:<[^<>]*>)*(?=[^\W_])")  # '<' first: fast
WORD_BEFORE = re.compile(r"[^\W_]+$")
WORD_AFTER = re.compile(r"[^\W_]+")
CLITIC = re.compile(r"(?:(?:se|me|te|nos|os)?(?:lo|la|los|las|le|les)|se|me|te|nos|os)")
CLITIC_HOST_ENDINGS = ("ar", "er", "ir", "ad", "ed", "id", "ndo")  # infinitive, imperative, gerund
CLITIC_HOSTS = {"da", "di", "haz", "he", "ten", "pon", "ven", "sal"}
ACCENTED = re.compile(r"[áéíóú]", re.I)
POSSESSIVE_SAFE_WORD = re.compile(r"(?<![’'])\b[^\W\d_]+")
DECORATION = re.compile(r"[¶\[\]]")  # paragraph signs; KJV brackets around supplied words
SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)])")
WORD = re.compile(r"[^\W\d_]{2,}")


def log(message):
    """Print one progress line."""
    print(f"[fmm-prepare-translation] {message}", flush=True)


# --- cleaning, alignment and splitting ----------------------------------------------------------


def normalise_space(text):
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def upper_words(text):
    """Upper-case the words of a divine name outside tags, as printed ('Lord' -> 'LORD'), but not
    a possessive ending ('LORD’s' stays)."""
    parts = re.split(r"(<[^<>]*>)", text)
    upper = lambda m: m.group().upper()  # noqa: E731
    return "".join(
        part if part.startswith("<") else POSSESSIVE_SAFE_WORD.sub(upper, part) for part in parts
    )


def is_enclitic(before, after):
    """Whether the Spanish word 'after' is a pronoun written joined to the verb 'before'
    ('dándo' + 'lo', 'díjo' + 'le', 'haced' + 'lo'), judged by the forms the RV1909 uses."""
    if not CLITIC.fullmatch(after):
        return False
    if before.lower().endswith(CLITIC_HOST_ENDINGS) or before.lower() in CLITIC_HOSTS:
        return True
    # Archaic enclitics after an accented verb ('invocaréle', 'púsolos'), but not after a
    # capitalised name stressed on its last letter ('Jehová los', 'Josué los').
    name_like = before[0].isupper() and ACCENTED.match(before[-1])
    return bool(ACCENTED.search(before)) and not name_like


def join_or_space(match, enclitics=False):
    """Replace tags between two words by nothing (one word) or a space (two words).

    Only closing tags ('tear</w>s') and, with enclitics, Spanish enclitic pronouns join; any
    other tag between two words separates them, as a new <w> or <transChange> element starts a
    new word.
    """
    if all(tag.startswith("</") for tag in TAG.findall(match.group())):
        return ""
    if enclitics:
        text, start, end = match.string, match.start(), match.end()
        before = WORD_BEFORE.search(text[max(0, start - 40):start]).group()
        if is_enclitic(before, WORD_AFTER.match(text, end).group()):
            return ""
    return " "


def clean_markup(text, enclitics=False):
    """Turn one verse of SWORD module markup (OSIS, also ThML/GBF) into plain text.

    Drops footnotes and cross references with their content, editorial headings, Strong's
    numbers and morphology (they live in tags and attributes), USFM remnants such as ``\\nd``,
    all other tags (keeping the words inside, e.g. KJV words in italics, ``<transChange>``),
    the pilcrow ``¶`` and the KJV's square brackets; upper-cases divine names as printed
    (``LORD``); decodes entities and normalises whitespace. With enclitics, a Spanish pronoun
    separated from its verb only by tags is joined to it (see join_or_space).
    """
    for pattern in DROP_WITH_CONTENT:
        text = pattern.sub(" ", text)
    text = USFM_MARKER.sub(" ", text)
    text = DIVINE_NAME.sub(lambda m: upper_words(m.group(1)), text)
    text = TAGS_BETWEEN_WORDS.sub(lambda m: join_or_space(m, enclitics), text)
    text = TAG.sub("", text)
    text = html.unescape(text)
    text = DECORATION.sub(" ", text)
    text = normalise_space(text)
    text = SPACE_BEFORE_PUNCT.sub(r"\1", text)  # 'word ,' left where a tag stood before a comma
    return re.sub(r"([¿¡(])\s+", r"\1", text)


def undo_drop_cap(text):
    """Lower-case the capitalised first word of a chapter ('EN el principio' -> 'En el principio').

    The RV1909 prints the first word of every chapter in capitals (in the Psalms after the
    superscription, so this is the first all-capital word of two or more letters anywhere).
    """
    for match in WORD.finditer(text):
        word = match.group()
        if word.isupper():
            return text[: match.start()] + word[0] + word[1:].lower() + text[match.end():]
    return text


def parse_imp(text):
    """Yield (key, markup) for each entry of a SWORD IMP export ('$$$key' lines, then the text)."""
    key, lines = None, []
    for line in text.splitlines():
        if line.startswith("$$$"):
            if key is not None:
                yield key, "\n".join(lines)
            key, lines = line[3:].strip(), []
        elif key is not None:
            lines.append(line)
    if key is not None:
        yield key, "\n".join(lines)


def strongs_numbers(markup):
    """The multiset of Strong's numbers ('H430', 'G2316') tagged in a verse, notes excluded."""
    for pattern in DROP_WITH_CONTENT:
        markup = pattern.sub(" ", markup)
    return Counter(
        kind + number for lemma in LEMMA.findall(markup) for kind, number in STRONGS.findall(lemma)
    )


def imp_verses(text, drop_cap=False, enclitics=False):
    """Map each verse key ('Book C:V', V >= 1) of an IMP export to (cleaned text, Strong's numbers).

    Keys keep the export's order. Verses whose text is empty after cleaning (e.g. joined with a
    neighbour) are left out.
    """
    verses = {}
    for key, markup in parse_imp(text):
        match = VERSE_KEY.match(key)
        if not match:
            continue  # module, testament, book and chapter headings
        verse = clean_markup(markup, enclitics)
        if match.group(1) == "Psalms" and match.group(2) == "119":
            verse = ACROSTIC.sub("", verse)
        if drop_cap and match.group(3) == "1":
            verse = undo_drop_cap(verse)
        if verse:
            verses[key] = (verse, strongs_numbers(markup))
    return verses


def overlap(a, b):
    """Dice coefficient of two multisets of Strong's numbers (None: too few numbers to judge)."""
    size_a, size_b = sum(a.values()), sum(b.values())
    if size_a < MIN_STRONGS or size_b < MIN_STRONGS:
        return None
    return 2 * sum((a & b).values()) / (size_a + size_b)


def align(source_verses, target_verses):
    """Pair the verses of two modules on their keys; returns ([(key, source, target)], dropped).

    Keys present in both are paired, in the source's order, unless their Strong's numbers show
    that the two verses are not translations of each other, or that most of the chapter is not
    (see ALIGN_MARGIN); the number of pairs dropped so is returned too.
    """
    keys = list(source_verses)
    candidates, misaligned = [], Counter()
    for i, key in enumerate(keys):
        if key not in target_verses:
            continue
        (source, source_strongs), (target, target_strongs) = source_verses[key], target_verses[key]
        same = overlap(source_strongs, target_strongs)
        if same is not None:
            best_other = 0.0
            if same + ALIGN_MARGIN <= 1:
                for other in keys[max(0, i - ALIGN_WINDOW): i + ALIGN_WINDOW + 1]:
                    if other == key or other not in target_verses:
                        continue
                    for a, b in ((source_strongs, target_verses[other][1]),
                                 (source_verses[other][1], target_strongs)):
                        best_other = max(best_other, overlap(a, b) or 0.0)
            if same < MIN_STRONGS_OVERLAP or best_other >= same + ALIGN_MARGIN:
                misaligned[chapter_of(key)] += 1
                continue
        candidates.append((key, source, target))
    kept = Counter(chapter_of(key) for key, _, _ in candidates)
    pairs = [pair for pair in candidates
             if misaligned[chapter_of(pair[0])] < kept[chapter_of(pair[0])]]
    return pairs, len(keys & target_verses.keys()) - len(pairs)


def chapter_of(key):
    """'Genesis 1:2' -> 'Genesis 1'."""
    return key.rsplit(":", 1)[0]


def assign_split(key):
    """Assign a verse key or sentence pair to 'train', 'valid' or 'test' (about 94/3/3).

    Uses a stable hash (SHA-256) of the key string, so the result is the same on every
    machine and does not depend on the order in which the keys come.
    """
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    if bucket < VALID_PERCENT:
        return "valid"
    if bucket < VALID_PERCENT + TEST_PERCENT:
        return "test"
    return "train"


def split_pairs(keyed_pairs):
    """Split [(key, source, target)] into {split: [(source, target)]}, keeping the order."""
    splits = {split: [] for split in SPLITS}
    for key, source, target in keyed_pairs:
        splits[assign_split(key)].append((source, target))
    return splits


# --- the SWORD Bible corpus ---------------------------------------------------------------------


def fail_bible(what, langs):
    """Raise the error explaining that the Bible modules could not be had, and what to do."""
    packages = " ".join([SWORD_TOOLS_PACKAGE] + [SWORD_MODULES[lang]["package"] for lang in langs])
    raise PrepareError(
        f"could not export the SWORD Bible modules: {what}. The default corpus is the King James "
        f"Version and the Reina-Valera 1909 from Debian's SWORD packages, exported with mod2imp; "
        f"install them with 'apt-get install -y {packages}' (as root, after 'apt-get update' if "
        f"apt has no package lists), or run this script as root without --no-install. "
        f"{OTHER_TEXT_HELP}"
    )


def install_packages(packages, langs):
    """Install Debian packages with apt-get (running 'apt-get update' first if needed)."""
    if shutil.which("apt-get") is None:
        fail_bible("they are not installed and apt-get is not available", langs)
    if os.geteuid() != 0:
        fail_bible("they are not installed and installing them needs root", langs)
    if not apt_lists_present():
        log("apt has no package lists yet; running apt-get update")
        status, output = run_quiet(["apt-get", "update"])
        if status != 0:
            fail_bible(f"'apt-get update' failed: {output[-500:]}", langs)
    log(f"installing {' '.join(packages)} with apt-get")
    os.environ.setdefault("DEBIAN_FRONTEND", "noninteractive")
    status, output = run_quiet(
        ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    )
    if status != 0:
        fail_bible(f"'apt-get install {' '.join(packages)}' failed: {output[-500:]}", langs)


def mod2imp(module):
    """Export a SWORD module with mod2imp; returns the IMP text, or None if it is not there."""
    if shutil.which("mod2imp") is None:
        return None
    env = dict(os.environ, LC_ALL="C", LANG="C")  # English book names in the keys, always
    result = subprocess.run(["mod2imp", module], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    text = result.stdout.decode("utf-8", errors="replace")
    return text if result.returncode == 0 and "\n$$$" in text else None


def export_modules(langs, cache_dir, allow_install):
    """Return {lang: IMP text} for the Bible modules of langs, from the cache or mod2imp.

    Nothing is written (not even cache_dir) unless every export succeeds.
    """
    sword_cache = cache_dir / "sword"
    exports, missing = {}, []
    for lang in langs:
        for module in SWORD_MODULES[lang]["modules"]:
            cached = sword_cache / f"{module}.imp"
            if cached.is_file():
                log(f"using cached export {cached}")
                exports[lang] = (module, cached.read_text(encoding="utf-8"), True)
                break
        else:
            missing.append(lang)
    for attempt in ("installed", "install"):
        still_missing = []
        for lang in missing:
            for module in SWORD_MODULES[lang]["modules"]:
                text = mod2imp(module)
                if text is not None:
                    log(f"exported SWORD module {module} with mod2imp")
                    exports[lang] = (module, text, False)
                    break
            else:
                still_missing.append(lang)
        missing = still_missing
        if not missing or attempt == "install":
            break
        packages = [SWORD_MODULES[lang]["package"] for lang in missing]
        if shutil.which("mod2imp") is None:
            packages.insert(0, SWORD_TOOLS_PACKAGE)
        if not allow_install:
            fail_bible(f"{', '.join(packages)} not installed (and --no-install was given)", langs)
        install_packages(packages, langs)
    if missing:
        names = " or ".join(n for lang in missing for n in SWORD_MODULES[lang]["modules"])
        fail_bible(f"mod2imp cannot export the module {names}", langs)
    for module, text, from_cache in exports.values():
        if not from_cache:
            sword_cache.mkdir(parents=True, exist_ok=True)
            partial = sword_cache / f".{module}.imp.partial"
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, sword_cache / f"{module}.imp")
    return {lang: exports[lang] for lang in langs}


def bible_corpus(src, tgt, cache_dir, allow_install):
    """Return {split: [(source verse, target verse)]} for the Bible in languages src and tgt."""
    langs = (src, tgt)
    unknown = [lang for lang in langs if lang not in SWORD_MODULES]
    if unknown or src == tgt:
        raise PrepareError(
            f"the Bible corpus is available for the languages {', '.join(SWORD_MODULES)} only "
            f"(got --source-lang {src} --target-lang {tgt}). {OTHER_TEXT_HELP}"
        )
    exports = export_modules(langs, cache_dir, allow_install)
    verses = {}
    for lang, (module, text, _) in exports.items():
        config = SWORD_MODULES[lang]
        verses[lang] = imp_verses(text, config["drop_cap"], config["enclitics"])
        log(f"{module}: {len(verses[lang])} non-empty verses")
    pairs, misaligned = align(verses[src], verses[tgt])
    if not pairs:
        fail_bible("the two modules have no verse keys in common", langs)
    log(f"{len(pairs)} aligned verse pairs ({misaligned} dropped where the modules' verse "
        f"numbering differs)")
    return split_pairs(pairs)


# --- user-supplied parallel text ----------------------------------------------------------------


def read_lines(path):
    """Return the lines of a UTF-8 text file, whitespace-normalised (empty lines stay, as '')."""
    if not path.is_file():
        raise PrepareError(f"{path} is not a file. {OTHER_TEXT_HELP}")
    with open(path, encoding="utf-8", errors="replace") as f:
        return [normalise_space(line) for line in f]


def read_parallel(source_path, target_path):
    """Read two aligned files; returns (pairs with both sides non-empty, pairs dropped).

    Fails if the line counts differ or if either file holds no text.
    """
    source, target = read_lines(source_path), read_lines(target_path)
    for path, lines in ((source_path, source), (target_path, target)):
        if not any(lines):
            raise PrepareError(f"{path} is empty (it holds no text). {OTHER_TEXT_HELP}")
    if len(source) != len(target):
        raise PrepareError(
            f"the parallel files differ in length: {source_path} has {len(source)} lines but "
            f"{target_path} has {len(target)}; line i of one must translate line i of the other"
        )
    pairs = [(s, t) for s, t in zip(source, target) if s and t]
    return pairs, len(source) - len(pairs)


def file_corpus(source_path, target_path):
    """Return {split: [(source, target)]} from two aligned files, split by a hash of each pair."""
    pairs, dropped = read_parallel(source_path, target_path)
    if dropped:
        log(f"dropped {dropped} line pairs with an empty side")
    return split_pairs((f"{s}\t{t}", s, t) for s, t in pairs)


def raw_dir_corpus(raw_dir, src, tgt):
    """Return {split: [(source, target)]} from raw_dir/{split}.{src} and raw_dir/{split}.{tgt}."""
    if not raw_dir.is_dir():
        raise PrepareError(f"--raw-dir {raw_dir} is not a directory. {OTHER_TEXT_HELP}")
    files = {split: (raw_dir / f"{split}.{src}", raw_dir / f"{split}.{tgt}") for split in SPLITS}
    absent = [str(p) for pair in files.values() for p in pair if not p.is_file()]
    if absent:
        raise PrepareError(f"missing in --raw-dir: {', '.join(absent)}. {OTHER_TEXT_HELP}")
    splits = {}
    for split, (source_path, target_path) in files.items():
        splits[split], dropped = read_parallel(source_path, target_path)
        if dropped:
            log(f"{split}: dropped {dropped} line pairs with an empty side")
        if not splits[split]:
            raise PrepareError(f"no line of {source_path} and {target_path} has text on both sides")
    return splits


# --- sentencepiece and binarisation -------------------------------------------------------------


def train_sentencepiece(sentences, model_file, vocab_size):
    """Train a joint sentencepiece BPE model on the given sentences into model_file.

    Deterministic: one thread, the sentences in the given order (no sampling or shuffling), and
    the model file records no paths, so the same text gives the same bytes. The vocabulary size
    is a soft limit, so that a small corpus with a too-large --vocab-size still works.
    """
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        model_type="bpe",
        character_coverage=1.0,  # the Latin-script alphabets are small; keep 'ü', 'ñ', ...
        input_sentence_size=10_000_000,
        shuffle_input_sentence=False,
        bos_id=-1,  # fairseq adds its own end-of-sentence symbol
        eos_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    model_file.write_bytes(model.getvalue())
    return spm.SentencePieceProcessor(model_file=str(model_file))


def binarise(text_dir, destdir, src, tgt, workers):
    """Run fairseq-preprocess --joined-dictionary on text_dir/{split}.{src,tgt} into destdir."""
    fairseq_preprocess(
        ["--source-lang", src, "--target-lang", tgt, "--joined-dictionary", "--trainpref", text_dir / "train",
         "--validpref", text_dir / "valid", "--testpref", text_dir / "test", "--destdir", destdir, "--workers", workers],
        log,
    )


def expected_files(src, tgt):
    """The files a complete dataset holds, relative to its directory."""
    names = [f"dict.{src}.txt", f"dict.{tgt}.txt", "spm.model"]
    for split in SPLITS:
        for lang in (src, tgt):
            names += [f"{split}.{src}-{tgt}.{lang}.bin", f"{split}.{src}-{tgt}.{lang}.idx",
                      f"raw/{split}.{lang}"]
    return names


def dataset_complete(destdir, src, tgt):
    """Whether destdir holds a complete dataset for the language pair."""
    return all((destdir / name).is_file() for name in expected_files(src, tgt))


def write_lines(path, lines):
    """Write lines, one per line, as UTF-8."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def prepare(splits, destdir, src, tgt, vocab_size, workers):
    """Train sentencepiece, encode and binarise {split: [(source, target)]} into destdir.

    Returns {split: (pairs, source tokens, target tokens)}. Everything is built in a staging
    directory beside destdir and moved into place at the end, so a failed run leaves destdir
    as it was.
    """
    with staged(destdir) as staging:
        raw_dir, text_dir = staging / "raw", staging / "text"
        raw_dir.mkdir()
        text_dir.mkdir()
        for split, pairs in splits.items():
            for side, lang in enumerate((src, tgt)):
                write_lines(raw_dir / f"{split}.{lang}", [pair[side] for pair in pairs])
        train = splits["train"]
        log(f"training a joint sentencepiece BPE model (vocab {vocab_size}) on "
            f"{len(train)} train pairs")
        sp = train_sentencepiece([s for s, _ in train] + [t for _, t in train],
                                 staging / "spm.model", vocab_size)
        stats = {}
        for split in SPLITS:
            counts = [len(splits[split])]
            for lang in (src, tgt):
                lines, tokens = write_tokenised(
                    raw_dir / f"{split}.{lang}", text_dir / f"{split}.{lang}", sp
                )
                assert lines == len(splits[split]), "raw text lost its alignment"
                counts.append(tokens)
            stats[split] = tuple(counts)
            log(f"{split}: {human(counts[0])} pairs, {human(counts[1])} {src} tokens, "
                f"{human(counts[2])} {tgt} tokens")
        binarise(text_dir, staging, src, tgt, workers)
        shutil.rmtree(text_dir)
    return stats


# --- command line -------------------------------------------------------------------------------


def parse_args(argv=None):
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="fmm-prepare-translation", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--raw-dir", type=Path,
        help="directory with a pre-split corpus {train,valid,test}.{SRC,TGT} instead of the Bible",
    )
    source.add_argument(
        "--src-file", type=Path,
        help="source side of two aligned plain-text files (with --tgt-file) instead of the Bible",
    )
    parser.add_argument("--tgt-file", type=Path, help="target side, aligned with --src-file")
    parser.add_argument(
        "--source-lang", default="en", help="source language code (default: %(default)s)"
    )
    parser.add_argument(
        "--target-lang", default="es", help="target language code (default: %(default)s)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=Path("data/cache"),
        help="where the mod2imp exports of the Bible modules are kept (default: %(default)s)",
    )
    parser.add_argument(
        "--no-install", action="store_true",
        help="never install missing Debian packages with apt-get; fail instead",
    )
    parser.add_argument(
        "--destdir", type=Path,
        help="output directory (default: data-bin/bible-SRC-TGT, data-bin/<name of --raw-dir>, "
        "or data-bin/<stem of --src-file>-SRC-TGT)",
    )
    parser.add_argument(
        "--vocab-size", type=int, default=8000,
        help="joint sentencepiece vocabulary size (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=min(8, os.cpu_count() or 1),
        help="worker processes for fairseq-preprocess (default: %(default)s)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if --destdir holds a dataset"
    )
    args = parser.parse_args(argv)
    if (args.src_file is None) != (args.tgt_file is None):
        parser.error("--src-file and --tgt-file go together")
    if args.source_lang == args.target_lang:
        parser.error("--source-lang and --target-lang must differ")
    pair = f"{args.source_lang}-{args.target_lang}"
    if args.destdir is None:
        if args.raw_dir is not None:
            args.destdir = Path("data-bin") / args.raw_dir.resolve().name
        elif args.src_file is not None:
            args.destdir = Path("data-bin") / f"{args.src_file.stem}-{pair}"
        else:
            args.destdir = Path("data-bin") / f"bible-{pair}"
    return args


def main(argv=None):
    """Entry point: returns the process exit status."""
    args = parse_args(argv)
    src, tgt = args.source_lang, args.target_lang
    if dataset_complete(args.destdir, src, tgt) and not args.force:
        log(f"{args.destdir} already holds a binarised {src}-{tgt} dataset; nothing to do "
            f"(use --force)")
        return 0
    try:
        if args.raw_dir is not None:
            splits = raw_dir_corpus(args.raw_dir, src, tgt)
        elif args.src_file is not None:
            splits = file_corpus(args.src_file, args.tgt_file)
        else:
            splits = bible_corpus(src, tgt, args.cache_dir, not args.no_install)
        empty = [split for split in SPLITS if not splits[split]]
        if empty:
            raise PrepareError(f"the {' and '.join(empty)} split would be empty; give more text")
        stats = prepare(splits, args.destdir, src, tgt, args.vocab_size, args.workers)
    except PrepareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with open(args.destdir / f"dict.{src}.txt", encoding="utf-8") as f:
        vocab = 4 + sum(1 for _ in f)  # fairseq adds <s>, <pad>, </s> and <unk>
    sizes = "; ".join(
        f"{split} {n} pairs, {s} {src} / {t} {tgt} tokens"
        for split, (n, s, t) in stats.items()
    )
    print(f"data ready: {args.destdir} ({sizes}; joined vocab {vocab})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
