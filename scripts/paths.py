"""Where the checkout is, and how the tools' pages show its paths and commands.

The tools (studies, benchmarks) write under the checkout (``runs/``, ``docs/``); their pages quote
paths relative to it and commands as a reader types them (``fairseq-train ...``, not the path of
the checkout's virtual environment).
"""
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: scripts/ is the fmm_tools package
BIN = Path(sys.executable).parent  # the running environment's commands (fairseq-train, fmm-*)


def relative(path_or_command) -> str:
    """A path, or a command line (a list), as a page shows it: relative to the checkout, and the
    environment's own commands by their names (``.venv/bin/fairseq-train`` -> ``fairseq-train``)."""
    if isinstance(path_or_command, (list, tuple)):
        words = [Path(word).name if str(word).startswith(str(BIN) + "/") else str(word) for word in path_or_command]
        text = shlex.join(words)
    else:
        text = str(path_or_command)
    return text.replace(str(ROOT) + "/", "")
