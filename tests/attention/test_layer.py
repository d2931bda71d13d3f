"""FMMAttention, the nn.Module of the math package: usable without fairseq, forward = the math on its
projections, decoding step by step = forward, gradients reach every parameter it owns."""
import dataclasses
import subprocess
import sys

import pytest
import torch

from fmm_attention import BlendConfig, FMMAttention, FMMConfig, fmm_attention
from fmm_attention.naive import dense_fmm_attention

EMBED, HEADS = 24, 3


def layer(causal=True, bandwidth=4, maps=("elu", "elu_flip"), granularity="channel", learn_far=False, **settings):
    torch.manual_seed(0)
    config = FMMConfig(bandwidth=bandwidth, feature_maps=maps, causal=causal, chunk_size=8, **settings)
    attention = FMMAttention(EMBED, HEADS, config, BlendConfig(granularity=granularity, learn_far=learn_far))
    if attention.near_weight is not None:
        with torch.no_grad():
            attention.near_weight.uniform_(0.5, 1.5)  # both fields matter
    return attention.double()


def test_importing_the_math_imports_no_fairseq():
    code = "import fmm_attention, sys; assert 'fairseq' not in sys.modules, 'fairseq imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


RECALL = {  # far fields aimed at recall (with a projection: Based's and Hedgehog's)
    "based": dict(maps=("taylor",), normalize_features=False, far_feature_dim=4),
    "based_outside_band": dict(maps=("taylor",), normalize_features=False, far_feature_dim=3, far_outside_band=True),
    "hedgehog": dict(maps=("softmax", "softmax_flip"), far_feature_dim=6),
    "taylor": dict(maps=("taylor",), normalize_features=False),
}


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("granularity", ["channel", "head"])
@pytest.mark.parametrize("settings", [{}, RECALL["based"]], ids=["elu", "based"])
def test_forward_is_fmm_attention_on_the_projected_heads(causal, granularity, settings):
    attention = layer(causal, granularity=granularity, **settings)
    x = torch.randn(2, 13, EMBED, dtype=torch.float64)
    padding = torch.zeros(2, 13, dtype=torch.bool)
    padding[1, 9:] = True
    out = attention(x, padding)
    assert out.shape == x.shape

    def heads(t):
        return t.view(2, 13, HEADS, EMBED // HEADS).transpose(1, 2)

    q, k, v = heads(attention.q_proj(x)), heads(attention.k_proj(x)), heads(attention.v_proj(x))
    want = fmm_attention(q, k, v, attention.config, attention.near_weight, attention.far_weight, padding,
                         far_projection=attention.far_projection)
    want = attention.out_proj(want.transpose(1, 2).reshape(2, 13, EMBED))
    torch.testing.assert_close(out, want)


@pytest.mark.parametrize("settings", [
    dict(bandwidth=4, maps=("elu", "elu_flip")), dict(bandwidth=3, maps=()), dict(bandwidth=0, maps=("relu",)),
    *(dict(bandwidth=4, **RECALL[name]) for name in sorted(RECALL)),
], ids=["seed_lm", "band_only", "linear_only", *sorted(RECALL)])
def test_steps_equal_the_forward_token_by_token_and_several_at_once(settings):
    attention = layer(**settings)
    x = torch.randn(2, 40, EMBED, dtype=torch.float64)
    full = attention(x)
    state, outputs = None, []
    for t in range(40):
        out, state = attention.step(x[:, t : t + 1], state)
        outputs.append(out)
    torch.testing.assert_close(torch.cat(outputs, dim=1), full, rtol=1e-9, atol=1e-12)
    first, state = attention.step(x[:, :17])
    rest, _ = attention.step(x[:, 17:], state)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), full, rtol=1e-9, atol=1e-12)


