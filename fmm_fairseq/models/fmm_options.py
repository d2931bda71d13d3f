"""Command-line FMM options <-> ``fmm_attention``'s ``FMMConfig`` and ``BlendConfig``.

Options are read with a prefix (``fmm_`` for the language model and RoBERTa, ``encoder_fmm_`` /
``decoder_fmm_`` for translation) so that an encoder and a decoder can carry separate settings.
Their defaults are those of ``FMMConfig`` and ``BlendConfig``. Invalid values raise ValueError
naming the command-line option when a stack of layers is built, i.e. before any training step.
"""
import argparse
from dataclasses import field
from typing import Any, Dict, List, Optional, Tuple

from fairseq.dataclass import ChoiceEnum
from fairseq.utils import safe_getattr

from fmm_attention import FEATURE_MAPS, BlendConfig, FMMConfig, FMMOptionError
from fmm_attention.config import BACKENDS, BLEND_GRANULARITIES

FEATURE_NORMS = ("sum", "none")
_ATTENTION, _BLEND = FMMConfig(), BlendConfig()
# option name -> default; each from the field of FMMConfig / BlendConfig it sets
FMM_DEFAULTS: Dict[str, Any] = {
    "bandwidth": _ATTENTION.bandwidth,
    "feature_maps": ",".join(_ATTENTION.feature_maps),
    "blend": _BLEND.granularity,
    "near_init": _BLEND.near_init,
    "far_init": _BLEND.far_init,
    "learn_far_weight": _BLEND.learn_far,
    "chunk_size": _ATTENTION.chunk_size,
    "feature_norm": "sum" if _ATTENTION.normalize_features else "none",
    "backend": _ATTENTION.backend,
    "far_outside_band": _ATTENTION.far_outside_band,
    "far_horizons": ",".join(f"{h:g}" for h in _ATTENTION.far_horizons) or "none",
    "near_alibi": _ATTENTION.near_alibi,
}
# a config field -> the option that sets it, where the names differ
_OPTION_OF_FIELD = {"granularity": "blend", "learn_far": "learn_far_weight", "normalize_features": "feature_norm"}
# option -> argparse choices (BLEND/BACKEND/FEATURE_NORM choices, one list each)
FMM_CHOICES: Dict[str, Tuple[str, ...]] = {"blend": BLEND_GRANULARITIES, "feature_norm": FEATURE_NORMS, "backend": BACKENDS}

FMM_HELP: Dict[str, str] = {
    "bandwidth": "near field bandwidth w: softmax attention over the w-1 tokens before each token and itself "
    "(bidirectional: the w-1 on each side); 0 switches the near field off",
    "feature_maps": f"far field: comma-separated feature maps among {', '.join(sorted(FEATURE_MAPS))} (their linear "
    "attentions are averaged); 'none' switches the far field off",
    "blend": "out = near_weight * near + far_weight * far, with one learned near weight per channel or per head",
    "near_init": "initial near weight (default 1 for the language model and RoBERTa: training starts from band "
    "+ far field, measured better in docs/seeds.md; 0 for translation, measured better there, see the README; "
    "0 is the FMMformer paper's LM recipe, training starting as linear attention)",
    "far_init": "initial (or fixed) far weight",
    "learn_far_weight": "learn the far weight too (default: fixed at its initial value)",
    "chunk_size": "sequence chunk length of the O(N) band and causal linear attention (a speed knob; results "
    "do not depend on it)",
    "feature_norm": "'sum': rescale phi(q), phi(k) to sum to 1 over features before linear attention (the "
    "paper's LM setting)",
    "backend": "who computes full-sequence attention: 'triton' (GPU kernels), 'torch', or 'auto' (Triton for "
    "CUDA fp16/bf16/fp32 tensors when Triton is installed, else torch); decoding steps always use torch",
    "far_outside_band": "causal layers: the far field sees only the keys outside the band (the fast multipole "
    "method's split: near pairs exact, far pairs approximated), not every earlier key (the paper)",
    "far_horizons": "causal layers: the far field forgets the past at a rate per head, S = g S + phi(k) v^T with "
    "g = 1 - 1/horizon; 'H' (tokens, every head) or 'FIRST,LAST' (heads spaced geometrically), 'none': no decay",
    "near_alibi": "a relative position bias inside the band, -m_h |i - j| with ALiBi's slopes: word order for "
    "models without absolute positions (--no-token-positional-embeddings), at any length",
}
_TYPES = {"bandwidth": int, "near_init": float, "far_init": float, "chunk_size": int}
_METAVARS = {"bandwidth": "W", "feature_maps": "MAPS", "near_init": "X", "far_init": "X", "chunk_size": "C", "far_horizons": "H"}
_FLAGS = ("learn_far_weight", "far_outside_band", "near_alibi")  # store_true options


