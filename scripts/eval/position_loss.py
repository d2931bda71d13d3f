"""Loss by position: how well language models predict a token given how much context precedes it.

    fmm-position-loss data-bin/linux-doc --path checkpoints/fmm/checkpoint_best.pt \\
        --path checkpoints/band/checkpoint_best.pt --tokens-per-sample 2048 --output runs/position_loss

Every checkpoint is loaded and scored as ``fairseq-eval-lm`` does (fairseq's own configuration,
checkpoint loading, ``language_modeling`` task, ``SequenceScorer``), with the same options; the
tokens are then grouped by their position in the sample (the amount of context before them:
``--context-window`` adds to it), in log-spaced buckets whose first edge is the band width w.
Its overall loss is fairseq-eval-lm's. Writes ``OUT.json`` (per checkpoint: overall loss and
perplexity, per bucket mean loss in nats and perplexity, the token count, and the summed loss
of every position for finer buckets) and ``OUT.png`` (mean loss per bucket, checkpoints
overlaid, the band marked); prints a table.
"""
import argparse
import importlib.util
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from fmm_attention import FMMAttention
from fmm_tools.plotting import pyplot

# --user-dir, wherever the tool runs from: the installed plugin (found without importing fairseq)
PLUGIN_DIR = str(Path(importlib.util.find_spec("fmm_fairseq").origin).parent)
FAIRSEQ_OPTIONS = ("--gen-subset", "--batch-size", "--max-tokens", "--model-overrides", "--user-dir", "--context-window")


@dataclass
class PositionScores:
    """Summed negative log-likelihood (nats) and token count at each position of a sample."""

    label: str
    loss_sum: torch.Tensor  # (positions,) float64
    count: torch.Tensor  # (positions,) int64
    bandwidth: Optional[int]

    @property
    def loss(self) -> float:
        """Mean loss in nats over every scored token."""
        return float(self.loss_sum.sum() / self.count.sum())

    @property
    def loss_base2(self) -> float:
        return self.loss / math.log(2)

    @property
    def perplexity(self) -> float:
        return 2 ** self.loss_base2

    def buckets(self, edges: Sequence[int]) -> List[Dict]:
        """Mean loss (nats) and perplexity of the positions in [edges[i], edges[i+1])."""
        rows = []
        for first, end in zip(edges[:-1], edges[1:]):
            count = int(self.count[first:end].sum())
            if count:
                loss = float(self.loss_sum[first:end].sum()) / count
                rows.append({"first": first, "last": end - 1, "tokens": count, "loss": loss, "perplexity": math.exp(loss)})
        return rows


def bucket_edges(positions: int, bandwidth: Optional[int]) -> List[int]:
    """0, w, then the powers of two above w, up to ``positions``: 0-19, 20-31, 32-63, ... for w = 20."""
    first = bandwidth if bandwidth else 16
    edges = [0, first] if first < positions else [0]
    power = 1
    while power <= first:
        power *= 2
    while power < positions:
        edges.append(power)
        power *= 2
    return edges + [positions]


def score_checkpoint(data: str, checkpoint: str, tokens_per_sample: int, options: List[str], cpu: bool) -> PositionScores:
    """Scores ``checkpoint`` as fairseq-eval-lm does with the same options; per-position sums."""
    from fairseq import checkpoint_utils, options as fairseq_options, tasks, utils
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from fairseq.sequence_scorer import SequenceScorer

    parser = fairseq_options.get_eval_lm_parser()
    argv = [data, "--path", checkpoint, "--tokens-per-sample", str(tokens_per_sample), *options]
    cfg = convert_namespace_to_omegaconf(fairseq_options.parse_args_and_arch(parser, argv + (["--cpu"] if cpu else [])))
    utils.import_user_module(cfg.common)
    context = cfg.eval_lm.context_window
    if context > 0:
        cfg.task.tokens_per_sample -= context  # as fairseq-eval-lm does
    task = tasks.setup_task(cfg.task)
    models, _, task = checkpoint_utils.load_model_ensemble_and_task(
        [checkpoint], arg_overrides=eval(cfg.common_eval.model_overrides), task=task
    )
    model = models[0]
    if not cpu and torch.cuda.is_available():
        model.cuda()
    model.prepare_for_inference_(cfg)
    task.load_dataset(cfg.dataset.gen_subset)
    batches = task.eval_lm_dataloader(
        dataset=task.dataset(cfg.dataset.gen_subset),
        max_tokens=cfg.dataset.max_tokens or 36000,
        batch_size=cfg.dataset.batch_size,
        max_positions=utils.resolve_max_positions(model.max_positions()),
        num_workers=0,
        context_window=context,
    )
    scorer = SequenceScorer(task.target_dictionary, cfg.eval_lm.softmax_batch)
    positions = cfg.task.tokens_per_sample + context
    loss_sum = torch.zeros(positions, dtype=torch.float64)
    count = torch.zeros(positions, dtype=torch.int64)
    device = next(model.parameters()).device
    for sample in batches:
        if "net_input" not in sample:
            continue
        hypos = scorer.generate([model], utils.move_to_cuda(sample, device=device) if device.type == "cuda" else sample)
        starts = sample.get("start_indices")
        for index, hypos_i in enumerate(hypos):
            scores = hypos_i[0]["positional_scores"].double().cpu()
            start = int(starts[index]) if starts is not None else 0
            where = torch.arange(start, start + scores.numel())
            finite = torch.isfinite(scores)  # fairseq-eval-lm skips tokens with infinite scores too
            loss_sum.index_add_(0, where[finite], -scores[finite])
            count.index_add_(0, where[finite], torch.ones(int(finite.sum()), dtype=torch.int64))
    bandwidth = next((layer.config.bandwidth for layer in model.modules() if isinstance(layer, FMMAttention)), None)
    return PositionScores(Path(checkpoint).parent.name, loss_sum, count, bandwidth or None)