def test_steps_with_padding_equal_the_forward():
    attention = layer()
    x = torch.randn(2, 30, EMBED, dtype=torch.float64)
    padding = torch.zeros(2, 30, dtype=torch.bool)
    padding[0, :6] = True  # a left-padded prompt
    full = attention(x, padding)
    out, _ = attention.step(x, None, padding)
    kept = ~padding
    torch.testing.assert_close(out[kept], full[kept], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("settings", [{}, RECALL["hedgehog"]], ids=["elu", "hedgehog"])
def test_gradients_reach_projections_and_learned_blend_weights(settings):
    attention = layer(learn_far=True, **settings)
    x = torch.randn(2, 21, EMBED, dtype=torch.float64, requires_grad=True)
    attention(x).backward(torch.randn(2, 21, EMBED, dtype=torch.float64))
    for name, parameter in attention.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_fixed_far_weight_gets_no_gradient_and_an_absent_field_has_no_weight():
    attention = layer()
    assert not attention.far_weight.requires_grad
    assert layer(bandwidth=0, maps=("elu",)).near_weight is None
    assert layer(bandwidth=4, maps=()).far_weight is None


def test_a_bidirectional_layer_does_not_decode():
    with pytest.raises(ValueError, match="causal"):
        layer(causal=False).step(torch.randn(1, 1, EMBED, dtype=torch.float64))


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="divisible"):
        FMMAttention(10, 3)


def test_a_far_projection_is_a_parameter_only_when_asked_for():
    """far_feature_dim 0 (default): the parameters of before (old checkpoints load); d' > 0: one (heads, head_dim, d')
    more, orthogonal per head with columns of norm 1 on average, so that q W keeps q's per-feature scale."""
    plain = layer()
    names = {name for name, _ in plain.named_parameters()}
    assert names == {"q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias",
                     "out_proj.weight", "out_proj.bias", "near_weight", "far_weight"}
    assert plain.far_projection is None and sum(p.numel() for p in plain.parameters()) == 4 * (EMBED * EMBED + EMBED) + 2 * EMBED
    for dim in (4, 16):  # fewer and more far features than head_dim = 8
        projected = layer(maps=("taylor",), normalize_features=False, far_feature_dim=dim)
        assert {name for name, _ in projected.named_parameters()} - names == {"far_projection"}
        projection = projected.far_projection.detach()
        assert projection.shape == (HEADS, 8, dim)
        gram = projection.transpose(-1, -2) @ projection if dim <= 8 else projection @ projection.transpose(-1, -2)
        identity = torch.eye(min(dim, 8), dtype=torch.float64).expand_as(gram)
        torch.testing.assert_close(gram, identity * max(1.0, dim / 8), rtol=0, atol=1e-6)  # initialised in fp32
    assert layer(maps=("taylor",), normalize_features=False, far_feature_dim=16).config.far_features(8) == 153


def dense_layer(attention, x, config):
    """The layer's output by the dense reference of ``config``."""
    heads = [projection(x).view(2, x.shape[1], HEADS, EMBED // HEADS).transpose(1, 2)
             for projection in (attention.q_proj, attention.k_proj, attention.v_proj)]
    out = dense_fmm_attention(*heads, config, attention.near_weight, attention.far_weight, far_projection=attention.far_projection)
    return attention.out_proj(out.transpose(1, 2).reshape(2, x.shape[1], EMBED))


def test_training_passes_draw_their_band_width_evaluation_and_decoding_keep_the_bandwidth():
    """train_min_bandwidth: a training pass is the dense reference at a width drawn by torch's RNG from
    [train_min_bandwidth, bandwidth] (band and far field outside it); evaluation and steps use the bandwidth."""
    attention = layer(bandwidth=6, train_min_bandwidth=2, far_outside_band=True)
    x = torch.randn(2, 23, EMBED, dtype=torch.float64)
    full = dense_layer(attention, x, attention.config)
    torch.testing.assert_close(attention.eval()(x), full, rtol=1e-9, atol=1e-12)
    attention.train()
    widths = set()
    for seed in range(12):
        torch.manual_seed(seed)
        width = int(torch.randint(2, 7, ()))
        widths.add(width)
        torch.manual_seed(seed)
        drawn = dataclasses.replace(attention.config, bandwidth=width)
        torch.testing.assert_close(attention(x), dense_layer(attention, x, drawn), rtol=1e-9, atol=1e-12)
    assert len(widths) > 2 and widths <= set(range(2, 7))
    prompt, state = attention.step(x[:, :10])
    token, _ = attention.step(x[:, 10:11], state)
    torch.testing.assert_close(torch.cat([prompt, token], dim=1), full[:, :11], rtol=1e-9, atol=1e-12)
