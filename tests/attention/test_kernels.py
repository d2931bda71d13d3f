"""Triton kernels against the torch path and the dense O(N^2) references, values and gradients.

Without a GPU the kernels run in Triton's CPU interpreter. Triton picks interpreter or compiler
when it is first imported, so Triton must not be imported before the kernels' ``runtime`` module
does it (it sets TRITON_INTERPRET=1 when there is no CUDA device): hence the import of ``ops``
below through ``pytest.importorskip`` (which skips this module when Triton is not installed)
rather than ``importorskip("triton")``. Sizes are small (tiles of 16) so that the interpreter is
quick; bf16 is checked only on a GPU (the interpreter computes it wrongly).
"""
import os
import subprocess
import sys

import pytest
import torch

ops = pytest.importorskip("fmm_attention.triton.ops")

from fmm_attention import FEATURE_MAPS, FMMConfig, FMMOptionError, fmm_attention  # noqa: E402
from fmm_attention import triton as kernels  # noqa: E402
from fmm_attention.fmm import check_backend, kernels_lack, uses_triton  # noqa: E402
from fmm_attention.far import linear_attention  # noqa: E402
from fmm_attention.near import band_attention  # noqa: E402
from fmm_attention.naive import (  # noqa: E402
    dense_band_attention,
    dense_band_mask,
    dense_fmm_attention,
    dense_linear_attention,
)

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
HALF_DTYPES = [torch.float16, torch.bfloat16] if DEVICE == "cuda" else [torch.float16]


def qkv(length, batch=2, heads=2, head_dim=8, value_dim=None, dtype=torch.float32, seed=0):
    """q, k, v as (batch, heads, length, dim) views of (length, batch, heads, dim) storage, as the layer makes them."""
    generator = torch.Generator().manual_seed(seed)
    dims = (head_dim, head_dim, value_dim or head_dim)
    return [
        torch.randn(length, batch, heads, dim, generator=generator).to(DEVICE, dtype).permute(1, 2, 0, 3).requires_grad_()
        for dim in dims
    ]


