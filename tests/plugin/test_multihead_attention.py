"""FMMMultiheadAttention: fairseq layout, incremental decoding, beam reordering, bad inputs."""
import pytest
import torch

from fmm_attention import BlendConfig, FMMConfig, fmm_attention
from fmm_fairseq.modules import FMMMultiheadAttention

EMBED, HEADS = 32, 4


def layer(causal=True, bandwidth=5, maps=("elu", "elu_flip"), blend="channel", seed=0):
    torch.manual_seed(seed)
    attention = FMMMultiheadAttention(EMBED, HEADS, FMMConfig(bandwidth=bandwidth, feature_maps=maps, causal=causal, chunk_size=8), BlendConfig(granularity=blend))
    if attention.near_weight is not None:
        with torch.no_grad():  # both fields matter in every test, not only the far one (whatever the near init)
            attention.near_weight.uniform_(0.5, 1.5)
    return attention.eval()


def test_forward_is_the_math_on_projected_heads():
    attention = layer(causal=False, blend="head")
    x = torch.randn(11, 2, EMBED)
    padding = torch.zeros(2, 11, dtype=torch.bool)
    padding[1, 8:] = True
    out, weights = attention(x, x, x, key_padding_mask=padding)
    assert out.shape == x.shape and weights is None

    def heads(t):
        return t.view(11, 2, HEADS, EMBED // HEADS).permute(1, 2, 0, 3)

    q, k, v = heads(attention.q_proj(x)), heads(attention.k_proj(x)), heads(attention.v_proj(x))
    expected = fmm_attention(q, k, v, attention.config, attention.near_weight, attention.far_weight, padding)
    expected = attention.out_proj(expected.permute(2, 0, 1, 3).reshape(11, 2, EMBED))
    torch.testing.assert_close(out, expected)


def state_numel(attention, incremental_state):
    return sum(t.numel() for t in attention._get_input_buffer(incremental_state).values())


@pytest.mark.parametrize("bandwidth,maps", [(5, ("elu", "elu_flip")), (1, ("relu",)), (7, ()), (0, ("elu",))])
def test_incremental_decoding_equals_full_forward(bandwidth, maps):
    attention = layer(bandwidth=bandwidth, maps=maps)
    steps = 60
    x = torch.randn(steps, 3, EMBED)
    full, _ = attention(x, x, x)
    incremental_state = {}
    sizes = []
    for t in range(steps):
        step, _ = attention(x[t : t + 1], x[t : t + 1], x[t : t + 1], incremental_state=incremental_state)
        assert (step - full[t : t + 1]).abs().max() <= 1e-5, f"step {t}"
        sizes.append(state_numel(attention, incremental_state))
    # From the first token on: the band's kept keys and the far field's sums, O(w + r d^2) numbers,
    # constant once the band's keys are all kept, whatever the step count.
    head_dim = EMBED // HEADS
    kept = max(bandwidth - 1, 0)
    assert len(set(sizes[kept:])) == 1 and sizes[0] <= sizes[-1]
    buffer = attention._get_input_buffer(incremental_state)
    assert buffer["prev_key"].shape == buffer["prev_value"].shape == (3, HEADS, kept, head_dim)
    assert sizes[-1] == 2 * 3 * HEADS * kept * head_dim + 3 * HEADS * len(maps) * head_dim * (head_dim + 1)
    if maps:
        assert buffer["far_state"].shape == (3, HEADS, len(maps), head_dim, head_dim + 1)


def test_incremental_with_several_tokens_at_once_and_padding():
    attention = layer()
    x = torch.randn(20, 2, EMBED)
    padding = torch.zeros(2, 20, dtype=torch.bool)
    padding[0, :4] = True  # a left-padded prompt
    full, _ = attention(x, x, x, key_padding_mask=padding)
    incremental_state = {}
    prefix, _ = attention(x[:9], x[:9], x[:9], key_padding_mask=padding[:, :9], incremental_state=incremental_state)
    rest = [attention(x[t : t + 1], x[t : t + 1], x[t : t + 1], key_padding_mask=padding[:, t : t + 1], incremental_state=incremental_state)[0] for t in range(9, 20)]
    torch.testing.assert_close(torch.cat([prefix] + rest), full, rtol=0, atol=1e-5)


def test_reorder_incremental_state_as_beam_search_does():
    """Rows are re-picked between steps; every row must still equal a full pass over its history."""
    attention = layer(bandwidth=4)
    batch, steps = 4, 25
    generator = torch.Generator().manual_seed(3)
    inputs = torch.randn(steps, batch, EMBED, generator=generator)
    histories = [[] for _ in range(batch)]  # per current row: the inputs it has consumed
    outputs = [[] for _ in range(batch)]
    incremental_state = {}
    for t in range(steps):
        if t > 0 and t % 3 == 0:
            new_order = torch.randint(0, batch, (batch,), generator=generator)
            attention.reorder_incremental_state(incremental_state, new_order)
            histories = [list(histories[i]) for i in new_order.tolist()]
            outputs = [list(outputs[i]) for i in new_order.tolist()]
        step, _ = attention(inputs[t : t + 1], inputs[t : t + 1], inputs[t : t + 1], incremental_state=incremental_state)
        for row in range(batch):
            histories[row].append(inputs[t, row])
            outputs[row].append(step[0, row])
    for row in range(batch):
        sequence = torch.stack(histories[row])[:, None]
        full, _ = attention(sequence, sequence, sequence)
        torch.testing.assert_close(torch.stack(outputs[row]), full[:, 0], rtol=0, atol=1e-5)


def test_causal_layer_ignores_future_tokens():
    attention = layer()
    x = torch.randn(30, 2, EMBED)
    changed = x.clone()
    changed[20:] = torch.randn(10, 2, EMBED)
    assert torch.equal(attention(x, x, x)[0][:20], attention(changed, changed, changed)[0][:20])


def test_fully_padded_sequence_gives_no_nan():
    attention = layer(causal=False).train()
    x = torch.randn(9, 2, EMBED, requires_grad=True)
    padding = torch.zeros(2, 9, dtype=torch.bool)
    padding[1] = True
    out, _ = attention(x, x, x, key_padding_mask=padding)
    out.backward(torch.randn_like(out))
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()


def test_bad_inputs_are_refused():
    attention = layer(causal=False)
    x, y = torch.randn(5, 2, EMBED), torch.randn(5, 2, EMBED)
    with pytest.raises(ValueError, match="self-attention"):
        attention(x, y, y)
    with pytest.raises(ValueError, match="attn_mask"):
        attention(x, x, x, attn_mask=torch.zeros(5, 5))
    with pytest.raises(ValueError, match="key_padding_mask"):
        attention(x, x, x, key_padding_mask=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="causal"):
        attention(x, x, x, incremental_state={})
    with pytest.raises(ValueError, match="granularity"):
        FMMMultiheadAttention(EMBED, HEADS, FMMConfig(), BlendConfig(granularity="layer"))
