"""Softmax fairseq checkpoints -> FMM checkpoints, with the same weights (``fmm-convert``).

    fmm-convert checkpoints/lm/checkpoint_best.pt checkpoints/fmm/converted.pt \
        --fmm-bandwidth 64 [--max-target-positions 2048] [--data data-bin/linux-doc]

``transformer_lm`` -> ``fmmformer_lm``, ``transformer`` -> ``fmmformer``, ``roberta`` ->
``fmm_roberta`` (any architecture of those models). Only the configuration is rewritten here:
the architecture, the FMM options, and the conversion init (near weight 1, far weight 0 and
learned). fairseq then loads the softmax weights into the FMM model with a strict load, during
which ``FMMMultiheadAttention.upgrade_state_dict_named`` fills in the blend weights — the same code
path that lets ``fairseq-train --finetune-from-model SOFTMAX.pt`` start from a softmax checkpoint.
With a band covering the sequence the converted model computes exactly what the softmax one did.
"""
import argparse
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from fairseq import checkpoint_utils
from fairseq.models import ARCH_MODEL_REGISTRY
from fairseq.models.roberta import RobertaModel
from fairseq.models.transformer import TransformerModel
from fairseq.models.transformer_lm import TransformerLanguageModel
from omegaconf import OmegaConf

from fmm_fairseq.models.fmm_options import FMM_DEFAULTS, add_fmm_args, option_flag

CONVERSION_INIT = {"near_init": 1.0, "far_init": 0.0, "learn_far_weight": True}
# softmax model class -> FMM architecture, its FMM option prefixes, its sinusoidal-position options
TARGETS = {
    TransformerLanguageModel: ("fmmformer_lm", ["fmm_"], {"max_target_positions": "decoder_learned_pos"}),
    TransformerModel: (
        "fmmformer", ["encoder_fmm_", "decoder_fmm_"],
        {"max_source_positions": "encoder_learned_pos", "max_target_positions": "decoder_learned_pos"},
    ),
    RobertaModel: ("fmm_roberta", ["fmm_"], {}),
}


class ConversionError(ValueError):
    pass


def target_of(arch: str):
    """(FMM architecture, option prefixes, position options) for a softmax ``arch``."""
    model_class = ARCH_MODEL_REGISTRY.get(arch)
    if model_class not in TARGETS:
        supported = ", ".join(sorted(a for a, m in ARCH_MODEL_REGISTRY.items() if m in TARGETS))
        hint = " (already an FMM model)" if model_class is not None and issubclass(model_class, tuple(TARGETS)) else ""
        raise ConversionError(f"cannot convert --arch {arch}{hint}; convertible architectures: {supported}")
    return TARGETS[model_class]


def converted_config(cfg: Dict[str, Any], fmm_options: Dict[str, Dict[str, Any]], positions: Dict[str, int]) -> Dict[str, Any]:
    """The checkpoint's configuration (a plain container) rewritten for the FMM model.

    ``fmm_options``: option prefix ('fmm_', 'encoder_fmm_', ...) -> {FMM option: value} chosen by the
    user; the rest keep their defaults, and the blend always starts at the conversion init.
    ``positions``: e.g. {'max_target_positions': 2048}, allowed for sinusoidal positions only.
    """
    model = cfg["model"]
    legacy = isinstance(model, argparse.Namespace)
    get = (lambda key, default=None: getattr(model, key, default)) if legacy else model.get
    arch = get("arch") or get("_name")
    fmm_arch, prefixes, position_options = target_of(arch)
    unknown = sorted(set(fmm_options) - set(prefixes))
    if unknown:
        raise ConversionError(f"{fmm_arch} has no options {', '.join(option_flag(p, '*') for p in unknown)}")
    values: Dict[str, Any] = {"_name": fmm_arch}
    if legacy:
        values["arch"] = fmm_arch
    for prefix in prefixes:
        chosen = fmm_options.get(prefix, {})
        fixed = sorted(name for name in chosen if name in CONVERSION_INIT and chosen[name] != CONVERSION_INIT[name])
        if fixed:
            raise ConversionError(
                f"{', '.join(option_flag(prefix, name) for name in fixed)}: a converted model starts at the conversion "
                "init (near weight 1, far weight 0 and learned)"
            )
        for name, default in FMM_DEFAULTS.items():
            values[prefix + name] = CONVERSION_INIT.get(name, chosen.get(name, default))
    for option, length in positions.items():
        if option not in position_options:
            raise ConversionError(f"--{option.replace('_', '-')}: {arch} has learned positions of a fixed size")
        if get(position_options[option], False):
            raise ConversionError(
                f"--{option.replace('_', '-')}: this {arch} was trained with --{position_options[option].replace('_', '-')} "
                f"(learned positions, {get(option)} of them); only sinusoidal positions extend"
            )
        values[option] = int(length)
    if legacy:
        model = argparse.Namespace(**{**vars(model), **values})
    else:
        model = {**model, **values}
    return {**cfg, "model": model}


def convert_checkpoint(
    softmax_path: Path, output_path: Path, fmm_options: Dict[str, Dict[str, Any]],
    positions: Optional[Dict[str, int]] = None, data: Optional[str] = None,
) -> List[str]:
    """Writes the FMM checkpoint; returns the blend weights filled in (one per FMM attention).

    ``data``: the data directory (dictionaries) to build the model with, when the one recorded in
    the checkpoint is not here.
    """
    state = checkpoint_utils.load_checkpoint_to_cpu(str(softmax_path))  # old 'args' checkpoints upgraded to cfg
    cfg = OmegaConf.to_container(state["cfg"], resolve=True, enum_to_str=True)
    cfg = converted_config(cfg, fmm_options, positions or {})
    if data is not None:
        cfg["task"]["data"] = str(data)
    softmax_keys = set(state["model"])
    state.update(cfg=cfg, args=None, last_optimizer_state=None)
    # fairseq builds the FMM model from the new configuration and loads the softmax weights strictly;
    # the attention layers' upgrade_state_dict_named adds the blend weights at the conversion init.
    staging = output_path.with_name(output_path.name + ".partial")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.save(state, staging)
        try:
            models, _, _ = checkpoint_utils.load_model_ensemble_and_task([str(staging)])
        except FileNotFoundError as error:
            raise ConversionError(f"{error} (the checkpoint's data directory; pass --data DIR)") from None
        state["model"] = models[0].state_dict()
        checkpoint_utils.torch_persistent_save(state, str(staging))
        os.replace(staging, output_path)
    finally:
        staging.unlink(missing_ok=True)
    return sorted(set(state["model"]) - softmax_keys)


PREFIXES = {"fmm_": "language model / RoBERTa", "encoder_fmm_": "translation encoder", "decoder_fmm_": "translation decoder"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fmm-convert", description="Convert a fairseq softmax checkpoint to FMM attention with the same weights.")
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
