"""Command-line FMM options -> keyword arguments of ``FMMMultiheadAttention``.

Options are read with a prefix (``fmm_`` for the language model) so that an encoder and a decoder
can carry separate settings. Invalid values raise ValueError naming the command-line option, when
the model is built, i.e. before any training step.
"""
from typing import Any, Dict, Tuple

from fairseq.utils import safe_getattr

from fmm_fairseq.attention import FMMConfig, FMMOptionError

FMM_DEFAULTS: Dict[str, Any] = {
    "bandwidth": 20,
    "feature_maps": "elu,elu_flip",
    "blend": "channel",
    "near_init": None,
    "far_init": 1.0,
    "learn_far_weight": False,
    "chunk_size": 64,
    "feature_norm": "sum",
}


def parse_feature_maps(text: str) -> Tuple[str, ...]:
    """'elu,elu_flip' -> ('elu', 'elu_flip'); 'none' or '' -> () (far field off)."""
    names = tuple(name.strip() for name in str(text).split(",") if name.strip())
    return () if names in ((), ("none",)) else names


def option_flag(prefix: str, name: str) -> str:
    """('fmm_', 'chunk_size') -> '--fmm-chunk-size'."""
    return "--" + (prefix + name).replace("_", "-")


def set_fmm_defaults(args, prefix: str = "fmm_") -> None:
    """Architecture helper: fill every FMM option that is not set yet with its default."""
    for name, default in FMM_DEFAULTS.items():
        setattr(args, prefix + name, safe_getattr(args, prefix + name, default))


def fmm_attention_options(args, prefix: str, causal: bool) -> Dict[str, Any]:
    """Reads and validates the FMM options under ``prefix``; errors name the option."""
    value = {name: safe_getattr(args, prefix + name, default) for name, default in FMM_DEFAULTS.items()}
    try:
        config = FMMConfig(
            bandwidth=int(value["bandwidth"]),
            feature_maps=parse_feature_maps(value["feature_maps"]),
            causal=causal,
            chunk_size=int(value["chunk_size"]),
            normalize_features=value["feature_norm"] == "sum",
        )
    except FMMOptionError as error:
        raise ValueError(f"invalid FMM option {option_flag(prefix, error.option)}: {error.message}") from None
    if value["blend"] not in ("channel", "head"):
        raise ValueError(f"invalid FMM option {option_flag(prefix, 'blend')}: expected channel or head, got {value['blend']!r}")
    if value["feature_norm"] not in ("sum", "none"):
        raise ValueError(f"invalid FMM option {option_flag(prefix, 'feature_norm')}: expected sum or none, got {value['feature_norm']!r}")
    return {
        "fmm": config,
        "blend": value["blend"],
        "near_init": value["near_init"],
        "far_init": float(value["far_init"]),
        "learn_far_weight": bool(value["learn_far_weight"]),
    }
