"""FMMAttention, the nn.Module of the math package: usable without fairseq, forward = the math on its
projections, decoding step by step = forward, gradients reach every parameter it owns."""
import subprocess
import sys

import pytest
import torch

from fmm_attention import BlendConfig, FMMAttention, FMMConfig, fmm_attention

EMBED, HEADS = 24, 3


def layer(causal=True, bandwidth=4, maps=("elu", "elu_flip"), granularity="channel", learn_far=False):
    torch.manual_seed(0)
    config = FMMConfig(bandwidth=bandwidth, feature_maps=maps, causal=causal, chunk_size=8)
    attention = FMMAttention(EMBED, HEADS, config, BlendConfig(granularity=granularity, learn_far=learn_far))
    if attention.near_weight is not None:
        with torch.no_grad():
            attention.near_weight.uniform_(0.5, 1.5)  # both fields matter
    return attention.double()


def test_importing_the_math_imports_no_fairseq():
    code = "import fmm_attention, sys; assert 'fairseq' not in sys.modules, 'fairseq imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("granularity", ["channel", "head"])
def test_forward_is_fmm_attention_on_the_projected_heads(causal, granularity):
    attention = layer(causal, granularity=granularity)
    x = torch.randn(2, 13, EMBED, dtype=torch.float64)
    padding = torch.zeros(2, 13, dtype=torch.bool)
    padding[1, 9:] = True
    out = attention(x, padding)
    assert out.shape == x.shape

    def heads(t):
        return t.view(2, 13, HEADS, EMBED // HEADS).transpose(1, 2)

    q, k, v = heads(attention.q_proj(x)), heads(attention.k_proj(x)), heads(attention.v_proj(x))
    want = fmm_attention(q, k, v, attention.config, attention.near_weight, attention.far_weight, padding)
    want = attention.out_proj(want.transpose(1, 2).reshape(2, 13, EMBED))
    torch.testing.assert_close(out, want)


@pytest.mark.parametrize("bandwidth,maps", [(4, ("elu", "elu_flip")), (3, ()), (0, ("relu",))])
def test_steps_equal_the_forward_token_by_token_and_several_at_once(bandwidth, maps):
    attention = layer(bandwidth=bandwidth, maps=maps)
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


def test_gradients_reach_projections_and_learned_blend_weights():
    attention = layer(learn_far=True)
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
