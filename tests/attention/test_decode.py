"""Token-by-token decoding (fmm_attention.decode) equals the full forward; its state stays bounded."""
import pytest
import torch

from fmm_attention import FMMConfig, empty_decode_state, fmm_attention, fmm_attention_step
from fmm_attention.decode import far_sums_from
from inputs import blend_weights, qkv


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
    "variant",
    [dict(far_outside_band=True), dict(far_horizons=(6,)), dict(far_horizons=(3, 50)), dict(far_outside_band=True, far_horizons=(4, 9))],
)
@pytest.mark.parametrize("bandwidth", [1, 4])
def test_far_field_variants_decode_with_constant_state(variant, bandwidth):
    """Decay / outside the band: the sums from the first step on, equal to the full forward, padding included."""
    config = FMMConfig(bandwidth=bandwidth, feature_maps=("elu", "elu_flip"), chunk_size=8, **variant)
    q, k, v = qkv(30)
    padding = torch.zeros(2, 30, dtype=torch.bool)
    padding[0, 5:9] = True
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    full = fmm_attention(q, k, v, config, near_weight, far_weight, padding)
    state = empty_decode_state(config, 2, 3, 8, 8, q)
    sizes = set()
    for step in range(30):
        out, state = fmm_attention_step(
            q[:, :, step : step + 1], k[:, :, step : step + 1], v[:, :, step : step + 1], state,
            config, near_weight, far_weight, padding[:, step : step + 1],
        )
        torch.testing.assert_close(out, full[:, :, step : step + 1], rtol=1e-9, atol=1e-12)
        if step >= bandwidth:
            sizes.add(sum(t.numel() for t in state.values()))
    assert "far_state" in state and len(sizes) == 1


def test_in_band_bias_decodes_as_the_forward():
    config = FMMConfig(bandwidth=5, chunk_size=8, near_alibi=True, far_horizons=(8, 32))
    q, k, v = qkv(25)
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    full = fmm_attention(q, k, v, config, near_weight, far_weight)
    state = empty_decode_state(config, 2, 3, 8, 8, q)
    for step in range(25):
        out, state = fmm_attention_step(q[:, :, step : step + 1], k[:, :, step : step + 1], v[:, :, step : step + 1],
                                        state, config, near_weight, far_weight)
        torch.testing.assert_close(out, full[:, :, step : step + 1], rtol=1e-9, atol=1e-12)
