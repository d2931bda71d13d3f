"""The causal state (fmm_attention.fmm): a sequence attended piece by piece, states passed on, equals
the whole sequence (values and gradients), by chunks or token by token (the recurrent form), for
every configuration, padding included; the state stays bounded."""
import pytest
import torch

from fmm_attention import FMMConfig, chunking, compiled, empty_state, fmm_attention, fmm_attention_step
from inputs import blend_weights, far_projection, qkv, ragged_padding

# every test runs on the torch path and on the compiled CPU kernels (where built)
pytestmark = pytest.mark.parametrize("backend", [
    "torch",
    pytest.param("compiled", marks=pytest.mark.skipif(compiled.unavailable_reason() is not None, reason="not built")),
])

CONFIGS = {  # every far-field variant and the long-context options, each field alone
    "default": dict(bandwidth=4),
    "band_only": dict(bandwidth=6, feature_maps=()),
    "linear_only": dict(bandwidth=0, feature_maps=("tanh",)),
    "width_one": dict(bandwidth=1, feature_maps=("relu",)),
    "outside_band": dict(bandwidth=4, far_outside_band=True),
    "decay": dict(bandwidth=4, far_horizons=(3, 50)),
    "split_decay_alibi": dict(bandwidth=5, far_outside_band=True, far_horizons=(4, 9), near_alibi=True),
    "unnormalised": dict(bandwidth=3, feature_maps=("elu",), normalize_features=False),
    # far fields aimed at recall: F != head_dim, a far projection (the state keeps the keys unprojected)
    "taylor": dict(bandwidth=4, feature_maps=("taylor",), normalize_features=False),
    "taylor_projected_split_decay": dict(bandwidth=5, feature_maps=("taylor",), normalize_features=False, far_feature_dim=3,
                                         far_outside_band=True, far_horizons=(4, 9)),
    "hedgehog": dict(bandwidth=3, feature_maps=("softmax", "softmax_flip"), far_feature_dim=5),
    "projected_elu": dict(bandwidth=4, feature_maps=("elu", "elu_flip"), far_feature_dim=5),  # the compiled far field's too
}


