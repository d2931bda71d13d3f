"""The compiled CPU kernels (fmm_attention.compiled) against the dense references in float64, by
gradcheck, inside FMM attention and its states, and the torch path where they are not built."""
import subprocess
import sys

import pytest
import torch

from fmm_attention import FMMConfig, FMMOptionError, compiled, fmm_attention
from fmm_attention import far
from fmm_attention.config import alibi_slopes, decay_rates
from fmm_attention.far import far_step, mean_linear_attention
from fmm_attention.feature_maps import FEATURE_MAPS, resolve_feature_maps
from fmm_attention.fmm import check_backend, uses_compiled
from fmm_attention.naive import dense_band_attention, dense_fmm_attention, dense_linear_attention
from fmm_attention.near import band_attention
from inputs import blend_weights, qkv, ragged_padding

pytestmark = pytest.mark.skipif(compiled.unavailable_reason() is not None, reason="compiled kernels not built")
SHAPES = [(1, 1), (7, 3), (37, 5), (64, 20), (50, 1), (100, 20)]  # (length, bandwidth)


@pytest.fixture
def no_torch_band(monkeypatch):
    """The chunked torch band and causal far field fail if reached: what passes was computed by the
    compiled kernels."""
    from fmm_attention import near

    monkeypatch.setattr(near, "_BandAttentionFunction", None)
    monkeypatch.setattr(far, "_CausalFarFieldFunction", None)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("length,bandwidth", SHAPES)
