"""Command-line FMM options -> keyword arguments of ``FMMMultiheadAttention``.

Options are read with a prefix (``fmm_`` for the language model) so that an encoder and a decoder
can carry separate settings. Invalid values raise ValueError naming the command-line option, when
the model is built, i.e. before any training step.
"""
import argparse
from typing import Any, Dict, Tuple

from fairseq.utils import safe_getattr

from fmm_fairseq.attention import FMMConfig, FMMOptionError
from fmm_fairseq.attention.fmm import BACKENDS

FMM_DEFAULTS: Dict[str, Any] = {
    "bandwidth": 20,
    "feature_maps": "elu,elu_flip",
    "blend": "channel",
    "near_init": 1.0,
    "far_init": 1.0,
    "learn_far_weight": False,
    "chunk_size": 64,
    "feature_norm": "sum",
    "backend": "auto",
}


FMM_HELP: Dict[str, str] = {
    "bandwidth": "near field bandwidth w: softmax attention over the w-1 tokens before each token and itself "
    "(bidirectional: the w-1 on each side); 0 switches the near field off",
    "feature_maps": "far field: comma-separated feature maps among elu, elu_flip, tanh, relu (their linear "
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
}
BLEND_CHOICES = ("channel", "head")
FEATURE_NORM_CHOICES = ("sum", "none")
BACKEND_CHOICES = BACKENDS


def add_fmm_args(parser: argparse.ArgumentParser, prefix: str, where: str) -> None:
    """argparse options ``--{prefix}...`` for one stack of layers (``where``: e.g. 'encoder')."""
    def flag(name):
        return option_flag(prefix, name)

    parser.add_argument(flag("bandwidth"), type=int, metavar="W", help=f"{where}: {FMM_HELP['bandwidth']}")
    parser.add_argument(flag("feature_maps"), metavar="MAPS", help=f"{where}: {FMM_HELP['feature_maps']}")
    parser.add_argument(flag("blend"), choices=BLEND_CHOICES, help=f"{where}: {FMM_HELP['blend']}")
    parser.add_argument(flag("near_init"), type=float, metavar="X", help=f"{where}: {FMM_HELP['near_init']}")
    parser.add_argument(flag("far_init"), type=float, metavar="X", help=f"{where}: {FMM_HELP['far_init']}")
    parser.add_argument(flag("learn_far_weight"), action="store_true", help=f"{where}: {FMM_HELP['learn_far_weight']}")
    parser.add_argument(flag("chunk_size"), type=int, metavar="C", help=f"{where}: {FMM_HELP['chunk_size']}")
    parser.add_argument(flag("feature_norm"), choices=FEATURE_NORM_CHOICES, help=f"{where}: {FMM_HELP['feature_norm']}")
    parser.add_argument(flag("backend"), choices=BACKEND_CHOICES, help=f"{where}: {FMM_HELP['backend']}")


def parse_feature_maps(text: str) -> Tuple[str, ...]:
    """'elu,elu_flip' -> ('elu', 'elu_flip'); 'none' or '' -> () (far field off)."""
    names = tuple(name.strip() for name in str(text).split(",") if name.strip())
    return () if names in ((), ("none",)) else names


def option_flag(prefix: str, name: str) -> str:
    """('fmm_', 'chunk_size') -> '--fmm-chunk-size'."""
    return "--" + (prefix + name).replace("_", "-")


def set_fmm_defaults(args, prefix: str = "fmm_", **defaults) -> None:
    """Architecture helper: fill every FMM option that is not set yet with its default (FMM_DEFAULTS,
    or ``defaults`` where a model measured better with another, e.g. ``near_init=0.0``)."""
    for name, default in {**FMM_DEFAULTS, **defaults}.items():
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
            backend=value["backend"],
        )
    except FMMOptionError as error:
        raise ValueError(f"invalid FMM option {option_flag(prefix, error.option)}: {error.message}") from None
    if value["blend"] not in BLEND_CHOICES:
        raise ValueError(f"invalid FMM option {option_flag(prefix, 'blend')}: expected channel or head, got {value['blend']!r}")
    if value["feature_norm"] not in FEATURE_NORM_CHOICES:
        raise ValueError(f"invalid FMM option {option_flag(prefix, 'feature_norm')}: expected sum or none, got {value['feature_norm']!r}")
    return {
        "fmm": config,
        "blend": value["blend"],
        # None: a checkpoint written when the default depended on the far field; its weights are loaded anyway
        "near_init": FMM_DEFAULTS["near_init"] if value["near_init"] is None else float(value["near_init"]),
        "far_init": float(value["far_init"]),
        "learn_far_weight": bool(value["learn_far_weight"]),
    }
