"""The near field, far field and their blend (torch path: backend 'torch') against the dense O(N^2)
references (float64). The compiled CPU kernels: test_compiled.py; the Triton kernels: test_kernels.py."""
import pytest
import torch

from fmm_attention import FEATURE_MAPS, FMMConfig, chunking, fmm_attention, near
from fmm_attention.config import alibi_slopes, decay_rates
from fmm_attention.far import linear_attention, mean_linear_attention
from fmm_attention.feature_maps import feature_count, resolve_feature_maps, taylor
from fmm_attention.naive import dense_band_attention, dense_fmm_attention, dense_linear_attention
from fmm_attention.near import band_attention
from inputs import blend_weights, far_projection, qkv, ragged_padding

SHAPES = [  # (length, bandwidth, chunk_size): ragged lengths, chunks smaller/larger than the band
    (1, 1, 4),
    (7, 3, 64),
    (37, 5, 8),
    (64, 20, 64),
    (50, 1, 7),
    (33, 40, 5),
    (100, 20, 16),
]


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,bandwidth,chunk_size", SHAPES)
@pytest.mark.parametrize("padded", [False, True])
def test_band_matches_dense(causal, length, bandwidth, chunk_size, padded, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 2)  # several blocks of chunks
    q, k, v = qkv(length)
    padding = ragged_padding(2, length) if padded else None
    got = band_attention(q, k, v, bandwidth, causal, padding, chunk_size)
    want = dense_band_attention(q, k, v, bandwidth, causal, padding)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,chunk_size", [(1, 4), (7, 64), (37, 8), (64, 64), (100, 16), (129, 32)])
@pytest.mark.parametrize("feature_map,normalize", [  # taylor's signed features are never rescaled
    (name, normalize) for name in sorted(FEATURE_MAPS) for normalize in (True, False) if not (name == "taylor" and normalize)
])
def test_linear_matches_dense(causal, length, chunk_size, feature_map, normalize, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 3)  # several blocks of chunks
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


@pytest.mark.parametrize("name", sorted(BLENDS))
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("per_channel", [True, False])
def test_fmm_blend_matches_dense(name, causal, per_channel):
    config = FMMConfig(backend="torch", causal=causal, chunk_size=16, **BLENDS[name])
    q, k, v = qkv(45)
    padding = ragged_padding(2, 45)
    near_weight, far_weight = blend_weights(3, 8, per_channel)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    want = dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_seed_lm_blend_is_pure_linear_attention_at_init():
    """Seed LM setting: w = 0 per channel, far weight 1 -> the mean of the two maps' linear attention."""
    config = FMMConfig(backend="torch", bandwidth=20, feature_maps=("elu", "elu_flip"))
    q, k, v = qkv(30)
    out = fmm_attention(q, k, v, config, torch.zeros(3, 1, 8, dtype=torch.float64), torch.ones(3, 1, 1, dtype=torch.float64))
    elu, elu_flip = resolve_feature_maps(["elu", "elu_flip"])
    want = 0.5 * dense_linear_attention(q, k, v, elu, True) + 0.5 * dense_linear_attention(q, k, v, elu_flip, True)
    torch.testing.assert_close(out, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("chunks_per_block", [1, 16])
def test_gradcheck(causal, chunks_per_block, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", chunks_per_block)
    config = FMMConfig(backend="torch", bandwidth=3, feature_maps=("elu", "elu_flip"), causal=causal, chunk_size=4)
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
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", chunks_per_block)
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
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 1)
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
    monkeypatch.setattr(near, "_BandAttentionFunction", None)
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
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", chunks_per_block)
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
        config = FMMConfig(backend="torch", bandwidth=4, causal=causal, chunk_size=5)
        out = fmm_attention(q, k, v, config, torch.ones(3, 1, 1, dtype=torch.float64), torch.ones(3, 1, 1, dtype=torch.float64), padding)
        assert torch.isfinite(out).all()
        assert out[1].abs().max() == 0
        out.backward(torch.randn_like(out))
        assert all(torch.isfinite(t.grad).all() for t in (q, k, v))


def test_fp16_long_input_stays_finite():
    q, k, v = qkv(4096, batch=1, heads=2, head_dim=16, dtype=torch.float16)
    config = FMMConfig(backend="torch", bandwidth=20, chunk_size=64)
    out = fmm_attention(q, k, v, config, torch.full((2, 1, 16), 0.5, dtype=torch.float16), torch.ones(2, 1, 1, dtype=torch.float16))
    assert out.dtype == torch.float16
    assert torch.isfinite(out).all()
    reference = fmm_attention(*(t.double() for t in (q, k, v)), config, torch.full((2, 1, 16), 0.5, dtype=torch.float64), torch.ones(2, 1, 1, dtype=torch.float64))
    torch.testing.assert_close(out.double(), reference, rtol=0, atol=1e-2)


@pytest.mark.parametrize("causal", [True, False])
def test_value_size_may_differ_from_head_size(causal):
    q, k, _ = qkv(37)
    v = torch.randn(2, 3, 37, 5, dtype=torch.float64)
    padding = ragged_padding(2, 37)
    config = FMMConfig(backend="torch", bandwidth=4, causal=causal, chunk_size=8)
    near_weight, far_weight = torch.full((3, 1, 1), 0.7, dtype=torch.float64), torch.ones(3, 1, 1, dtype=torch.float64)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch.testing.assert_close(got, dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding), rtol=1e-9, atol=1e-12)


