#!/usr/bin/env python
"""Convert a fairseq softmax checkpoint to FMM attention with the same weights.

    python scripts/convert_to_fmm.py checkpoints/lm/checkpoint_best.pt checkpoints/fmm/converted.pt \
        --fmm-bandwidth 64 [--max-target-positions 2048] [--data data-bin/linux-doc]

transformer_lm -> fmmformer_lm, transformer -> fmmformer (options --encoder-fmm-* / --decoder-fmm-*),
roberta -> fmm_roberta. Every weight is kept (fairseq's legacy in_proj_weight is split into q/k/v);
each FMM self-attention starts at the conversion init: near weight 1, far weight 0 and learned, so
the converted model is the softmax model restricted to the band (and equal to it when the band
covers the sequence). The output is an ordinary fairseq checkpoint: fairseq-eval-lm,
fairseq-generate, fairseq-interactive, the hub and ``fairseq-train --finetune-from-model`` read it
with ``--user-dir fmm_fairseq``.
"""
import argparse
import sys
from pathlib import Path

from fmm_fairseq.conversion import ConversionError, convert_checkpoint
from fmm_fairseq.models.fmm_options import FMM_DEFAULTS, add_fmm_args

PREFIXES = {"fmm_": "language model / RoBERTa", "encoder_fmm_": "translation encoder", "decoder_fmm_": "translation decoder"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("softmax_checkpoint", type=Path)
    parser.add_argument("output_checkpoint", type=Path)
    parser.add_argument("--data", help="data directory with the dictionaries (default: the one in the checkpoint)")
    parser.add_argument("--max-target-positions", type=int, metavar="N",
                        help="longest target the converted model accepts (sinusoidal positions only), e.g. to "
                             "evaluate or fine-tune at more tokens per sample than it was trained with")
    parser.add_argument("--max-source-positions", type=int, metavar="N", help="the same for a translation source")
    for prefix, where in PREFIXES.items():
        add_fmm_args(parser, prefix, where)
    args = parser.parse_args(argv)
    if not args.softmax_checkpoint.is_file():
        parser.error(f"no such checkpoint: {args.softmax_checkpoint}")
    if args.output_checkpoint.resolve() == args.softmax_checkpoint.resolve():
        parser.error("the output must not overwrite the softmax checkpoint")
    positions = {}
    for option in ("max_target_positions", "max_source_positions"):
        value = getattr(args, option)
        if value is not None:
            if value < 1:
                parser.error(f"--{option.replace('_', '-')} must be >= 1")
            positions[option] = value
    fmm_options = {}
    for prefix in PREFIXES:
        chosen = {name: getattr(args, prefix + name) for name in FMM_DEFAULTS}
        chosen = {name: value for name, value in chosen.items() if value is not None and value is not False}
        if chosen:
            fmm_options[prefix] = chosen
    try:
        filled = convert_checkpoint(args.softmax_checkpoint, args.output_checkpoint, fmm_options, positions, args.data)
    except (ConversionError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.output_checkpoint}: {len(filled)} blend weights at the conversion init (near 1, far 0, learned)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
