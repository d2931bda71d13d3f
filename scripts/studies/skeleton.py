"""What the study scripts in ``scripts/`` share: the recipes (model sizes and schedules) of the
language-model and translation studies, fairseq CLIs run with a fixed number of threads and logged
to a file (with their time and peak memory), what fairseq's logs and checkpoints record, and report
pages whose hand-written notes (below ``NOTES_MARKER``) survive every rewrite."""
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]  # the checkout
NOTES_MARKER = "<!-- notes: everything below this line is kept when the report is rewritten -->"


# The language-model studies' model (2 layers, 128 dims, 4 heads, FFN 512) and schedule.
LM_MODEL_SIZE = [
    "--decoder-layers", "2", "--decoder-embed-dim", "128", "--decoder-ffn-embed-dim", "512",
    "--decoder-input-dim", "128", "--decoder-output-dim", "128", "--decoder-attention-heads", "4",
    "--share-decoder-input-output-embed",
]
LM_SCHEDULE = [
    "--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "1.0", "--lr", "0.002",
    "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "150",
]
# The translation comparison's model (the sizes of fmmformer_tiny, given to every --arch) and training.
TRANSLATION_MODEL_SIZE = [
    "--encoder-layers", "3", "--decoder-layers", "3", "--encoder-embed-dim", "256", "--decoder-embed-dim", "256",
    "--encoder-ffn-embed-dim", "1024", "--decoder-ffn-embed-dim", "1024", "--encoder-attention-heads", "4",
    "--decoder-attention-heads", "4", "--share-all-embeddings",
]
TRANSLATION_LOSS = ["--dropout", "0.1", "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1"]
TRANSLATION_SCHEDULE = [
    "--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--lr", "0.001", "--lr-scheduler", "inverse_sqrt",
    "--warmup-updates", "400",
]


class StudyError(RuntimeError):
    pass


@dataclass
class Finished:
    """A command that ran to the end: its whole log, wall time and peak resident memory."""

    log: str
    seconds: float
    peak_mib: float


def run_measured(command: List[str], log: Path, threads: int, cwd: Path) -> Finished:
    """Runs ``command`` with ``threads`` CPU threads, appending its output to ``log``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        started = time.time()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # the rusage of this child alone
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.time() - started
    if process.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise StudyError(f"{Path(command[0]).name} failed ({process.returncode}), log {log}:\n{tail}")
    return Finished(log.read_text(), seconds, usage.ru_maxrss / 1024)  # Linux reports KiB


def run_logged(command: List[str], log: Path, threads: int, cwd: Path) -> str:
    """Runs ``command`` with ``threads`` CPU threads, appending its output to ``log``; returns the log."""
    return run_measured(command, log, threads, cwd).log


def relative(path_or_command) -> str:
    """A path, or a command line (a list), as a report shows it: relative to the checkout."""
    text = shlex.join(map(str, path_or_command)) if isinstance(path_or_command, list) else str(path_or_command)
    return text.replace(str(ROOT) + "/", "")


def json_records(log: str, tag: str) -> List[Dict]:
    """The records of one kind ('train_inner', 'valid', ...) in a fairseq --log-format json log."""
    pattern = re.compile(rf"\| {re.escape(tag)} \| (\{{.*\}})")
    return [json.loads(match.group(1)) for match in map(pattern.search, log.splitlines()) if match]


def write_keeping_notes(page: Path, lines: List[str]) -> None:
    """Writes ``lines`` to ``page``, then the marker and whatever notes stood below it before."""
    page.parent.mkdir(parents=True, exist_ok=True)
    old = page.read_text() if page.exists() else ""
    notes = old.split(NOTES_MARKER, 1)[1] if NOTES_MARKER in old else "\n"
    page.write_text("\n".join(lines) + "\n" + NOTES_MARKER + notes)


def valid_curve(train_log: str) -> List[Dict[str, float]]:
    """(updates, valid perplexity) after every validation in a fairseq json-format log, resumes included."""
    points = {int(stats["valid_num_updates"]): float(stats["valid_ppl"]) for stats in json_records(train_log, "valid")}
    return [{"updates": updates, "valid_ppl": ppl} for updates, ppl in sorted(points.items())]


def perplexity(eval_output: str) -> float:
    """The last perplexity fairseq-eval-lm printed."""
    found = re.findall(r"Perplexity: ([0-9.]+|inf)", eval_output)
    if not found:
        raise StudyError("fairseq-eval-lm printed no perplexity")
    return float(found[-1])


def _checkpoint_state(checkpoint: Path) -> dict:
    import torch

    import fmm_fairseq  # noqa: F401  (lets torch>=2.6 read fairseq checkpoints)

    return torch.load(checkpoint, map_location="cpu", weights_only=False)


def checkpoint_updates(checkpoint: Path) -> int:
    """Updates recorded in a fairseq checkpoint (0 if there is none)."""
    if not checkpoint.exists():
        return 0
    return int(_checkpoint_state(checkpoint)["optimizer_history"][-1]["num_updates"])


def training_seconds(checkpoint: Path) -> float:
    """The cumulative training time fairseq recorded in a checkpoint (what --stop-time-hours counts)."""
    return float(_checkpoint_state(checkpoint)["extra_state"]["previous_training_time"])
