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

Longer inputs (``--max-positions`` for RoBERTa, ``--max-target-positions`` / ``--max-source-positions``):
sinusoidal positions need only the option; a learned table grows by Longformer's initialisation, the
trained rows copied again and again after fairseq's padding-offset rows (``--position-init random``
draws them instead). An FMM checkpoint can be extended the same way (its blend is kept)::

    fmm-convert roberta/model.pt roberta-4096/model.pt --fmm-bandwidth 64 --max-positions 4096
"""
import argparse
import os
import sys
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import torch
from fairseq import checkpoint_utils
from fairseq.models import ARCH_MODEL_REGISTRY
from fairseq.models.roberta import RobertaModel
from fairseq.models.transformer import TransformerModel
from fairseq.models.transformer_lm import TransformerLanguageModel
from omegaconf import OmegaConf

from fmm_fairseq.models.fmm_options import FMM_DEFAULTS, add_fmm_args, option_flag

CONVERSION_INIT = {"near_init": 1.0, "far_init": 0.0, "learn_far_weight": True}


@dataclass(frozen=True)
class Family:
    """A softmax model class, the FMM architecture it becomes, and its position tables.

    ``positions``: option (``max_positions``, ...) -> (state-dict key of its table, the option that
    makes the positions learned, whether they are learned when that option is not recorded).
    """

    fmm_arch: str
    prefixes: Tuple[str, ...]
    positions: Dict[str, Tuple[str, str, bool]]


FAMILIES = {
    TransformerLanguageModel: Family(
        "fmmformer_lm", ("fmm_",), {"max_target_positions": ("decoder.embed_positions.weight", "decoder_learned_pos", False)}
    ),
    TransformerModel: Family("fmmformer", ("encoder_fmm_", "decoder_fmm_"), {
        "max_source_positions": ("encoder.embed_positions.weight", "encoder_learned_pos", False),
        "max_target_positions": ("decoder.embed_positions.weight", "decoder_learned_pos", False),
    }),
    RobertaModel: Family(
        "fmm_roberta", ("fmm_",), {"max_positions": ("encoder.sentence_encoder.embed_positions.weight", "encoder_learned_pos", True)}
    ),
}
POSITION_INITS = ("copy", "random")


class ConversionError(ValueError):
    pass


def current_length(get, option: str) -> Optional[int]:
    """The length a checkpoint's model takes by ``option``: a language model recorded without
    max_target_positions was built with its tokens_per_sample (fairseq's transformer_lm)."""
    value = get(option)
    if value is None and option == "max_target_positions":
        value = get("tokens_per_sample")
    return None if value is None else int(value)


def family_of(arch: str) -> Tuple[Family, bool]:
    """The family of a softmax or FMM ``arch``, and whether it is already an FMM model."""
    model_class = ARCH_MODEL_REGISTRY.get(arch)
    for base, family in FAMILIES.items():
        if model_class is not None and issubclass(model_class, base):
            return family, model_class is not base
    supported = ", ".join(sorted(a for a, m in ARCH_MODEL_REGISTRY.items() if m in FAMILIES))
    raise ConversionError(f"cannot convert --arch {arch}; convertible architectures: {supported} (and their FMM models)")


def converted_config(cfg: Dict[str, Any], fmm_options: Dict[str, Dict[str, Any]], positions: Dict[str, int]) -> Dict[str, Any]:
    """The checkpoint's configuration (a plain container) rewritten for the FMM model.

    ``fmm_options``: option prefix ('fmm_', 'encoder_fmm_', ...) -> {FMM option: value} chosen by the
    user. A softmax model's other options keep their defaults and its blend starts at the conversion
    init; an FMM model keeps its own. ``positions``: e.g. {'max_positions': 4096}, never fewer than
    the model has (learned tables are extended by ``extend_positions``).
    """
    model = cfg["model"]
    legacy = isinstance(model, argparse.Namespace)
    get = (lambda key, default=None: getattr(model, key, default)) if legacy else model.get
    arch = get("arch") or get("_name")
    family, already_fmm = family_of(arch)
    unknown = sorted(set(fmm_options) - set(family.prefixes))
    if unknown:
        raise ConversionError(f"{family.fmm_arch} has no options {', '.join(option_flag(p, '*') for p in unknown)}")
    values: Dict[str, Any] = {}
    if not already_fmm:
        values["_name"] = family.fmm_arch
        if legacy:
            values["arch"] = family.fmm_arch
    for prefix in family.prefixes:
        chosen = fmm_options.get(prefix, {})
        if already_fmm:
            blend = sorted(name for name in chosen if name in CONVERSION_INIT)
            if blend:
                raise ConversionError(
                    f"{', '.join(option_flag(prefix, name) for name in blend)}: an FMM model keeps its trained blend weights"
                )
            values.update({prefix + name: value for name, value in chosen.items()})
            continue
        fixed = sorted(name for name in chosen if name in CONVERSION_INIT and chosen[name] != CONVERSION_INIT[name])
        if fixed:
            raise ConversionError(
                f"{', '.join(option_flag(prefix, name) for name in fixed)}: a converted model starts at the conversion "
                "init (near weight 1, far weight 0 and learned)"
            )
        for name, default in FMM_DEFAULTS.items():
            values[prefix + name] = CONVERSION_INIT.get(name, chosen.get(name, default))
    for option, length in positions.items():
        flag = "--" + option.replace("_", "-")
        if option not in family.positions:
            raise ConversionError(f"{flag}: {arch} has no such option (its length options: "
                                  f"{', '.join('--' + o.replace('_', '-') for o in family.positions)})")
        current = current_length(get, option)
        if current is not None and int(length) < current:
            raise ConversionError(f"{flag} {length}: below the model's {current} positions (a conversion only extends them)")
        values[option] = int(length)
        if option == "max_positions":  # RoBERTa builds its encoder with max_source_positions
            values["max_source_positions"] = int(length)
    if legacy:
        model = argparse.Namespace(**{**vars(model), **values})
    else:
        model = {**model, **values}
    return {**cfg, "model": model}


def learned_tables(cfg_model, positions: Dict[str, int]) -> Dict[str, Tuple[str, int, int]]:
    """The learned position tables to extend: state-dict key -> (option, old length, new length)."""
    legacy = isinstance(cfg_model, argparse.Namespace)
    get = (lambda key, default=None: getattr(cfg_model, key, default)) if legacy else cfg_model.get
    family, _ = family_of(get("arch") or get("_name"))
    tables = {}
    for option, length in positions.items():
        if option not in family.positions:
            continue  # refused by converted_config
        key, learned_option, learned_default = family.positions[option]
        learned = get(learned_option)
        if (learned_default if learned is None else learned) and not get("no_token_positional_embeddings", False):
            tables[key] = (option, current_length(get, option), int(length))
    return tables


def extend_positions(table: torch.Tensor, old: int, new: int, init: str = "copy", seed: int = 0) -> torch.Tensor:
    """A learned position table (offset rows, then ``old`` positions) grown to ``new`` positions.

    fairseq's table starts with padding_idx + 1 rows that no position uses; they stay where they are.
    ``copy`` (Longformer's initialisation) fills the new positions by repeating the trained ones
    (old rows 1..old, again and again); ``random`` draws them as fairseq initialises a table,
    normal with std dim^-0.5.
    """
    offset = table.shape[0] - old
    if offset < 1:
        raise ConversionError(f"a position table of {table.shape[0]} rows cannot hold {old} positions")
    added = new - old
    if init == "copy":
        repeats = -(-added // old)
        extra = table[offset:].repeat(repeats, 1)[:added]
    else:
        generator = torch.Generator().manual_seed(seed)
        extra = torch.randn(added, table.shape[1], generator=generator, dtype=table.dtype) * table.shape[1] ** -0.5
    return torch.cat([table, extra.to(table.device)], dim=0)


def convert_checkpoint(
    softmax_path: Path, output_path: Path, fmm_options: Dict[str, Dict[str, Any]],
    positions: Optional[Dict[str, int]] = None, data: Optional[str] = None, position_init: str = "copy",
) -> List[str]:
    """Writes the FMM checkpoint; returns the weights it added: the blend weights filled in (one per
    FMM attention of a softmax model) and the learned position tables extended (``position_init``).

    ``data``: the data directory (dictionaries) to build the model with, when the one recorded in
    the checkpoint is not here.
    """
    state = checkpoint_utils.load_checkpoint_to_cpu(str(softmax_path))  # old 'args' checkpoints upgraded to cfg
    cfg = OmegaConf.to_container(state["cfg"], resolve=True, enum_to_str=True)
    tables = learned_tables(cfg["model"], positions or {})
    cfg = converted_config(cfg, fmm_options, positions or {})
    for key, (option, old, new) in tables.items():
        if key not in state["model"]:
            raise ConversionError(f"--{option.replace('_', '-')}: the checkpoint has no {key} to extend")
        state["model"][key] = extend_positions(state["model"][key], old, new, position_init)
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
    return sorted(set(state["model"]) - softmax_keys) + sorted(tables)


PREFIXES = {"fmm_": "language model / RoBERTa", "encoder_fmm_": "translation encoder", "decoder_fmm_": "translation decoder"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fmm-convert", description="Convert a fairseq softmax checkpoint to FMM attention with the same weights.")
    parser.add_argument("softmax_checkpoint", type=Path)
    parser.add_argument("output_checkpoint", type=Path)
    parser.add_argument("--data", help="data directory with the dictionaries (default: the one in the checkpoint)")
    parser.add_argument("--max-positions", type=int, metavar="N",
                        help="RoBERTa: the longest input of the converted model; its learned positions are extended")
    parser.add_argument("--max-target-positions", type=int, metavar="N",
                        help="language model / translation target: the longest one the converted model accepts, e.g. "
                             "to fine-tune at more tokens per sample than it was trained with (learned positions "
                             "are extended; sinusoidal and no positions need no change)")
    parser.add_argument("--max-source-positions", type=int, metavar="N", help="the same for a translation source")
    parser.add_argument("--position-init", choices=POSITION_INITS, default="copy",
                        help="new rows of a learned position table: 'copy' the trained ones again and again "
                             "(Longformer's initialisation, default) or 'random' (fairseq's initialisation)")
    for prefix, where in PREFIXES.items():
        add_fmm_args(parser, prefix, where)
    args = parser.parse_args(argv)
    if not args.softmax_checkpoint.is_file():
        parser.error(f"no such checkpoint: {args.softmax_checkpoint}")
    if args.output_checkpoint.resolve() == args.softmax_checkpoint.resolve():
        parser.error("the output must not overwrite the softmax checkpoint")
    positions = {}
    for option in ("max_positions", "max_target_positions", "max_source_positions"):
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
        added = convert_checkpoint(args.softmax_checkpoint, args.output_checkpoint, fmm_options, positions, args.data,
                                   args.position_init)
    except (ConversionError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    blend = [key for key in added if key.endswith(("near_weight", "far_weight"))]
    tables = [key for key in added if key not in blend]
    print(f"wrote {args.output_checkpoint}: {len(blend)} blend weights at the conversion init (near 1, far 0, learned)"
          + (f"; position tables extended ({args.position_init}): {', '.join(tables)}" if tables else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