def report(results: List[PositionScores], edges: Sequence[int], output: Optional[Path]) -> str:
    """The table (printed); with ``output``, OUT.json and OUT.png."""
    header = "| checkpoint | overall ppl | " + " | ".join(f"{a}-{b - 1}" for a, b in zip(edges[:-1], edges[1:])) + " |"
    lines = [header, "|" + "---|" * (2 + len(edges) - 1)]
    for result in results:
        cells = {row["first"]: f"{row['loss']:.3f}" for row in result.buckets(edges)}
        lines.append(f"| {result.label} | {result.perplexity:.2f} | " + " | ".join(cells.get(a, "") for a in edges[:-1]) + " |")
    table = "\n".join(lines) + "\n(mean loss in nats per position bucket)"
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        records = [
            {
                "label": result.label, "bandwidth": result.bandwidth, "loss_base2": result.loss_base2,
                "perplexity": result.perplexity, "tokens": int(result.count.sum()), "buckets": result.buckets(edges),
                "position_loss_sum": result.loss_sum.tolist(), "position_count": result.count.tolist(),
            }
            for result in results
        ]
        output.with_suffix(".json").write_text(json.dumps({"edges": list(edges), "checkpoints": records}, indent=1) + "\n")
        plot(results, edges, output.with_suffix(".png"))
    return table


def plot(results: List[PositionScores], edges: Sequence[int], path: Path) -> None:
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    for result in results:
        rows = result.buckets(edges)
        middles = [max((row["first"] + row["last"]) / 2, 0.5) for row in rows]
        axis.plot(middles, [row["loss"] for row in rows], marker="o", label=f"{result.label} (ppl {result.perplexity:.1f})")
    bands = {result.bandwidth for result in results if result.bandwidth}
    for band in sorted(bands):
        axis.axvline(band, color="grey", linestyle="--", linewidth=1)
        axis.text(band, axis.get_ylim()[1], f" w={band}", va="top", color="grey", fontsize=8)
    axis.set_xscale("log")
    axis.set_xlabel("position in the sample (tokens of context before the token)")
    axis.set_ylabel("mean loss (nats)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="fmm-position-loss", description=__doc__.split("\n\n")[0],
        epilog="fairseq-eval-lm options passed on: " + ", ".join(FAIRSEQ_OPTIONS),
    )
    parser.add_argument("data", help="binarised language-modelling data (fairseq-preprocess --only-source)")
    parser.add_argument("--path", action="append", required=True, help="a checkpoint; repeat to overlay several")
    parser.add_argument("--label", action="append", help="a name per --path (default: the checkpoint's folder)")
    parser.add_argument("--tokens-per-sample", type=int, required=True, help="as for fairseq-eval-lm")
    parser.add_argument("--gen-subset", default="test")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--context-window", type=int, default=0)
    parser.add_argument("--model-overrides", default="{}")
    parser.add_argument("--user-dir", default=PLUGIN_DIR, help="default: the installed plugin (%(default)s)")
    parser.add_argument("--band", type=int, help="the band to mark and start the buckets with (default: the checkpoints')")
    parser.add_argument("--output", type=Path, help="write OUTPUT.json and OUTPUT.png")
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args(argv)
    if args.label and len(args.label) != len(args.path):
        parser.error(f"--label: give one per --path ({len(args.path)}), got {len(args.label)}")
    for checkpoint in args.path:
        if not Path(checkpoint).is_file():
            parser.error(f"--path: no such checkpoint: {checkpoint}")
    if args.tokens_per_sample < 1:
        parser.error("--tokens-per-sample must be >= 1")
    options = [
        "--gen-subset", args.gen_subset, "--batch-size", str(args.batch_size), "--context-window", str(args.context_window),
        "--model-overrides", args.model_overrides, "--user-dir", args.user_dir,
    ] + (["--max-tokens", str(args.max_tokens)] if args.max_tokens else [])
    results = []
    for index, checkpoint in enumerate(args.path):
        try:
            result = score_checkpoint(args.data, checkpoint, args.tokens_per_sample, options, args.cpu)
        except (ValueError, FileNotFoundError) as error:
            print(f"error: {checkpoint}: {error}", file=sys.stderr)
            return 1
        if args.label:
            result.label = args.label[index]
        print(f"{result.label}: Loss (base 2): {result.loss_base2:.4f}, Perplexity: {result.perplexity:.2f}", flush=True)
        results.append(result)
    band = args.band or next((result.bandwidth for result in results if result.bandwidth), None)
    print(report(results, bucket_edges(len(results[0].count), band), args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