VARIANTS = {  # the far field's variants (causal): outside the band, with a decay per head, both
    "outside_band": dict(far_outside_band=True),
    "decay_one_horizon": dict(far_horizons=(8,)),
    "decay_per_head": dict(far_horizons=(3, 40)),
    "outside_band_decay": dict(far_outside_band=True, far_horizons=(4, 16)),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("length,bandwidth,chunk_size", [(45, 5, 8), (9, 3, 4), (70, 20, 16), (6, 10, 4)])
def test_far_field_variants_match_dense(variant, length, bandwidth, chunk_size, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 2)
    config = FMMConfig(backend="torch", bandwidth=bandwidth, chunk_size=chunk_size, **VARIANTS[variant])
    q, k, v = qkv(length)
    padding = ragged_padding(2, length)
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    want = dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_outside_band_far_field_sees_no_key_of_the_band():
    """A key inside every query's band changes the far field outside it nowhere."""
    config = FMMConfig(backend="torch", bandwidth=4, feature_maps=("elu",), far_outside_band=True, chunk_size=8)
    q, k, v = qkv(20)
    zero = torch.zeros(3, 1, 1, dtype=torch.float64)
    base = fmm_attention(q, k, v, config, zero, torch.ones(3, 1, 1, dtype=torch.float64))
    v2 = v.clone()
    v2[:, :, 10] += 1.0  # seen by queries 10..13 in the band, by 14.. in the far field
    moved = fmm_attention(q, k, v2, config, zero, torch.ones(3, 1, 1, dtype=torch.float64))
    changed = (moved - base).abs().amax(dim=(0, 1, 3)) > 0
    assert not changed[:14].any() and changed[14:].all()


def test_decay_rates_span_the_horizons_geometrically():
    rates = decay_rates((32, 512), 5)
    torch.testing.assert_close(1 / (1 - rates), torch.tensor([32.0, 64.0, 128.0, 256.0, 512.0], dtype=torch.float64))
    assert decay_rates((), 4).eq(1).all()  # no decay is a rate of 1


@pytest.mark.parametrize(  # one block per chunk (states and their gradients passed block to block) with both variants on
    "variant,chunks_per_block", [("outside_band_decay", 1), ("outside_band", 16), ("decay_one_horizon", 16), ("decay_per_head", 16)]
)
def test_far_field_variants_gradcheck(variant, chunks_per_block, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", chunks_per_block)
    config = FMMConfig(backend="torch", bandwidth=3, feature_maps=("elu", "elu_flip"), chunk_size=4, **VARIANTS[variant])
    q, k, v = [t.requires_grad_() for t in qkv(13, batch=2, heads=2, head_dim=4)]
    near_weight, far_weight = [t.requires_grad_() for t in blend_weights(2, 4, per_channel=True)]
    padding = ragged_padding(2, 13)
    assert torch.autograd.gradcheck(
        lambda *args: fmm_attention(*args[:3], config, args[3], args[4], padding), (q, k, v, near_weight, far_weight)
    )


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,bandwidth,chunk_size", [(45, 5, 8), (30, 40, 8), (70, 20, 16)])
def test_band_with_relative_bias_matches_dense(causal, length, bandwidth, chunk_size, monkeypatch):
    """In-band ALiBi: chunked, covering (SDPA) and dense agree, padding included; gradients exact."""
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 2)
    config = FMMConfig(backend="torch", bandwidth=bandwidth, causal=causal, chunk_size=chunk_size, near_alibi=True)
    q, k, v = qkv(length)
    padding = ragged_padding(2, length)
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch.testing.assert_close(got, dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding), rtol=1e-9, atol=1e-12)
    slopes = alibi_slopes(3)
    torch.testing.assert_close(slopes.double(), torch.tensor([2 ** (-8 / 3), 2 ** (-16 / 3), 2 ** -8], dtype=torch.float64))
    leaves = [t[:, :, :12].clone().requires_grad_() for t in (q, k, v)]
    assert torch.autograd.gradcheck(
        lambda q, k, v: band_attention(q, k, v, min(bandwidth, 5), causal, padding[:, :12], 4, slopes=slopes), leaves
    )