def ragged_padding(batch, length):
    """Row 0 left-padded, row 1 right-padded (entirely padded when length <= 3)."""
    padding = torch.zeros(batch, length, dtype=torch.bool)
    padding[0, : length // 4] = True
    padding[1, length - max(3, length // 3):] = True
    return padding.to(DEVICE)


def grads(out, inputs, seed=1):
    """Gradients of <out, fixed random tensor> with respect to inputs (None where no gradient flows)."""
    weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed)).to(out.device, out.dtype)
    return torch.autograd.grad(out, inputs, weight, allow_unused=True)


def as_double(tensors):
    return [t.detach().double().requires_grad_() for t in tensors]


def assert_close_all(got, want, atol, rtol=0.0):
    for index, (a, b) in enumerate(zip(got, want)):
        torch.testing.assert_close(a.double(), b.double(), atol=atol, rtol=rtol, msg=lambda m: f"tensor {index}: {m}")


BAND_SHAPES = [  # (length, bandwidth, chunk_size): ragged lengths; bands within a tile, across tiles, longer than N
    (1, 1, 16),
    (37, 5, 16),
    (50, 20, 16),
    (33, 40, 16),
    (45, 1, 16),
    (70, 17, 32),
]


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,bandwidth,chunk_size", BAND_SHAPES)
def test_band_matches_torch_and_dense(causal, length, bandwidth, chunk_size):
    q, k, v = qkv(length)
    padding = ragged_padding(2, length)
    got = kernels.band_attention(q, k, v, bandwidth, causal, padding, chunk_size)
    torch_path = band_attention(q, k, v, bandwidth, causal, padding, chunk_size)
    dense = dense_band_attention(*as_double((q, k, v)), bandwidth, causal, padding)
    dense_inputs = as_double((q, k, v))
    dense = dense_band_attention(*dense_inputs, bandwidth, causal, padding)
    assert_close_all([got, got], [torch_path, dense], atol=2e-6)
    got_grads = grads(got, (q, k, v))
    assert_close_all(got_grads, grads(torch_path, (q, k, v)), atol=1e-5)
    assert_close_all(got_grads, grads(dense, dense_inputs), atol=1e-5)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("feature_map", sorted(set(FEATURE_MAPS) - {"taylor"}))  # F != d: the torch path's alone
@pytest.mark.parametrize("normalize", [True, False])
def test_linear_matches_torch_and_dense(causal, feature_map, normalize):
    q, k, v = qkv(37, value_dim=12)
    padding = ragged_padding(2, 37)
    phi = FEATURE_MAPS[feature_map]
    got = kernels.linear_attention(q, k, v, phi, causal, padding, 16, normalize)
    torch_path = linear_attention(q, k, v, phi, causal, padding, 16, normalize)
    dense_inputs = as_double((q, k, v))
    dense = dense_linear_attention(*dense_inputs, phi, causal, padding, normalize)
    assert_close_all([got, got], [torch_path, dense], atol=2e-6, rtol=1e-5)
    got_grads = grads(got, (q, k, v))
    assert_close_all(got_grads, grads(torch_path, (q, k, v)), atol=1e-5, rtol=1e-4)
    assert_close_all(got_grads, grads(dense, dense_inputs), atol=1e-5, rtol=1e-4)


def test_linear_with_an_unnamed_feature_map():
    """A callable outside FEATURE_MAPS is applied in torch just before the kernel; gradients flow through it."""
    phi = lambda x: torch.nn.functional.softplus(x)  # noqa: E731
    q, k, v = qkv(29)
    padding = ragged_padding(2, 29)
    for causal in (True, False):
        got = kernels.linear_attention(q, k, v, phi, causal, padding, 16)
        want = linear_attention(q, k, v, phi, causal, padding, 16)
        assert_close_all([got], [want], atol=2e-6)
        assert_close_all(grads(got, (q, k, v)), grads(want, (q, k, v)), atol=1e-5)


BLENDS = {
    "seed_lm": dict(bandwidth=20, feature_maps=("elu", "elu_flip")),
    "one_map": dict(bandwidth=5, feature_maps=("tanh",)),
    "band_only": dict(bandwidth=5, feature_maps=()),
    "linear_only": dict(bandwidth=0, feature_maps=("relu", "elu")),
    "four_maps": dict(bandwidth=3, feature_maps=("elu", "elu_flip", "tanh", "relu"), normalize_features=False),
}


def blend_weights(heads, value_dim, per_channel, seed=2):
    generator = torch.Generator().manual_seed(seed)
    shape = (heads, 1, value_dim) if per_channel else (heads, 1, 1)
    return [torch.randn(shape, generator=generator).to(DEVICE).requires_grad_() for _ in range(2)]


@pytest.mark.parametrize("name", sorted(BLENDS))
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("per_channel", [True, False])
def test_fused_matches_torch_and_dense(name, causal, per_channel):
    q, k, v = qkv(45, head_dim=12)  # a head size that is not a power of two
    assert_fused_matches_torch_and_dense(FMMConfig(causal=causal, chunk_size=16, **BLENDS[name]), q, k, v,
                                         *blend_weights(2, 12, per_channel), ragged_padding(2, 45))


def assert_fused_matches_torch_and_dense(config, q, k, v, near_weight, far_weight, padding):
    """kernels.fmm_attention == the torch path == the float64 dense reference, values and gradients."""
    inputs = (q, k, v, near_weight, far_weight)
    got = kernels.fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch_path = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    dense_inputs = as_double(inputs)
    dense = dense_fmm_attention(*dense_inputs[:3], config, *dense_inputs[3:], padding)
    assert_close_all([got, got], [torch_path, dense], atol=1e-5, rtol=1e-5)
    got_grads = grads(got, inputs)
    for want in (grads(torch_path, inputs), grads(dense, dense_inputs)):
        assert [g is None for g in got_grads] == [g is None for g in want]
        assert_close_all([g for g in got_grads if g is not None], [g for g in want if g is not None], atol=5e-5, rtol=1e-4)


@pytest.mark.parametrize("causal", [True, False])
def test_rows_without_visible_keys_give_zero_and_finite_gradients(causal):
    """A fully padded sequence, and queries whose whole band is padding, give 0 and no NaN."""
    q, k, v = qkv(40)
    padding = torch.zeros(2, 40, dtype=torch.bool, device=DEVICE)
    padding[0, :20] = True  # causal, w = 4: queries 0..19 of row 0 see only padding
    padding[1] = True
    near_weight, far_weight = blend_weights(2, 8, per_channel=True)
    config = FMMConfig(bandwidth=4, causal=causal, chunk_size=16)
    for out in (
        kernels.band_attention(q, k, v, 4, causal, padding, 16),
        kernels.fmm_attention(q, k, v, config, near_weight, far_weight, padding),
    ):
        assert torch.isfinite(out).all()
        assert out[1].abs().max() == 0
        if causal:
            assert out[0, :, :20].abs().max() == 0
        assert all(torch.isfinite(g).all() for g in grads(out, (q, k, v, near_weight, far_weight)) if g is not None)
    band = kernels.band_attention(q, k, v, 4, causal, padding, 16)
    dense_inputs = as_double((q, k, v))
    dense = dense_band_attention(*dense_inputs, 4, causal, padding)
    assert_close_all(grads(band, (q, k, v)), grads(dense, dense_inputs), atol=1e-5)


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
@pytest.mark.parametrize("causal", [True, False])
def test_half_precision_matches_dense_reference(dtype, causal):
    """fp16 (bf16 on a GPU) inputs, fp32 accumulation: close to the float64 reference of the same inputs."""
    config = FMMConfig(bandwidth=20, causal=causal, chunk_size=16)
    q, k, v = qkv(70, head_dim=16, dtype=dtype)
    padding = ragged_padding(2, 70)
    near_weight, far_weight = [w.detach().to(dtype).requires_grad_() for w in blend_weights(2, 16, True)]
    inputs = (q, k, v, near_weight, far_weight)
    got = kernels.fmm_attention(*inputs[:3], config, *inputs[3:], padding)
    assert got.dtype == dtype
    dense_inputs = as_double(inputs)
    dense = dense_fmm_attention(*dense_inputs[:3], config, *dense_inputs[3:], padding)
    tolerance = 2e-2 if dtype == torch.float16 else 6e-2
    assert_close_all([got], [dense], atol=tolerance, rtol=tolerance)
    got_grads = grads(got, inputs)
    assert all(g.dtype == dtype for g in got_grads)
    assert_close_all(got_grads[:3], grads(dense, dense_inputs)[:3], atol=5 * tolerance, rtol=tolerance)


@pytest.mark.parametrize("causal", [True, False])
def test_near_field_dropout(causal):
    """Dropout of the near weights: the same keep mask in forward and backward, kept weights scaled by 1/(1-p).

    With v the identity the band kernel's output is its (dropped) weight matrix itself; the same
    seed then gives the same mask for any v, so the kernel must equal that matrix times v, in
    value and gradient, and the fused kernel must drop exactly the same near weights.
    """
    length, bandwidth, p = 24, 6, 0.3
    q, k, v = qkv(length, batch=1)
    identity = torch.eye(length, device=DEVICE).expand(1, 2, length, length)
    torch.manual_seed(7)
    weights = kernels.band_attention(q, k, identity, bandwidth, causal, None, 16, dropout_p=p).detach()
    dense = torch.softmax(
        (q @ k.transpose(-1, -2) * 8 ** -0.5).masked_fill(~dense_band_mask(length, bandwidth, causal, DEVICE), float("-inf")), -1
    ).detach()
    kept = weights != 0
    torch.testing.assert_close(weights[kept], dense[kept] / (1 - p))
    kept_fraction = kept.sum() / (dense > 0).sum()
    assert 0.55 < kept_fraction < 0.85, kept_fraction

    torch.manual_seed(7)
    out = kernels.band_attention(q, k, v, bandwidth, causal, None, 16, dropout_p=p)
    dense_inputs = as_double((q, k, v))
    scores = dense_inputs[0] @ dense_inputs[1].transpose(-1, -2) * 8 ** -0.5
    mask = dense_band_mask(length, bandwidth, causal, DEVICE)
    dropped = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1) * kept / (1 - p)
    want = dropped @ dense_inputs[2]
    assert_close_all([out], [want], atol=2e-6)
    assert_close_all(grads(out, (q, k, v)), grads(want, dense_inputs), atol=1e-5)

    config = FMMConfig(bandwidth=bandwidth, feature_maps=("elu",), causal=causal, chunk_size=16)
    near_weight, far_weight = blend_weights(2, 8, per_channel=True)
    torch.manual_seed(7)
    fused = kernels.fmm_attention(q, k, v, config, near_weight, far_weight, None, dropout_p=p)
    far = linear_attention(q, k, v, FEATURE_MAPS["elu"], causal)
    assert_close_all([fused], [near_weight * want + far_weight * far], atol=1e-5)


