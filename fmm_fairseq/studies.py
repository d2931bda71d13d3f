"""What the study scripts in ``scripts/`` share: fairseq CLIs run with a fixed number of threads and
logged to a file, the json records of fairseq's ``--log-format json`` logs, and report pages whose
hand-written notes (below ``NOTES_MARKER``) survive every rewrite."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

BIN = Path(sys.executable).parent
NOTES_MARKER = "<!-- notes: everything below this line is kept when the report is rewritten -->"


class StudyError(RuntimeError):
    pass


def run_logged(command: List[str], log: Path, threads: int, cwd: Path) -> str:
    """Runs ``command`` with ``threads`` CPU threads, appending its output to ``log``; returns the log."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise StudyError(f"{Path(command[0]).name} failed ({result.returncode}), log {log}:\n{tail}")
    return log.read_text()


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