def add_fmm_args(parser: argparse.ArgumentParser, prefix: str, where: str) -> None:
    """argparse options ``--{prefix}...`` for one stack of layers (``where``: e.g. 'encoder')."""
    for name in FMM_DEFAULTS:
        help_text = f"{where}: {FMM_HELP[name]}"
        if name in _FLAGS:
            parser.add_argument(option_flag(prefix, name), action="store_true", help=help_text)
        else:
            parser.add_argument(
                option_flag(prefix, name), type=_TYPES.get(name), choices=FMM_CHOICES.get(name),
                metavar=_METAVARS.get(name), help=help_text,
            )


def dataclass_fields(prefix: str) -> List[Tuple[str, Any, Any]]:
    """The FMM options as fields of a fairseq model dataclass (``make_dataclass``), for models
    configured by dataclass (the language model) rather than by ``add_args``."""
    def field_type(name):
        if name in FMM_CHOICES:
            return ChoiceEnum(FMM_CHOICES[name])
        if name == "near_init":
            return Optional[float]  # None in checkpoints written when the default depended on the far field
        return type(FMM_DEFAULTS[name])

    return [
        (prefix + name, field_type(name), field(default=default, metadata={"help": FMM_HELP[name]}))
        for name, default in FMM_DEFAULTS.items()
    ]


def parse_feature_maps(text: str) -> Tuple[str, ...]:
    """'elu,elu_flip' -> ('elu', 'elu_flip'); 'none' or '' -> () (far field off)."""
    names = tuple(name.strip() for name in str(text).split(",") if name.strip())
    return () if names in ((), ("none",)) else names


def parse_horizons(text: str, flag: str) -> Tuple[float, ...]:
    """'32,1024' -> (32.0, 1024.0); 'none' or '' -> () (no decay); anything else names ``flag``."""
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    if parts in ([], ["none"]):
        return ()
    try:
        return tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(f"invalid FMM option {flag}: expected 'none', H or FIRST,LAST (tokens), got {text!r}") from None


def option_flag(prefix: str, name: str) -> str:
    """('fmm_', 'chunk_size') -> '--fmm-chunk-size'."""
    return "--" + (prefix + name).replace("_", "-")


def set_fmm_defaults(args, prefix: str = "fmm_", **defaults) -> None:
    """Architecture helper: fill every FMM option that is not set yet with its default (FMM_DEFAULTS,
    or ``defaults`` where a model measured better with another, e.g. ``near_init=0.0``)."""
    for name, default in {**FMM_DEFAULTS, **defaults}.items():
        setattr(args, prefix + name, safe_getattr(args, prefix + name, default))


def fmm_attention_options(args, prefix: str, causal: bool) -> Dict[str, Any]:
    """The keyword arguments ``config`` (FMMConfig) and ``blend`` (BlendConfig) of one stack's
    FMM layers, read from ``args`` under ``prefix``; errors name the command-line option."""
    value = {name: safe_getattr(args, prefix + name, default) for name, default in FMM_DEFAULTS.items()}
    if value["feature_norm"] not in FEATURE_NORMS:
        raise ValueError(
            f"invalid FMM option {option_flag(prefix, 'feature_norm')}: expected sum or none, got {value['feature_norm']!r}"
        )
    try:
        config = FMMConfig(
            bandwidth=int(value["bandwidth"]),
            feature_maps=parse_feature_maps(value["feature_maps"]),
            causal=causal,
            chunk_size=int(value["chunk_size"]),
            normalize_features=value["feature_norm"] == "sum",
            backend=value["backend"],
            far_outside_band=bool(value["far_outside_band"]),
            far_horizons=parse_horizons(value["far_horizons"], option_flag(prefix, "far_horizons")),
            near_alibi=bool(value["near_alibi"]),
        )
        blend = BlendConfig(
            granularity=value["blend"],
            # None: a checkpoint written when the default depended on the far field; its weights are loaded anyway
            near_init=FMM_DEFAULTS["near_init"] if value["near_init"] is None else float(value["near_init"]),
            far_init=float(value["far_init"]),
            learn_far=bool(value["learn_far_weight"]),
        )
    except FMMOptionError as error:
        option = _OPTION_OF_FIELD.get(error.option, error.option)
        raise ValueError(f"invalid FMM option {option_flag(prefix, option)}: {error.message}") from None
    return {"config": config, "blend": blend}