def pieces(x, cuts):
    edges = [0, *cuts, x.shape[2]]
    return [x[:, :, a:b] for a, b in zip(edges, edges[1:])]


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("cuts", [(1,), (7,), (8, 9), (3, 17, 29), (29,)])
def test_pieces_with_states_passed_equal_the_whole(name, cuts, backend, monkeypatch):
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 2)
    config = FMMConfig(chunk_size=8, backend=backend, **CONFIGS[name])
    q, k, v = qkv(30)
    padding = ragged_padding(2, 30)
    padding[1, 9:12] = True  # padding inside a piece and across a cut
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    projection = far_projection(config)
    whole = fmm_attention(q, k, v, config, near_weight, far_weight, padding, far_projection=projection)
    state, outputs = None, []
    for q_piece, k_piece, v_piece, padding_piece in zip(
        pieces(q, cuts), pieces(k, cuts), pieces(v, cuts), pieces(padding[:, None, :, None], cuts)
    ):
        out, state = fmm_attention(q_piece, k_piece, v_piece, config, near_weight, far_weight, padding_piece[:, 0, :, 0],
                                   initial_state=state, output_final_state=True, far_projection=projection)
        outputs.append(out)
    torch.testing.assert_close(torch.cat(outputs, dim=2), whole, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_recurrent_steps_equal_the_whole_and_keep_a_bounded_state(name, backend):
    config = FMMConfig(chunk_size=8, backend=backend, **CONFIGS[name])
    q, k, v = qkv(30)
    padding = torch.zeros(2, 30, dtype=torch.bool)
    padding[0, 5:9] = True  # padding in the middle, as left-padded prompts would produce per step
    near_weight, far_weight = blend_weights(3, 8, per_channel=True)
    projection = far_projection(config)
    whole = fmm_attention(q, k, v, config, near_weight, far_weight, padding, far_projection=projection)
    state = empty_state(config, 2, 3, 8, 8, q)
    sizes = []
    for t in range(30):
        step_padding = None if t < 3 else padding[:, t : t + 1]  # no flags until a step brings them
        out, state = fmm_attention_step(q[:, :, t : t + 1], k[:, :, t : t + 1], v[:, :, t : t + 1], state, config,
                                        near_weight, far_weight, step_padding, far_projection=projection)
        torch.testing.assert_close(out, whole[:, :, t : t + 1], rtol=1e-9, atol=1e-12)
        assert state["prev_key"].shape[2] == min(t + 1, config.kept_keys)
        assert ("prev_key_padding_mask" in state) == (t >= 3)
        sizes.append(sum(tensor.numel() for tensor in state.values()))
    assert len(set(sizes[config.kept_keys + 3 :])) == 1  # constant once the kept keys are full
    assert ("far_state" in state) == config.has_far
    if config.has_far:  # F features per map: of head_dim, or of far_feature_dim when projected
        assert state["far_state"].shape == (2, 3, len(config.feature_maps), config.far_features(8), 9)


@pytest.mark.parametrize("name", ["default", "split_decay_alibi", "linear_only", "taylor_projected_split_decay"])
def test_a_prompt_by_chunks_then_steps_equals_the_whole(name, backend):
    """Prefill (one chunked call) leaves the state that decoding continues from."""
    config = FMMConfig(chunk_size=8, backend=backend, **CONFIGS[name])
    q, k, v = qkv(40)
    near_weight, far_weight = blend_weights(3, 8, per_channel=False)
    projection = far_projection(config)
    whole = fmm_attention(q, k, v, config, near_weight, far_weight, far_projection=projection)
    prompt, state = fmm_attention(q[:, :, :33], k[:, :, :33], v[:, :, :33], config, near_weight, far_weight,
                                  output_final_state=True, far_projection=projection)
    outputs = [prompt]
    for t in range(33, 40):
        out, state = fmm_attention_step(q[:, :, t : t + 1], k[:, :, t : t + 1], v[:, :, t : t + 1], state, config,
                                        near_weight, far_weight, far_projection=projection)
        outputs.append(out)
    torch.testing.assert_close(torch.cat(outputs, dim=2), whole, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["default", "split_decay_alibi", "decay"])  # recall far fields: test_fields.py
def test_gradients_flow_through_the_state(name, backend, monkeypatch):
    """The pieces' outputs and the final state are differentiable in q, k, v and the blend weights,
    through the states passed between pieces (a far field's tail chunk included)."""
    monkeypatch.setattr(chunking, "CHUNKS_PER_BLOCK", 1)
    config = FMMConfig(chunk_size=4, backend=backend, **CONFIGS[name])
    q, k, v = [t.requires_grad_() for t in qkv(13, batch=2, heads=2, head_dim=4)]
    near_weight, far_weight = [t.requires_grad_() for t in blend_weights(2, 4, per_channel=True)]
    padding = ragged_padding(2, 13)

    def in_two_pieces(q, k, v, near_weight, far_weight):
        first, state = fmm_attention(q[:, :, :6], k[:, :, :6], v[:, :, :6], config, near_weight, far_weight,
                                     padding[:, :6], output_final_state=True)
        rest, state = fmm_attention(q[:, :, 6:], k[:, :, 6:], v[:, :, 6:], config, near_weight, far_weight,
                                    padding[:, 6:], initial_state=state, output_final_state=True)
        return torch.cat([first, rest], dim=2), state["far_state"], state["prev_key"]

    assert torch.autograd.gradcheck(in_two_pieces, (q, k, v, near_weight, far_weight))


def test_states_are_for_causal_layers_only(backend):
    config = FMMConfig(causal=False, chunk_size=8, backend=backend)
    q, k, v = qkv(10)
    weight = torch.ones(3, 1, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="causal"):
        fmm_attention(q, k, v, config, weight, weight, output_final_state=True)
    with pytest.raises(ValueError, match="causal"):
        fmm_attention_step(q[:, :, :1], k[:, :, :1], v[:, :, :1], {}, config, weight, weight)
