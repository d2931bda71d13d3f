"""Command-line FMM options, generated from ``fmm_attention``'s ``FMMConfig`` and ``BlendConfig``.

Every field of the two configs that has a command-line name (``fmm_attention.config.setting``) is an
option here, with the field's default, help, type, choices and check: a new option is one field
there. Options are read with a prefix (``fmm_`` for the language model and RoBERTa, ``encoder_fmm_``
/ ``decoder_fmm_`` for translation) so that an encoder and a decoder can carry separate settings.
Invalid values raise ValueError naming the command-line option when a stack of layers is built,
i.e. before any training step.
"""
import argparse
from dataclasses import field
from typing import Any, Dict, List, Optional, Tuple

from fairseq.dataclass import ChoiceEnum
from fairseq.utils import safe_getattr

from fmm_attention import BlendConfig, FMMConfig, FMMOptionError
from fmm_attention.config import Setting, settings_of
from fmm_attention.fmm import check_backend

# option name -> (config class, field, its Setting), in declaration order
OPTIONS: Dict[str, Tuple[type, str, Setting]] = {
    described.option: (config_class, name, described)
    for config_class in (FMMConfig, BlendConfig)
    for name, described in settings_of(config_class).items()
    if described.option is not None
}
# option name -> its default as the command line writes it
FMM_DEFAULTS: Dict[str, Any] = {
    option: described.to_text(getattr(config_class(), name)) for option, (config_class, name, described) in OPTIONS.items()
}


def option_flag(prefix: str, name: str) -> str:
    """('fmm_', 'chunk_size') -> '--fmm-chunk-size'."""
    return "--" + (prefix + name).replace("_", "-")


def add_fmm_args(parser: argparse.ArgumentParser, prefix: str, where: str) -> None:
    """argparse options ``--{prefix}...`` for one stack of layers (``where``: e.g. 'encoder')."""
    for option, (_, _, described) in OPTIONS.items():
        help_text = f"{where}: {described.help}"
        if described.kind == "flag":
            parser.add_argument(option_flag(prefix, option), action="store_true", help=help_text)
        else:
            parser.add_argument(
                option_flag(prefix, option), type={"int": int, "float": float}.get(described.kind),
                choices=tuple(described.choices) if described.choices else None, metavar=described.metavar, help=help_text,
            )


def dataclass_fields(prefix: str) -> List[Tuple[str, Any, Any]]:
    """The FMM options as fields of a fairseq model dataclass (``make_dataclass``), for models
    configured by dataclass (the language model) rather than by ``add_args``. Numbers are Optional:
    checkpoints written when a default depended on other options hold None (the default now)."""
    def field_type(option: str, described: Setting):
        if described.kind == "choice":
            return ChoiceEnum(tuple(described.choices))
        if described.kind in ("int", "float"):
            return Optional[int if described.kind == "int" else float]
        return bool if described.kind == "flag" else str

    return [
        (prefix + option, field_type(option, described), field(default=FMM_DEFAULTS[option], metadata={"help": described.help}))
        for option, (_, _, described) in OPTIONS.items()
    ]


def set_fmm_defaults(args, prefix: str = "fmm_", **defaults) -> None:
    """Architecture helper: fill every FMM option that is not set yet with its default (FMM_DEFAULTS,
    or ``defaults`` where a model measured better with another, e.g. ``near_init=0.0``)."""
    for name, default in {**FMM_DEFAULTS, **defaults}.items():
        setattr(args, prefix + name, safe_getattr(args, prefix + name, default))


def fmm_attention_options(args, prefix: str, causal: bool) -> Dict[str, Any]:
    """The keyword arguments ``config`` (FMMConfig) and ``blend`` (BlendConfig) of one stack's
    FMM layers, read from ``args`` under ``prefix``; errors name the command-line option."""
    values: Dict[type, Dict[str, Any]] = {FMMConfig: {"causal": causal}, BlendConfig: {}}
    for option, (config_class, name, described) in OPTIONS.items():
        text = safe_getattr(args, prefix + option, None)
        if text is None:  # unset, or None in a checkpoint written when the default depended on other options
            text = FMM_DEFAULTS[option]
        values[config_class][name] = described.from_text(text, option_flag(prefix, option))
    try:
        config = FMMConfig(**values[FMMConfig])
        check_backend(config)
        blend = BlendConfig(**values[BlendConfig])
    except FMMOptionError as error:
        option = next((option for option, (_, name, _) in OPTIONS.items() if name == error.option), error.option)
        raise ValueError(f"invalid FMM option {option_flag(prefix, option)}: {error.message}") from None
    return {"config": config, "blend": blend}