def test_triton_backend_routes_fmm_attention_to_the_kernels(monkeypatch):
    calls = []
    fused = ops.fmm_attention
    monkeypatch.setattr(ops, "fmm_attention", lambda *args, **kwargs: calls.append(1) or fused(*args, **kwargs))
    q, k, v = qkv(20)
    near_weight, far_weight = blend_weights(2, 8, per_channel=True)
    torch_config = FMMConfig(bandwidth=4, chunk_size=16)
    triton_config = FMMConfig(bandwidth=4, chunk_size=16, backend="triton")
    want = fmm_attention(q, k, v, torch_config, near_weight, far_weight)
    got = fmm_attention(q, k, v, triton_config, near_weight, far_weight)
    assert calls == [1]
    assert_close_all([got], [want], atol=1e-5)


def test_auto_backend_picks_triton_only_for_cuda_tensors(monkeypatch):
    monkeypatch.setattr(ops, "fmm_attention", lambda *args, **kwargs: pytest.fail("auto ran Triton on CPU tensors"))
    config = FMMConfig(bandwidth=4, chunk_size=16, backend="auto")
    cpu = torch.randn(1, 2, 10, 8)
    assert not uses_triton(config, cpu)
    fmm_attention(cpu, cpu, cpu, config, torch.ones(2, 1, 8), torch.ones(2, 1, 1))
    assert not uses_triton(config, cpu.double())
    if torch.cuda.is_available():
        assert uses_triton(config, cpu.cuda())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the failure without CUDA")