def test_taylor_features_give_the_second_order_taylor_kernel():
    """phi(q) . phi(k) = 1 + s + s^2/2 with s = q.k / sqrt(d), from 1 + d + d(d+1)/2 features (153 at d = 16)."""
    q, k, _ = qkv(9, head_dim=16)
    s = q @ k.transpose(-1, -2) / 4.0
    phi_q, phi_k = taylor(q), taylor(k)
    assert phi_q.shape[-1] == feature_count([taylor], 16) == 153 and feature_count([taylor], 3) == 10
    torch.testing.assert_close(phi_q @ phi_k.transpose(-1, -2), 1 + s + s ** 2 / 2, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="signed"):
        linear_attention(q, k, k, taylor, True, normalize_features=True)


RECALL_FAR_FIELDS = {  # Based's Taylor map and Hedgehog's softmax pair, with and without a learned projection
    "taylor": dict(feature_maps=("taylor",), normalize_features=False),
    "taylor_projected": dict(feature_maps=("taylor",), normalize_features=False, far_feature_dim=3),
    "taylor_outside_band_decay": dict(feature_maps=("taylor",), normalize_features=False, far_outside_band=True,
                                      far_horizons=(4, 16), far_feature_dim=5),
    "softmax_flip": dict(feature_maps=("softmax_flip",)),
    "hedgehog": dict(feature_maps=("softmax", "softmax_flip"), far_feature_dim=6, normalize_features=False),
}
CAUSAL_ONLY = ("far_outside_band", "far_horizons")


@pytest.mark.parametrize("name", sorted(RECALL_FAR_FIELDS))
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,bandwidth,chunk_size", [(45, 5, 8), (9, 3, 4), (70, 20, 16)])
@pytest.mark.parametrize("padded", [False, True])
def test_recall_far_fields_match_dense(name, causal, length, bandwidth, chunk_size, padded, monkeypatch):
    """F != head_dim (taylor: 1 + d + d(d+1)/2; a projection: of d'), chunked == dense, padding, decay, outside the band."""
    settings = RECALL_FAR_FIELDS[name]
    if not causal and any(option in settings for option in CAUSAL_ONLY):
        pytest.skip("a causal-only far field")
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 2)
    config = FMMConfig(backend="auto", bandwidth=bandwidth, causal=causal, chunk_size=chunk_size, **settings)
    q, k, v = qkv(length)
    padding = ragged_padding(2, length) if padded else None
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    projection = far_projection(config)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding, far_projection=projection)
    want = dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding, far_projection=projection)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


GRADCHECKED_FAR_FIELDS = {  # small projections: gradcheck's cost grows with the features
    "taylor": dict(feature_maps=("taylor",), normalize_features=False),
    "taylor_projected": dict(feature_maps=("taylor",), normalize_features=False, far_feature_dim=3),
    "taylor_outside_band_decay": dict(feature_maps=("taylor",), normalize_features=False, far_feature_dim=2,
                                      far_outside_band=True, far_horizons=(3, 9)),
    "hedgehog": dict(feature_maps=("softmax", "softmax_flip"), far_feature_dim=3),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED_FAR_FIELDS))
@pytest.mark.parametrize("causal", [True, False])
def test_recall_far_fields_gradcheck(name, causal, monkeypatch):
    """Gradients of q, k, v (dv != d), the blend weights and the far projection, through chunks, blocks of
    one chunk and (causal) the state passed from one piece to the next (fast mode: these have many features)."""
    settings = GRADCHECKED_FAR_FIELDS[name]
    if not causal and any(option in settings for option in CAUSAL_ONLY):
        pytest.skip("a causal-only far field")
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 1)
    config = FMMConfig(backend="torch", bandwidth=3, causal=causal, chunk_size=4, **settings)
    q, k = [t.requires_grad_() for t in qkv(11, batch=2, heads=2, head_dim=4)[:2]]
    v = torch.randn(2, 2, 11, 3, dtype=torch.float64, requires_grad=True)
    near_weight, far_weight = [t.requires_grad_() for t in blend_weights(2, 3, per_channel=True)]
    padding = ragged_padding(2, 11)
    projection = far_projection(config, heads=2, head_dim=4)
    leaves = (q, k, v, near_weight, far_weight) + (() if projection is None else (projection.requires_grad_(),))

    def attention(q, k, v, near_weight, far_weight, projection=None):
        if not causal:
            return fmm_attention(q, k, v, config, near_weight, far_weight, padding, far_projection=projection)
        state, outputs = None, []
        for piece in (slice(0, 6), slice(6, 11)):
            out, state = fmm_attention(q[:, :, piece], k[:, :, piece], v[:, :, piece], config, near_weight, far_weight,
                                       padding[:, piece], initial_state=state, output_final_state=True,
                                       far_projection=projection)
            outputs.append(out)
        return torch.cat(outputs, dim=2), state["far_state"]

    assert torch.autograd.gradcheck(attention, leaves, fast_mode=True)
