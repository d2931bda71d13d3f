"""Near field: banded softmax attention in O(N * w) time and memory.

Query i attends to the keys in its band, with softmax normalised over the band only:
  causal:        i - w < j <= i        (w keys, itself included)
  bidirectional: |i - j| < w           (2w - 1 keys)
Padded keys (``key_padding_mask`` True) get no weight; a query with no visible key yields 0.

Queries are processed in chunks of ``chunk_size``; each chunk scores only the keys its band can
reach (chunk_size + w - 1 causal, chunk_size + 2w - 2 bidirectional), so no N x N tensor exists.
Chunks run in blocks; the backward pass recomputes each block's scores from q, k and the saved
log-normalisers, so training keeps O(N) numbers, not O(N * w). A band that covers the whole
sequence (w >= N) is plain softmax attention and runs as one SDPA call.
Tensors are (batch, heads, length, head_dim); ``key_padding_mask`` is (batch, length).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def band_reach(bandwidth: int, causal: bool) -> Tuple[int, int]:
    """How far the band reaches (to the left, to the right) of a query position."""
    return bandwidth - 1, 0 if causal else bandwidth - 1


def in_band(queries: int, keys: int, key_offset: int, left: int, right: int, device) -> torch.Tensor:
    """(queries, keys) bool: key j sits in the band of query i, key j standing at position j - key_offset."""
    offsets = torch.arange(keys, device=device)[None, :] - key_offset - torch.arange(queries, device=device)[:, None]
    return (offsets >= -left) & (offsets <= right)


def masked_softmax_average(
    scores: torch.Tensor, visible: torch.Tensor, values: torch.Tensor, dropout_p: float = 0.0
) -> torch.Tensor:
    """softmax(scores) over the visible keys, times values; rows with no visible key give 0.

    The softmax runs in fp32 at least (as fairseq's own attention does under fp16).
    """
    weights, _, _ = _visible_softmax(scores, visible)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p, training=True)
    return weights.to(values.dtype) @ values


def _visible_softmax(scores: torch.Tensor, visible: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """softmax over the visible keys in fp32 (0 where nothing is visible), with the row maximum
    and the row sum of exp(score - maximum) that normalised it."""
    scores = scores.to(torch.promote_types(scores.dtype, torch.float32)).masked_fill(~visible, float("-inf"))
    row_max = scores.amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    weights = torch.exp(scores - row_max)
    total = weights.sum(dim=-1, keepdim=True)
    return weights / total.clamp_min(torch.finfo(weights.dtype).tiny), row_max, total


CHUNKS_PER_BLOCK = 16  # query chunks processed together; temporaries are O(block), not O(N)


class _BandWindows:
    """Chunked layout of the band: query chunk c sees keys [c*chunk - left, c*chunk + chunk + right).

    Keys are padded by ``left`` before and enough after that every window exists; a block of chunks
    [i, j) touches padded keys [i*chunk, (j-1)*chunk + window).
    """

    def __init__(self, q, bandwidth: int, causal: bool, key_padding_mask, chunk_size: int):
        batch, heads, self.length, _ = q.shape
        self.left, self.right = band_reach(bandwidth, causal)
        self.chunk = min(chunk_size, self.length)
        self.num_chunks = -(-self.length // self.chunk)
        self.padded = self.num_chunks * self.chunk
        self.window = self.chunk + self.left + self.right
        self.key_pad = (self.left, self.padded - self.length + self.right)
        key_exists = torch.ones(batch, self.length, dtype=torch.bool, device=q.device)
        if key_padding_mask is not None:
            key_exists = ~key_padding_mask.to(torch.bool)
        window_keys_exist = F.pad(key_exists, self.key_pad, value=False).unfold(1, self.window, self.chunk)  # b n w
        in_window = in_band(self.chunk, self.window, self.left, self.left, self.right, q.device)
        self.visible = in_window[None, None, None] & window_keys_exist[:, None, :, None, :]  # b 1 n c w

    def blocks(self):
        return [slice(first, min(first + CHUNKS_PER_BLOCK, self.num_chunks))
                for first in range(0, self.num_chunks, CHUNKS_PER_BLOCK)]

    def query_chunks(self, x: torch.Tensor) -> torch.Tensor:
        """(b, h, length, d) -> (b, h, n, chunk, d)."""
        x = F.pad(x, (0, 0, 0, self.padded - self.length)) if self.padded > self.length else x
        return x.reshape(x.shape[0], x.shape[1], self.num_chunks, self.chunk, x.shape[-1])

    def key_windows(self, x: torch.Tensor) -> torch.Tensor:
        """(b, h, length, d) -> (b, h, n, window, d): overlapping windows (a view of one padded copy)."""
        return F.pad(x, (0, 0) + self.key_pad).unfold(2, self.window, self.chunk).transpose(-1, -2)

    def add_windows(self, padded_keys_grad: torch.Tensor, window_grads: torch.Tensor, block: slice) -> None:
        """Adds a block's (b, h, n, window, d) gradients into the padded key axis, overlaps summed."""
        batch, heads, n, window, dim = window_grads.shape
        span = (n - 1) * self.chunk + window
        columns = window_grads.permute(0, 1, 4, 3, 2).reshape(batch * heads, dim * window, n)
        folded = F.fold(columns, (span, 1), (window, 1), stride=(self.chunk, 1))  # (b h) d span 1
        start = block.start * self.chunk
        padded_keys_grad[:, :, start : start + span] += folded.view(batch, heads, dim, span).transpose(-1, -2)

    def unpad_keys(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, self.left : self.left + self.length]


class _BandAttentionFunction(torch.autograd.Function):
    """Banded softmax attention, block by block; backward recomputes the scores from q, k and the
    saved log-normalisers (and dropout mask), so nothing of size N x window is kept."""

    @staticmethod
    def forward(ctx, q, k, v, bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p):
        layout = _BandWindows(q, bandwidth, causal, key_padding_mask, chunk_size)
        q_chunks, k_windows, v_windows = layout.query_chunks(q), layout.key_windows(k), layout.key_windows(v)
        out = v.new_empty(q_chunks.shape[:-1] + (v.shape[-1],))
        log_normalisers, keep_masks = [], []
        for block in layout.blocks():
            scores = q_chunks[:, :, block] @ k_windows[:, :, block].transpose(-1, -2) * scale
            weights, row_max, total = _visible_softmax(scores, layout.visible[:, :, block])
            # log(sum exp): +inf where no key is visible, so that exp(score - it) is 0 there too
            log_normalisers.append(torch.where(total > 0, row_max + torch.log(total), torch.full_like(total, float("inf"))))
            if dropout_p > 0.0:
                keep = torch.empty_like(weights, dtype=torch.bool).bernoulli_(1.0 - dropout_p)
                keep_masks.append(keep)
                weights = weights * keep / (1.0 - dropout_p)
            out[:, :, block] = weights.to(v.dtype) @ v_windows[:, :, block]
        ctx.save_for_backward(q, k, v, torch.cat(log_normalisers, dim=2), *keep_masks)
        ctx.settings = (bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p)
        return out.reshape(out.shape[0], out.shape[1], layout.padded, -1)[:, :, : layout.length]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        q, k, v, log_normaliser, *keep_masks = ctx.saved_tensors
        bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p = ctx.settings
        layout = _BandWindows(q, bandwidth, causal, key_padding_mask, chunk_size)
        q_chunks, k_windows, v_windows = layout.query_chunks(q), layout.key_windows(k), layout.key_windows(v)
        grad_out = layout.query_chunks(grad_out)
        grad_q = torch.empty_like(q_chunks)
        padded_keys = layout.left + layout.padded + layout.right
        grad_k = k.new_zeros(k.shape[0], k.shape[1], padded_keys, k.shape[-1])
        grad_v = v.new_zeros(v.shape[0], v.shape[1], padded_keys, v.shape[-1])
        for index, block in enumerate(layout.blocks()):
            keys, values, queries, grads = k_windows[:, :, block], v_windows[:, :, block], q_chunks[:, :, block], grad_out[:, :, block]
            scores = (queries @ keys.transpose(-1, -2) * scale).to(log_normaliser.dtype)
            weights = torch.exp(scores.masked_fill(~layout.visible[:, :, block], float("-inf")) - log_normaliser[:, :, block])
            grad_weights = (grads @ values.transpose(-1, -2)).to(weights.dtype)
            if dropout_p > 0.0:
                keep = keep_masks[index] / (1.0 - dropout_p)
                used_weights, grad_weights = weights * keep, grad_weights * keep
            else:
                used_weights = weights
            grad_scores = weights * (grad_weights - (grad_weights * weights).sum(dim=-1, keepdim=True))
            grad_scores = (grad_scores * scale).to(q.dtype)
            grad_q[:, :, block] = grad_scores @ keys
            layout.add_windows(grad_k, grad_scores.transpose(-1, -2) @ queries, block)
            layout.add_windows(grad_v, used_weights.to(v.dtype).transpose(-1, -2) @ grads, block)
        grad_q = grad_q.reshape(q.shape[0], q.shape[1], layout.padded, -1)[:, :, : layout.length]
        return grad_q, layout.unpad_keys(grad_k), layout.unpad_keys(grad_v), None, None, None, None, None, None


def band_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bandwidth: int,
    causal: bool,
    key_padding_mask: Optional[torch.Tensor] = None,
    chunk_size: int = 64,
    scale: Optional[float] = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Banded softmax attention softmax_band(q k^T * scale) v, computed chunk by chunk."""
    if bandwidth < 1:
        raise ValueError(f"bandwidth must be >= 1, got {bandwidth}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    if bandwidth >= q.shape[2]:
        return covering_band_attention(q, k, v, causal, key_padding_mask, scale, dropout_p)
    return _BandAttentionFunction.apply(q, k, v, bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p)


def covering_band_attention(q, k, v, causal: bool, key_padding_mask, scale: float, dropout_p: float) -> torch.Tensor:
    """The band when it covers the whole sequence: plain softmax attention, by torch's SDPA kernel.

    Every (earlier, when causal) non-padded key is visible; a query with no visible key yields 0
    (it attends to all keys inside SDPA, so that no NaN reaches the gradients, and is zeroed after).
    """
    if key_padding_mask is None or not key_padding_mask.any():
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=causal, scale=scale)
    length = q.shape[2]
    visible = ~key_padding_mask.to(torch.bool)[:, None, None, :]  # b 1 1 n
    if causal:
        visible = visible & torch.ones(length, length, dtype=torch.bool, device=q.device).tril()
    sees_a_key = visible.any(dim=-1, keepdim=True)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=visible | ~sees_a_key, dropout_p=dropout_p, scale=scale)
    return out.masked_fill(~sees_a_key, 0.0)


def band_attention_step(
    q: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    padding: Optional[torch.Tensor],
    bandwidth: int,
    scale: Optional[float] = None,
) -> torch.Tensor:
    """One causal decoding step of the near field: the query attends to the last ``bandwidth`` of
    ``keys`` (its own key last, as the decoder keeps them).

    q: (batch, heads, 1, head_dim); keys/values: (batch, heads, m, head_dim); padding: (batch, m)
    bool, or None when no key is padded (then it is a plain softmax).
    """
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    keys, values = keys[:, :, -bandwidth:], values[:, :, -bandwidth:]
    scores = (q * scale) @ keys.transpose(-1, -2)  # b h 1 w
    if padding is None:
        weights = torch.softmax(scores, dim=-1, dtype=torch.promote_types(scores.dtype, torch.float32))
        return weights.to(values.dtype) @ values
    return masked_softmax_average(scores, ~padding[:, None, None, -bandwidth:], values)