def test_triton_backend_without_cuda_fails_naming_the_option(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(FMMOptionError) as error:
        check_backend(FMMConfig(backend="triton"))
    assert error.value.option == "backend"
    assert "no CUDA device" in str(error.value)


def test_triton_backend_without_triton_fails_naming_the_option(monkeypatch):
    monkeypatch.setattr(kernels, "triton_installed", lambda: False)
    with pytest.raises(FMMOptionError, match="backend: 'triton' cannot run here: Triton is not installed"):
        check_backend(FMMConfig(backend="triton"))
    assert not uses_triton(FMMConfig(backend="auto"), torch.zeros(1))


def test_unknown_backend_is_rejected():
    with pytest.raises(FMMOptionError, match="backend: unknown backend 'cuda'; choices: auto, torch, compiled, triton"):
        FMMConfig(backend="cuda")


def test_kernels_compile_for_a_gpu_target():
    """Triton's compiler (to a cubin for sm_90, no GPU needed) accepts the kernels, not just the interpreter."""
    env = dict(os.environ, TRITON_INTERPRET="0")
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "fmm_attention.triton.compile_check", "--arch", "90", "--quick"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all kernels compiled" in result.stdout


def test_kernel_map_list_matches_the_kernels_and_other_maps_stay_on_the_torch_path(monkeypatch):
    assert set(ops.MAP_CODES) == set(kernels.KERNEL_FEATURE_MAPS)
    with pytest.raises(FMMOptionError, match="backend: the Triton kernels do not compute the feature map 'softmax'"):
        check_backend(FMMConfig(backend="triton", feature_maps=("elu", "softmax")))
    config = FMMConfig(backend="auto", feature_maps=("elu", "softmax"))
    monkeypatch.setattr(kernels, "triton_installed", lambda: True)
    assert not uses_triton(config, torch.zeros(1))  # whatever the device: the kernels lack it
    for settings in (dict(far_outside_band=True), dict(far_horizons=(64,)), dict(near_alibi=True)):
        assert kernels_lack(FMMConfig(backend="auto", **settings)) == ""


SPLIT_VARIANTS = {  # the long-context options, alone and together (the split far field)
    "alibi": dict(near_alibi=True),
    "outside": dict(far_outside_band=True),
    "decay": dict(far_horizons=(2.0, 40.0)),
    "split_alibi": dict(near_alibi=True, far_outside_band=True, far_horizons=(4.0, 100.0)),
}


@pytest.mark.parametrize("name", sorted(SPLIT_VARIANTS))
@pytest.mark.parametrize("bandwidth", [5, 20])
def test_long_context_options_match_torch_and_dense(name, bandwidth):
    """In-band bias, far field outside the band, decaying far field: kernels == torch path == dense
    reference, values and gradients; lengths over several tiles, a band within a tile and across."""
    q, k, v = qkv(53, heads=3, head_dim=12)
    assert_fused_matches_torch_and_dense(FMMConfig(bandwidth=bandwidth, chunk_size=16, **SPLIT_VARIANTS[name]), q, k, v,
                                         *blend_weights(3, 12, per_channel=True), ragged_padding(2, 53))


def test_separate_kernels_take_the_long_context_options():
    """band_attention with slopes, linear_attention with a decay and skipped keys: the torch signatures."""
    q, k, v = qkv(41, heads=2)
    padding = ragged_padding(2, 41)
    slopes = torch.tensor([0.5, 0.125], device=DEVICE)
    decay = torch.tensor([0.6, 0.95], device=DEVICE)
    dense_inputs = as_double((q, k, v))
    band = kernels.band_attention(q, k, v, 6, True, padding, 16, slopes=slopes)
    dense_band = dense_band_attention(*dense_inputs, 6, True, padding, slopes.double())
    assert_close_all([band], [dense_band], atol=2e-6)
    assert_close_all(grads(band, (q, k, v)), grads(dense_band, dense_inputs), atol=1e-5)
    phi = FEATURE_MAPS["elu"]
    far = kernels.linear_attention(q, k, v, phi, True, padding, 16, decay=decay, skip=6)
    dense_far = dense_linear_attention(*dense_inputs, phi, True, padding, decay=decay.double(), skip=6)
    assert_close_all([far], [dense_far], atol=2e-6, rtol=1e-5)
    assert_close_all(grads(far, (q, k, v)), grads(dense_far, dense_inputs), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="causal linear attention only"):
        kernels.linear_attention(q, k, v, phi, False, padding, 16, decay=decay)
