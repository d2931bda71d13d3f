"""The pure-torch attention math against its dense O(N^2) references (float64)."""
import pytest
import torch

from fmm_fairseq.attention import (
    FEATURE_MAPS,
    FMMConfig,
    FMMOptionError,
    band_attention,
    empty_decode_state,
    far_sums_from,
    fmm_attention,
    fmm_attention_step,
    linear_attention,
    mean_linear_attention,
    resolve_feature_maps,
)
from fmm_fairseq.attention import band, lowrank
from fmm_fairseq.attention.reference import (
    dense_band_attention,
    dense_fmm_attention,
    dense_linear_attention,
)

SHAPES = [  # (length, bandwidth, chunk_size): ragged lengths, chunks smaller/larger than the band
    (1, 1, 4),
    (7, 3, 64),
    (37, 5, 8),
    (64, 20, 64),
    (50, 1, 7),
    (33, 40, 5),
    (100, 20, 16),
]


def qkv(length, batch=2, heads=3, head_dim=8, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, heads, length, head_dim, generator=generator, dtype=dtype) for _ in range(3)]


def ragged_padding(batch, length):
    """Batch row 0: left padding; row 1: right padding (and fully padded when length <= 3)."""
    padding = torch.zeros(batch, length, dtype=torch.bool)
    padding[0, : length // 4] = True
    padding[1, length - max(3, length // 3):] = True
    return padding


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,bandwidth,chunk_size", SHAPES)
@pytest.mark.parametrize("padded", [False, True])
def test_band_matches_dense(causal, length, bandwidth, chunk_size, padded, monkeypatch):
    monkeypatch.setattr(band, "CHUNKS_PER_BLOCK", 2)  # several blocks of chunks
    q, k, v = qkv(length)
    padding = ragged_padding(2, length) if padded else None
    got = band_attention(q, k, v, bandwidth, causal, padding, chunk_size)
    want = dense_band_attention(q, k, v, bandwidth, causal, padding)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,chunk_size", [(1, 4), (7, 64), (37, 8), (64, 64), (100, 16), (129, 32)])
@pytest.mark.parametrize("feature_map", sorted(FEATURE_MAPS))
@pytest.mark.parametrize("normalize", [True, False])
def test_linear_matches_dense(causal, length, chunk_size, feature_map, normalize, monkeypatch):
    monkeypatch.setattr(lowrank, "CHUNKS_PER_BLOCK", 3)  # several blocks of chunks
    q, k, v = qkv(length)
    padding = ragged_padding(2, length)
    phi = FEATURE_MAPS[feature_map]
    got = linear_attention(q, k, v, phi, causal, padding, chunk_size, normalize)
    want = dense_linear_attention(q, k, v, phi, causal, padding, normalize)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


BLENDS = {
    "seed_lm": dict(bandwidth=20, feature_maps=("elu", "elu_flip")),
    "one_map": dict(bandwidth=5, feature_maps=("elu",)),
    "band_only": dict(bandwidth=5, feature_maps=()),
    "linear_only": dict(bandwidth=0, feature_maps=("tanh", "relu")),
}


def blend_weights(heads, head_dim, per_channel, seed=1):
    generator = torch.Generator().manual_seed(seed)
    shape = (heads, 1, head_dim) if per_channel else (heads, 1, 1)
    return torch.randn(shape, generator=generator, dtype=torch.float64), torch.randn(shape, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(BLENDS))
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("per_channel", [True, False])
def test_fmm_blend_matches_dense(name, causal, per_channel):
    config = FMMConfig(causal=causal, chunk_size=16, **BLENDS[name])
    q, k, v = qkv(45)
    padding = ragged_padding(2, 45)
    near_weight, far_weight = blend_weights(3, 8, per_channel)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    want = dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_seed_lm_blend_is_pure_linear_attention_at_init():
    """Seed LM setting: w = 0 per channel, far weight 1 -> the mean of the two maps' linear attention."""
    config = FMMConfig(bandwidth=20, feature_maps=("elu", "elu_flip"))
    q, k, v = qkv(30)
    out = fmm_attention(q, k, v, config, torch.zeros(3, 1, 8, dtype=torch.float64), torch.ones(3, 1, 1, dtype=torch.float64))
    elu, elu_flip = resolve_feature_maps(["elu", "elu_flip"])
    want = 0.5 * dense_linear_attention(q, k, v, elu, True) + 0.5 * dense_linear_attention(q, k, v, elu_flip, True)
    torch.testing.assert_close(out, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("chunks_per_block", [1, 16])
def test_gradcheck(causal, chunks_per_block, monkeypatch):
    monkeypatch.setattr(band, "CHUNKS_PER_BLOCK", chunks_per_block)
    monkeypatch.setattr(lowrank, "CHUNKS_PER_BLOCK", chunks_per_block)
    config = FMMConfig(bandwidth=3, feature_maps=("elu", "elu_flip"), causal=causal, chunk_size=4)
    q, k, v = [t.requires_grad_() for t in qkv(11, batch=2, heads=2, head_dim=4)]
    near_weight, far_weight = [t.requires_grad_() for t in blend_weights(2, 4, per_channel=True)]
    padding = ragged_padding(2, 11)
    assert torch.autograd.gradcheck(
        lambda *args: fmm_attention(*args[:3], config, args[3], args[4], padding),
        (q, k, v, near_weight, far_weight),
    )


@pytest.mark.parametrize("maps", [("elu", "elu_flip"), ("relu",), ("tanh",)])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("chunks_per_block", [1, 2, 16])
def test_causal_far_field_gradcheck(maps, normalize, chunks_per_block, monkeypatch):
    """The causal far field's hand-written backward, with padding, several chunks and blocks, dv != d."""
    monkeypatch.setattr(lowrank, "CHUNKS_PER_BLOCK", chunks_per_block)
    q, k = [t.requires_grad_() for t in qkv(13, batch=2, heads=2, head_dim=4)[:2]]
    v = torch.randn(2, 2, 13, 3, dtype=torch.float64, requires_grad=True)
    padding = ragged_padding(2, 13)
    feature_maps = resolve_feature_maps(maps)
    assert torch.autograd.gradcheck(
        lambda q, k, v: mean_linear_attention(q, k, v, feature_maps, True, padding, 4, normalize), (q, k, v)
    )


@pytest.mark.parametrize("causal", [True, False])
def test_band_dropout_gradcheck_and_scaling(causal, monkeypatch):
    """With attention dropout the backward uses the forward's mask; kept weights are scaled by 1/(1-p)."""
    monkeypatch.setattr(band, "CHUNKS_PER_BLOCK", 1)
    q, k, v = [t.requires_grad_() for t in qkv(11, batch=2, heads=2, head_dim=4)]
    padding = ragged_padding(2, 11)

    def dropped(q, k, v):
        torch.manual_seed(3)  # the same dropout mask at every evaluation
        return band_attention(q, k, v, 3, causal, padding, 4, dropout_p=0.3)

    assert torch.autograd.gradcheck(dropped, (q, k, v))
    identity = torch.eye(11, dtype=torch.float64).expand(2, 2, 11, 11)
    torch.manual_seed(3)
    weights = band_attention(q.detach(), k.detach(), identity, 3, causal, padding, 4, dropout_p=0.3)
    exact = band_attention(q.detach(), k.detach(), identity, 3, causal, padding, 4)
    kept = weights != 0
    assert 0 < kept.sum() < (exact != 0).sum()
    torch.testing.assert_close(weights[kept], exact[kept] / 0.7)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("bandwidth", [11, 50])
def test_band_covering_the_sequence_is_one_softmax_with_exact_gradients(causal, bandwidth, monkeypatch):
    """w >= N: plain softmax attention by SDPA (the chunked path is not reached), padding respected,
    queries that see no key (left padding when causal, a fully padded row) give 0 and finite gradients."""
    monkeypatch.setattr(band, "_BandAttentionFunction", None)
    q, k, v = [t.requires_grad_() for t in qkv(11, batch=3, heads=2, head_dim=4)]
    padding = torch.cat([ragged_padding(2, 11), torch.ones(1, 11, dtype=torch.bool)])
    out = band_attention(q, k, v, bandwidth, causal, padding, 4)
    torch.testing.assert_close(out, dense_band_attention(q, k, v, bandwidth, causal, padding), rtol=1e-10, atol=1e-12)
    assert out[2].abs().max() == 0 and (not causal or out[0, :, : 11 // 4].abs().max() == 0)
    assert torch.autograd.gradcheck(lambda q, k, v: band_attention(q, k, v, bandwidth, causal, padding, 4), (q, k, v))
    without_padding = band_attention(q, k, v, bandwidth, causal, None, 4)
    torch.testing.assert_close(without_padding, dense_band_attention(q, k, v, bandwidth, causal), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("chunks_per_block", [1, 16])
def test_causal_far_field_fp32_gradients_with_left_padding_match_float64(chunks_per_block, monkeypatch):
    """Left-padded queries see no key: their gradients are huge (1/eps) and must not swamp the others."""
    monkeypatch.setattr(lowrank, "CHUNKS_PER_BLOCK", chunks_per_block)
    q, k, v = qkv(37, batch=2, heads=2, head_dim=8)
    padding = ragged_padding(2, 37)
    maps = resolve_feature_maps(["elu"])
    grad = torch.randn(2, 2, 37, 8, dtype=torch.float64)
    grads = {}
    for dtype in (torch.float64, torch.float32):
        leaves = [t.detach().to(dtype).requires_grad_() for t in (q, k, v)]
        mean_linear_attention(*leaves, maps, True, padding, 16).backward(grad.to(dtype))
        grads[dtype] = [t.grad.double() for t in leaves]
    for single, full in zip(grads[torch.float32], grads[torch.float64]):
        torch.testing.assert_close(single, full, rtol=1e-4, atol=1e-5)


def test_causal_far_field_gradients_of_half_inputs_match_float64():
    q, k, v = qkv(70, batch=1, heads=2, head_dim=8)
    maps = resolve_feature_maps(["elu", "elu_flip"])
    grad = torch.randn(1, 2, 70, 8, dtype=torch.float64)
    grads = {}
    for dtype in (torch.float64, torch.float16):
        leaves = [t.detach().to(dtype).requires_grad_() for t in (q, k, v)]
        mean_linear_attention(*leaves, maps, True, chunk_size=16).backward(grad.to(dtype))
        grads[dtype] = [t.grad for t in leaves]
    for half, full in zip(grads[torch.float16], grads[torch.float64]):
        assert half.dtype == torch.float16
        torch.testing.assert_close(half.double(), full, rtol=2e-2, atol=2e-3)


def test_fully_padded_rows_give_zero_and_finite_gradients():
    q, k, v = [t.requires_grad_() for t in qkv(12)]
    padding = torch.zeros(2, 12, dtype=torch.bool)
    padding[1] = True  # the whole second sequence is padding
    for causal in (True, False):
        config = FMMConfig(bandwidth=4, causal=causal, chunk_size=5)
        out = fmm_attention(q, k, v, config, torch.ones(3, 1, 1, dtype=torch.float64), torch.ones(3, 1, 1, dtype=torch.float64), padding)
        assert torch.isfinite(out).all()
        assert out[1].abs().max() == 0
        out.backward(torch.randn_like(out))
        assert all(torch.isfinite(t.grad).all() for t in (q, k, v))


def test_fp16_long_input_stays_finite():
    q, k, v = qkv(4096, batch=1, heads=2, head_dim=16, dtype=torch.float16)
    config = FMMConfig(bandwidth=20, chunk_size=64)
    out = fmm_attention(q, k, v, config, torch.full((2, 1, 16), 0.5, dtype=torch.float16), torch.ones(2, 1, 1, dtype=torch.float16))
    assert out.dtype == torch.float16
    assert torch.isfinite(out).all()
    reference = fmm_attention(*(t.double() for t in (q, k, v)), config, torch.full((2, 1, 16), 0.5, dtype=torch.float64), torch.ones(2, 1, 1, dtype=torch.float64))
    torch.testing.assert_close(out.double(), reference, rtol=0, atol=1e-2)


@pytest.mark.parametrize("bandwidth,maps", [(4, ("elu", "elu_flip")), (1, ("relu",)), (0, ("tanh",)), (6, ())])
def test_decode_steps_match_full_forward(bandwidth, maps):
    config = FMMConfig(bandwidth=bandwidth, feature_maps=maps, chunk_size=8)
    q, k, v = qkv(30)
    padding = torch.zeros(2, 30, dtype=torch.bool)
    padding[0, 5:9] = True  # padding in the middle, as left-padded prompts would produce per step
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    full = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    state = empty_decode_state(config, 2, 3, 8, 8, q)
    for step in range(30):
        out, state = fmm_attention_step(
            q[:, :, step : step + 1], k[:, :, step : step + 1], v[:, :, step : step + 1], state,
            config, near_weight, far_weight, padding[:, step : step + 1],
        )
        torch.testing.assert_close(out, full[:, :, step : step + 1], rtol=1e-9, atol=1e-12)
        assert state["prev_key"].shape[2] <= max(bandwidth - 1, 0)
        assert state["prev_value"].shape[2] <= max(bandwidth - 1, far_sums_from(config, 8, 8) - 1 if maps else 0)
    assert ("far_state" in state) == bool(maps)  # 30 steps: past the switch to the sums, both ways tested


def test_decode_steps_without_padding_then_with_it_match_full_forward():
    """The band keeps no padding flags until a step brings padding; from then on earlier keys count as kept."""
    config = FMMConfig(bandwidth=6, chunk_size=8)
    q, k, v = qkv(24)
    padding = torch.zeros(2, 24, dtype=torch.bool)
    padding[1, 5:8] = True  # kept keys first, then (from step 6) the sums
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    full = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    state = empty_decode_state(config, 2, 3, 8, 8, q)
    for step in range(24):
        step_padding = None if step < 4 else padding[:, step : step + 1]
        out, state = fmm_attention_step(
            q[:, :, step : step + 1], k[:, :, step : step + 1], v[:, :, step : step + 1], state,
            config, near_weight, far_weight, step_padding,
        )
        torch.testing.assert_close(out, full[:, :, step : step + 1], rtol=1e-9, atol=1e-12)
        assert ("prev_key_padding_mask" in state) == (step >= 4)
        assert ("far_state" in state) == (step + 1 >= far_sums_from(config, 8, 8))


@pytest.mark.parametrize(
    "settings,option",
    [
        (dict(bandwidth=-1), "bandwidth"),
        (dict(feature_maps=("elu", "gelu")), "feature_maps"),
        (dict(bandwidth=0, feature_maps=()), "bandwidth"),
        (dict(chunk_size=0), "chunk_size"),
        (dict(chunk_size=-3), "chunk_size"),
    ],
)
def test_bad_config_names_the_option(settings, option):
    with pytest.raises(FMMOptionError) as error:
        FMMConfig(**settings)
    assert error.value.option == option
    assert option in str(error.value)


@pytest.mark.parametrize("causal", [True, False])
def test_value_size_may_differ_from_head_size(causal):
    q, k, _ = qkv(37)
    v = torch.randn(2, 3, 37, 5, dtype=torch.float64)
    padding = ragged_padding(2, 37)
    config = FMMConfig(bandwidth=4, causal=causal, chunk_size=8)
    near_weight, far_weight = torch.full((3, 1, 1), 0.7, dtype=torch.float64), torch.ones(3, 1, 1, dtype=torch.float64)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch.testing.assert_close(got, dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding), rtol=1e-9, atol=1e-12)