@pytest.mark.parametrize("bias", [False, True])
def test_band_matches_dense(causal, length, bandwidth, bias, no_torch_band):
    q, k, v = qkv(length)
    padding = ragged_padding(2, length)
    slopes = alibi_slopes(3) if bias else None
    got = band_attention(q, k, v, bandwidth, causal, padding, 8, slopes=slopes, compiled=True)
    torch.testing.assert_close(got, dense_band_attention(q, k, v, bandwidth, causal, padding, slopes), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("causal", [True, False])
def test_band_gradcheck(causal, no_torch_band):
    q, k, v = [t.requires_grad_() for t in qkv(13, heads=2, head_dim=4)]
    v = torch.randn(2, 2, 13, 3, dtype=torch.float64, requires_grad=True)  # value size != head size
    padding = ragged_padding(2, 13)
    assert torch.autograd.gradcheck(
        lambda q, k, v: band_attention(q, k, v, 3, causal, padding, 4, slopes=alibi_slopes(2), compiled=True), (q, k, v)
    )


def test_band_from_earlier_keys_matches_the_whole(no_torch_band):
    """Keys standing before the queries (a state's kept keys, w-1 or more): the last queries of the whole."""
    q, k, v = qkv(30)
    padding = ragged_padding(2, 30)
    whole = dense_band_attention(q, k, v, 6, True, padding)
    for earlier in (5, 9):
        got = band_attention(q[:, :, 20:], k[:, :, 20 - earlier:], v[:, :, 20 - earlier:], 6, True,
                             padding[:, 20 - earlier:], 8, compiled=True)
        torch.testing.assert_close(got, whole[:, :, 20:], rtol=1e-10, atol=1e-12)


COMPILED_MAPS = sorted(compiled.MAP_CODES)


@pytest.mark.parametrize("feature_map", COMPILED_MAPS)
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("horizons", [(), (2, 30)])
def test_causal_far_field_matches_dense(feature_map, normalize, horizons, no_torch_band):
    q, k, v = qkv(37)
    padding = ragged_padding(2, 37)
    phi, decay = FEATURE_MAPS[feature_map], decay_rates(horizons, 3)
    got = mean_linear_attention(q, k, v, [phi], True, padding, 8, normalize, decay=decay, compiled=True)
    want = dense_linear_attention(q, k, v, phi, True, padding, normalize, decay=decay)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("maps", [("elu", "elu_flip"), ("relu",), ("tanh",)])
@pytest.mark.parametrize("normalize", [True, False])
def test_causal_far_field_gradcheck_with_states(maps, normalize, no_torch_band):
    """Gradients of q, k, v (dv != d) and the initial state, through the outputs and the final state."""
    q, k = [t.requires_grad_() for t in qkv(13, heads=2, head_dim=4)[:2]]
    v = torch.randn(2, 2, 13, 3, dtype=torch.float64, requires_grad=True)
    initial = torch.rand(2, 2, len(maps), 4, 4, dtype=torch.float64, requires_grad=True)
    padding = ragged_padding(2, 13)
    feature_maps, decay = resolve_feature_maps(maps), decay_rates((2, 9), 2)
    assert torch.autograd.gradcheck(
        lambda q, k, v, initial: mean_linear_attention(q, k, v, feature_maps, True, padding, 4, normalize, decay=decay,
                                                       initial_state=initial, output_final_state=True, compiled=True),
        (q, k, v, initial),
    )


def test_recurrent_step_matches_the_torch_step():
    q, k, v = qkv(1)
    state = torch.rand(2, 3, 2, 8, 9, dtype=torch.float64)
    maps, decay = resolve_feature_maps(["elu", "elu_flip"]), decay_rates((4, 64), 3)
    padding = torch.tensor([[False], [True]])
    for key, value, key_padding in ((k, v, padding), (k[:, :, :0], v[:, :, :0], None)):  # a key joins, or none does
        want = far_step(q, key, value, state, maps, key_padding, decay=decay)
        got = far_step(q, key, value, state, maps, key_padding, decay=decay, compiled=True)
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("feature_map", ["softmax", "softmax_flip", "taylor"])
def test_maps_the_kernels_lack_stay_on_the_torch_path(feature_map, monkeypatch):
    monkeypatch.setattr(compiled, "causal_far_field", lambda *args: pytest.fail("compiled kernels reached"))
    q, k, v = qkv(20)
    assert compiled.map_codes(resolve_feature_maps(["elu", feature_map])) is None
    got = mean_linear_attention(q, k, v, resolve_feature_maps([feature_map]), True, None, 8, False, compiled=True)
    torch.testing.assert_close(got, dense_linear_attention(q, k, v, FEATURE_MAPS[feature_map], True, None, False),
                               rtol=1e-9, atol=1e-12)


def test_fp32_matches_the_torch_path():
    q, k, v = [t.float() for t in qkv(300, heads=4, head_dim=16)]
    for causal in (True, False):
        got = band_attention(q, k, v, 20, causal, None, 64, compiled=True)
        torch.testing.assert_close(got, band_attention(q, k, v, 20, causal, None, 64), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("settings", [dict(), dict(near_alibi=True, far_outside_band=True, far_horizons=(4, 16))])
def test_fmm_uses_them_and_matches_dense(settings, no_torch_band):
    config = FMMConfig(bandwidth=5, chunk_size=8, **settings)
    q, k, v = qkv(45)
    assert uses_compiled(config, q) and not uses_compiled(FMMConfig(backend="torch"), q)
    padding = ragged_padding(2, 45)
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    got = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    torch.testing.assert_close(got, dense_fmm_attention(q, k, v, config, near_weight, far_weight, padding), rtol=1e-9, atol=1e-12)
    first, state = fmm_attention(q[:, :, :17], k[:, :, :17], v[:, :, :17], config, near_weight, far_weight, padding[:, :17],
                                 output_final_state=True)
    rest, _ = fmm_attention(q[:, :, 17:], k[:, :, 17:], v[:, :, 17:], config, near_weight, far_weight, padding[:, 17:],
                            initial_state=state, output_final_state=True)
    torch.testing.assert_close(torch.cat([first, rest], dim=2), got, rtol=1e-9, atol=1e-12)


def test_dropout_and_half_precision_stay_on_the_torch_path(monkeypatch):
    for name in ("band_attention", "causal_far_field"):
        monkeypatch.setattr(compiled, name, lambda *args: pytest.fail("compiled kernels reached"))
    q, k, v = qkv(40)
    band_attention(q, k, v, 4, True, None, 8, dropout_p=0.1, compiled=True)
    half = [t.half() for t in (q, k, v)]
    band_attention(*half, 4, True, None, 8, compiled=True)
    mean_linear_attention(*half, resolve_feature_maps(["elu"]), True, chunk_size=8, compiled=True)


def test_without_the_extension_the_torch_path_runs_and_one_line_says_why():
    """In a process where the extension cannot load, importing the math logs one warning and
    computes with torch; asking for the compiled backend fails naming the option."""
    code = (
        "import sys; sys.modules['fmm_attention._cpu'] = None\n"  # an import of it fails, as when not built
        "import torch\n"
        "from fmm_attention import FMMConfig, FMMOptionError, fmm_attention, compiled\n"
        "from fmm_attention.fmm import check_backend\n"
        "q = torch.randn(1, 2, 50, 8)\n"
        "out = fmm_attention(q, q, q, FMMConfig(bandwidth=4), torch.ones(2, 1, 8), torch.ones(2, 1, 1))\n"
        "assert torch.isfinite(out).all() and not compiled.runs(q)\n"
        "try:\n    check_backend(FMMConfig(backend='compiled'))\nexcept FMMOptionError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "compiled CPU kernels are not built" in line]
    assert len(warnings) == 1 and "pip install --no-build-isolation -e ." in warnings[0]
    assert result.stdout.startswith("backend: 'compiled' cannot run here: the compiled CPU kernels are not built")


def test_compiled_backend_is_accepted_where_built():
    check_backend(FMMConfig(backend="compiled"))
    with pytest.raises(FMMOptionError, match="backend: unknown backend"):
        FMMConfig(backend="cpp")
