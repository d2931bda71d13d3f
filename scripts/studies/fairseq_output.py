"""What fairseq's logs and checkpoints record, as the studies read it: the json records of a
``--log-format json`` log, the validation curve, seconds per update, fairseq-eval-lm's perplexity, and a checkpoint's
updates and training time."""
import json
import re
from pathlib import Path
from typing import Dict, List


class FairseqOutputError(RuntimeError):
    """fairseq printed or saved less than a study needs."""


def json_records(log: str, tag: str) -> List[Dict]:
    """The records of one kind ('train_inner', 'valid', ...) in a fairseq --log-format json log."""
    pattern = re.compile(rf"\| {re.escape(tag)} \| (\{{.*\}})")
    return [json.loads(match.group(1)) for match in map(pattern.search, log.splitlines()) if match]


def valid_curve(train_log: str) -> List[Dict[str, float]]:
    """(updates, valid perplexity) after every validation in a fairseq json-format log, resumes included."""
    points = {int(stats["valid_num_updates"]): float(stats["valid_ppl"]) for stats in json_records(train_log, "valid")}
    return [{"updates": updates, "valid_ppl": ppl} for updates, ppl in sorted(points.items())]


def seconds_per_update(log: str) -> float:
    """Mean training seconds per update of a json-format log, after its first logged interval (warm-up)."""
    records = json_records(log, "train_inner")
    rates = [float(record["ups"]) for record in records[1:]] or [float(record["ups"]) for record in records]
    if not rates:
        raise FairseqOutputError("fairseq-train logged no train_inner record")
    return 1.0 / (sum(rates) / len(rates))


def perplexity(eval_output: str) -> float:
    """The last perplexity fairseq-eval-lm printed."""
    found = re.findall(r"Perplexity: ([0-9.]+|inf)", eval_output)
    if not found:
        raise FairseqOutputError("fairseq-eval-lm printed no perplexity")
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
