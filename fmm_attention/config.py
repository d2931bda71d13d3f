"""What an FMM attention layer computes: plain data, each setting declared once.

``FMMConfig`` holds what the attention functions need (the band, the far field's maps, causality,
the far field's variants, the backend's name); ``BlendConfig`` how ``FMMAttention`` blends the two
fields with learned weights. Every field is declared with ``setting``: its default, its help, its
check and, where it has one, its command-line name and text form (the plugin builds its options
from these, ``fmm_fairseq/models/fmm_options.py``): a new option is one field here. Bad values
raise ``FMMOptionError`` naming the field, when the config is built. Which code computes a config
on which tensors (torch or Triton) is decided by ``fmm.py``, not here.
"""
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from .feature_maps import FEATURE_MAPS, feature_count, resolve_feature_maps

BACKENDS = ("auto", "torch", "compiled", "triton")
BLEND_GRANULARITIES = ("channel", "head")
DEFAULT_EPS = 1e-6


class FMMOptionError(ValueError):
    """An invalid FMM setting; ``option`` names the offending field."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


@dataclass(frozen=True)
class Setting:
    """How one config field is described, checked and written on a command line.

    help:    what it does (the command-line help)
    option:  its command-line name without prefix (``--fmm-<option>``); None: not on the command line
    kind:    its command-line form: 'int', 'float', 'flag' (store_true), 'choice' (``choices``: text ->
             value) or 'list' (comma-separated text, 'none' for the empty tuple; items by ``item``)
    check:   value -> an error message, or None when the value is fine
    """

    help: str
    option: Optional[str]
    kind: str
    metavar: Optional[str] = None
    choices: Optional[Dict[str, Any]] = None
    item: Callable[[str], Any] = str
    check: Optional[Callable[[Any], Optional[str]]] = None

    def to_text(self, value: Any) -> Any:
        """A value as the command line writes it ('elu,elu_flip', 'none', 'sum'; numbers and flags as they are)."""
        if self.kind == "list":
            return ",".join(f"{item:g}" if isinstance(item, float) else str(item) for item in value) or "none"
        if self.kind == "choice":
            return next(text for text, choice in self.choices.items() if choice == value)
        return value

    def from_text(self, text: Any, flag: str) -> Any:
        """The command line's value as the field's; a bad one raises ValueError naming ``flag``."""
        try:
            if self.kind == "list":
                items = tuple(part.strip() for part in str(text).split(",") if part.strip())
                return () if items in ((), ("none",)) else tuple(self.item(part) for part in items)
            if self.kind == "choice":
                return self.choices[text]
            return {"int": int, "float": float, "flag": bool}[self.kind](text)
        except (KeyError, ValueError):
            expected = {"choice": f"one of {', '.join(self.choices or ())}", "int": "an integer", "float": "a number",
                        "list": "comma-separated values or 'none'", "flag": "true or false"}[self.kind]
            raise ValueError(f"invalid FMM option {flag}: expected {expected}, got {text!r}") from None


def setting(default: Any, help: str, kind: str, option: Optional[str] = "", **described) -> Any:
    """A config field with its ``Setting`` (``option`` '' = the field's own name, None = none)."""
    return field(default=default, metadata={"setting": Setting(help, option, kind, **described)})


def settings_of(config_class) -> Dict[str, Setting]:
    """field name -> its Setting, in declaration order (option '' resolved to the field's name)."""
    described = {}
    for config_field in fields(config_class):
        described_field = config_field.metadata["setting"]
        if described_field.option == "":
            described_field = Setting(**{**described_field.__dict__, "option": config_field.name})
        described[config_field.name] = described_field
    return described


def _at_least(minimum: float, meaning: str = "") -> Callable[[Any], Optional[str]]:
    return lambda value: None if value >= minimum else f"must be >= {minimum}{meaning}, got {value}"


def _known_maps(names) -> Optional[str]:
    try:
        feature_count(resolve_feature_maps(names), 1)
    except ValueError as error:
        return str(error)
    return None


def _horizons(horizons) -> Optional[str]:
    if len(horizons) > 2 or any(not horizon > 1 for horizon in horizons):
        return f"expected one or two horizons > 1 (tokens), got {horizons}"
    return None


def _check_fields(config) -> None:
    for name, described in settings_of(type(config)).items():
        message = described.check(getattr(config, name)) if described.check else None
        if message:
            raise FMMOptionError(name, message)


@dataclass(frozen=True)
class FMMConfig:
    """What ``fmm_attention`` computes (everything but the blend weights); the help of each field
    says what it does."""

    bandwidth: int = setting(
        20, "near field bandwidth w: softmax attention over the w-1 tokens before each token and itself "
        "(bidirectional: the w-1 on each side); 0 switches the near field off", "int", metavar="W",
        check=_at_least(0, " (0 switches the near field off)"))
    feature_maps: Tuple[str, ...] = setting(
        ("elu", "elu_flip"), f"far field: comma-separated feature maps among {', '.join(sorted(FEATURE_MAPS))} "
        "(their linear attentions are averaged); 'none' switches the far field off", "list", metavar="MAPS",
        check=_known_maps)
    causal: bool = setting(True, "decoder (True) or encoder (False) attention; set by the model", "flag", option=None)
    chunk_size: int = setting(
        64, "sequence chunk length of the O(N) band and causal linear attention (a speed knob; results do not "
        "depend on it)", "int", metavar="C", check=_at_least(1))
    normalize_features: bool = setting(
        True, "'sum': rescale phi(q), phi(k) to sum to 1 over features before linear attention (the paper's LM "
        "setting; 'taylor', whose features are signed, needs 'none')", "choice", option="feature_norm",
        choices={"sum": True, "none": False})
    eps: float = setting(DEFAULT_EPS, "added to the far field's normaliser", "float", option=None,
                         check=lambda eps: None if eps > 0 else f"must be > 0, got {eps}")
    backend: str = setting(
        "auto", "who computes the attention: 'torch' (pure torch, any device), 'compiled' (the C++ CPU kernels "
        "built at install: band, causal far field, decoding step; fp32/fp64 CPU tensors), 'triton' (GPU kernels, whole sequences), or "
        "'auto' (Triton for CUDA fp16/bf16/fp32 tensors when Triton is installed, the compiled kernels for "
        "CPU tensors when built, else torch)", "choice", choices={name: name for name in BACKENDS},
        check=lambda name: None if name in BACKENDS else f"unknown backend {name!r}; choices: {', '.join(BACKENDS)}")
    far_outside_band: bool = setting(
        False, "causal layers: the far field sees only the keys outside the band (the fast multipole method's "
        "split: near pairs exact, far pairs approximated), not every earlier key (the paper)", "flag")
    far_horizons: Tuple[float, ...] = setting(
        (), "causal layers: the far field forgets the past at a rate per head, S = g S + phi(k) v^T with "
        "g = 1 - 1/horizon; 'H' (tokens, every head) or 'FIRST,LAST' (heads spaced geometrically), 'none': no "
        "decay", "list", metavar="H", item=float, check=_horizons)
    near_alibi: bool = setting(
        False, "a relative position bias inside the band, -m_h |i - j| with ALiBi's slopes: word order for "
        "models without absolute positions (--no-token-positional-embeddings), at any length", "flag")
    far_feature_dim: int = setting(
        0, "far field: D > 0 learns per head a (head_dim x D) projection of q and k for the far field only, "
        "before its feature maps (Based: 16 with 'taylor', 153 features; Hedgehog: 'softmax,softmax_flip'); "
        "0: the maps act on the heads' q, k", "int", metavar="D", check=_at_least(0))
    train_min_bandwidth: int = setting(
        0, "while training, each layer's forward pass draws its band width uniformly from [this, bandwidth] "
        "(also the far field's skip outside the band), so that the far field learns to carry more (SWAX); "
        "evaluation and decoding use the bandwidth; 0: off", "int", metavar="W", check=_at_least(0))

    def __post_init__(self):
        object.__setattr__(self, "feature_maps", tuple(self.feature_maps))
        object.__setattr__(self, "far_horizons", tuple(float(h) for h in self.far_horizons))
        _check_fields(self)
        if self.bandwidth == 0 and not self.feature_maps:
            raise FMMOptionError(
                "bandwidth", "0 together with no feature maps switches off both the near and the far field: nothing would attend"
            )
        if self.normalize_features and "taylor" in self.feature_maps:
            raise FMMOptionError(
                "normalize_features", "must be off with the feature map 'taylor': its features are signed, "
                "they cannot be rescaled to sum to 1"
            )
        if self.far_feature_dim and not self.has_far:
            raise FMMOptionError("far_feature_dim", "projects the far field's q, k: needs feature maps")
        if self.train_min_bandwidth and not 1 <= self.train_min_bandwidth <= self.bandwidth:
            raise FMMOptionError(
                "train_min_bandwidth", f"must lie in [1, bandwidth = {self.bandwidth}] (0: off), got {self.train_min_bandwidth}"
            )
        if self.near_alibi and not self.has_near:
            raise FMMOptionError("near_alibi", "needs a band (bandwidth >= 1)")
        if self.far_outside_band and not (self.has_near and self.has_far):
            raise FMMOptionError("far_outside_band", "needs both a band (bandwidth >= 1) and a far field (feature maps)")
        for option, value in (("far_outside_band", self.far_outside_band), ("far_horizons", self.far_horizons)):
            if value and not self.causal:
                raise FMMOptionError(option, "is defined for causal attention only (decoders, language models)")

    @property
    def has_near(self) -> bool:
        return self.bandwidth > 0

    @property
    def has_far(self) -> bool:
        return len(self.feature_maps) > 0

    @property
    def far_skip(self) -> int:
        """The most recent keys the far field does not see: w outside the band, else 0."""
        return self.bandwidth if self.far_outside_band else 0

    def far_features(self, head_dim: int) -> int:
        """F, the features per map of the far field of heads of ``head_dim`` (of ``far_feature_dim`` when it projects)."""
        return feature_count(resolve_feature_maps(self.feature_maps), self.far_feature_dim or head_dim)

    @property
    def kept_keys(self) -> int:
        """How many of the latest keys (and values) a causal state keeps as they are: the band's w-1,
        or the w the far field outside the band has not summed yet."""
        return max(self.bandwidth - 1, self.far_skip)


def alibi_slopes(heads: int) -> torch.Tensor:
    """(heads,) float64 ALiBi slopes m_h = 2^(-8 (h+1) / heads) of the in-band bias."""
    return 2.0 ** (torch.arange(1, heads + 1, dtype=torch.float64) * (-8.0 / heads))


def decay_rates(horizons: Tuple[float, ...], heads: int) -> torch.Tensor:
    """(heads,) float64 far-field decay rates g_h = 1 - 1/horizon_h, horizons from the first to the last
    spaced geometrically over the heads; () gives g = 1 (no decay)."""
    if not horizons:
        return torch.ones(heads, dtype=torch.float64)
    first, last = horizons[0], horizons[-1]
    steps = torch.linspace(0.0, 1.0, heads, dtype=torch.float64) if heads > 1 else torch.zeros(1, dtype=torch.float64)
    return 1.0 - 1.0 / (first * (last / first) ** steps)


def head_constants(config: FMMConfig, heads: int, like: torch.Tensor) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """(heads,) in-band bias slopes (None without the bias) and far-field decay rates (1 where the
    far field does not decay; None for a bidirectional layer or one without far field), on ``like``'s
    device, fp32 at least: what the attention functions take besides the config (``FMMAttention``
    builds them once per device and dtype)."""
    dtype = torch.promote_types(like.dtype, torch.float32)
    slopes = alibi_slopes(heads).to(like.device, dtype) if config.near_alibi else None
    decay = decay_rates(config.far_horizons, heads).to(like.device, dtype) if config.causal and config.has_far else None
    return slopes, decay


@dataclass(frozen=True)
class BlendConfig:
    """out = near_weight * near + far_weight * far, the weights learned by ``FMMAttention``."""

    granularity: str = setting(
        "channel", "out = near_weight * near + far_weight * far, with one learned near weight per channel or per "
        "head", "choice", option="blend", choices={name: name for name in BLEND_GRANULARITIES},
        check=lambda name: None if name in BLEND_GRANULARITIES
        else f"expected one of {', '.join(BLEND_GRANULARITIES)}, got {name!r}")
    near_init: float = setting(
        1.0, "initial near weight (default 1 for the language model and RoBERTa: training starts from band + far "
        "field, measured better in docs/seeds.md; 0 for translation, measured better there, see the README; 0 is "
        "the FMMformer paper's LM recipe, training starting as linear attention)", "float", metavar="X",
        check=lambda x: None if math.isfinite(x) else f"must be a finite number, got {x}")
    far_init: float = setting(1.0, "initial (or fixed) far weight", "float", metavar="X",
                              check=lambda x: None if math.isfinite(x) else f"must be a finite number, got {x}")
    learn_far: bool = setting(False, "learn the far weight too (default: fixed at its initial value)", "flag",
                              option="learn_far_weight")

    def __post_init__(self):
        _check_fields(self)
