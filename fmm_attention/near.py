"""Near field: banded softmax attention in O(N * w) time and memory.

Query i attends to the keys in its band, with softmax normalised over the band only:
  causal:        i - w < j <= i        (w keys, itself included)
  bidirectional: |i - j| < w           (2w - 1 keys)
Padded keys (``key_padding_mask`` True) get no weight; a query with no visible key yields 0.
With ``slopes`` (one per head, m_h > 0) the scores get a relative position bias inside the band,
-m_h |i - j| (ALiBi's, limited to the band: distances never exceed w, at any sequence length).

``band_step`` is the recurrent form for one query (decoding). Causal attention may continue from earlier tokens: keys, values and their padding flags may hold
``P`` more positions than the queries, the P before them (at most w-1 are used: a decoding state's
kept keys), so that a sequence attended piece by piece equals the whole.

Queries are processed in chunks of ``chunk_size``; each chunk scores only the keys its band can
reach (chunk_size + w - 1 causal, chunk_size + 2w - 2 bidirectional), so no N x N tensor exists.
Chunks run in blocks; the backward pass recomputes each block's softmax from q and k, so training
keeps O(N) numbers, not O(N * w). A band that covers the whole
sequence (w >= N) is plain softmax attention and runs as one SDPA call.
Tensors are (batch, heads, length, head_dim); ``key_padding_mask`` is (batch, keys).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from . import compiled as kernels
from .chunking import Chunks, band_reach, check_bandwidth, check_chunk_size


def in_band_distance(queries: int, keys: int, key_offset: int, device) -> torch.Tensor:
    """(queries, keys) float: |position of key j - position of query i|, key j at j - key_offset."""
    offsets = torch.arange(keys, device=device)[None, :] - key_offset - torch.arange(queries, device=device)[:, None]
    return offsets.abs().float()


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
    hidden = ~visible
    weights = _visible_softmax(scores, hidden, hidden.all(dim=-1, keepdim=True))
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p, training=True)
    return weights.to(values.dtype) @ values


def _visible_softmax(scores: torch.Tensor, hidden: torch.Tensor, empty_rows: Optional[torch.Tensor]) -> torch.Tensor:
    """softmax over the keys not ``hidden``, in fp32 at least; 0 on ``empty_rows`` (no visible key;
    None when there is none). One fused softmax: torch's exp is several times slower on the -inf
    of hidden keys than softmax is."""
    weights = torch.softmax(
        scores.masked_fill(hidden, float("-inf")), dim=-1, dtype=torch.promote_types(scores.dtype, torch.float32)
    )
    return weights if empty_rows is None else weights.masked_fill(empty_rows, 0.0)


class _BandWindows(Chunks):
    """Chunked layout of the band: query chunk c sees keys [c*chunk - left, c*chunk + chunk + right).

    The ``earlier`` keys before the queries' own stand in the ``left`` positions before them, the rest
    of which is padding, and enough is padded after that every window exists; a block of chunks
    [i, j) touches padded keys [i*chunk, (j-1)*chunk + window).
    """

    def __init__(self, q, earlier: int, bandwidth: int, causal: bool, key_padding_mask, chunk_size: int, slopes=None):
        super().__init__(q.shape[2], chunk_size)
        self.left, self.right = band_reach(bandwidth, causal)
        self.earlier = earlier
        self.window = self.chunk + self.left + self.right
        self.key_pad = (self.left - earlier, self.pad + self.right)
        key_exists = torch.ones(1, earlier + self.length, dtype=torch.bool, device=q.device)  # broadcast over the batch
        if key_padding_mask is not None:
            key_exists = ~key_padding_mask.to(torch.bool)
        window_keys_exist = F.pad(key_exists, self.key_pad, value=False).unfold(1, self.window, self.chunk)  # b n w
        in_window = in_band(self.chunk, self.window, self.left, self.left, self.right, q.device)
        self.hidden = ~(in_window[None, None, None] & window_keys_exist[:, None, :, None, :])  # b (or 1) 1 n c w
        empty_rows = self.hidden.all(dim=-1, keepdim=True)  # queries that see no key (padding, past the end)
        self.empty_rows = empty_rows if bool(empty_rows.any()) else None
        self.bias = None
        if slopes is not None:  # -m_h |key - query| over the window: 1 h 1 c w
            distance = in_band_distance(self.chunk, self.window, self.left, q.device)
            self.bias = -slopes.view(1, -1, 1, 1, 1).to(torch.promote_types(q.dtype, torch.float32)) * distance

    def weights(self, scaled_queries: torch.Tensor, key_windows: torch.Tensor, block: slice) -> torch.Tensor:
        """The band's softmax weights of a block, (b, h, n, chunk, window), fp32 at least."""
        scores = scaled_queries @ key_windows.transpose(-1, -2)
        if self.bias is not None:
            scores = scores + self.bias
        empty_rows = None if self.empty_rows is None else self.empty_rows[:, :, block]
        return _visible_softmax(scores, self.hidden[:, :, block], empty_rows)

    def key_windows(self, x: torch.Tensor) -> torch.Tensor:
        """(b, h, earlier + length, d) -> (b, h, n, window, d): overlapping windows (a view of one padded copy)."""
        return F.pad(x, (0, 0) + self.key_pad).unfold(2, self.window, self.chunk).transpose(-1, -2)

    def padded_key_grads(self, x: torch.Tensor) -> torch.Tensor:
        """Zeros for the gradient along the padded key axis, a whole number of chunks long, so that
        ``add_windows`` can view it as (b, h, chunks, chunk, d)."""
        pieces = -(-self.window // self.chunk)
        return x.new_zeros(x.shape[0], x.shape[1], (self.num_chunks + pieces - 1) * self.chunk, x.shape[-1])

    def add_windows(self, padded_keys_grad: torch.Tensor, window_grads: torch.Tensor, block: slice) -> None:
        """Adds a block's (b, h, n, window, d) gradients into the padded key axis, overlaps summed.

        Window c covers padded keys [c * chunk, c * chunk + window); cut into chunk-long pieces, piece p
        of every window lands on chunk c + p, so each piece is one strided add for the whole block.
        """
        batch, heads, n, window, dim = window_grads.shape
        grad_chunks = padded_keys_grad.view(batch, heads, -1, self.chunk, dim)
        for piece, first in enumerate(range(0, window, self.chunk)):
            part = window_grads[:, :, :, first : first + self.chunk]
            target = block.start + piece
            grad_chunks[:, :, target : target + n, : part.shape[3]] += part

    def unpad_keys(self, x: torch.Tensor) -> torch.Tensor:
        first = self.left - self.earlier
        return x[:, :, first : first + self.earlier + self.length]


class _BandAttentionFunction(torch.autograd.Function):
    """Banded softmax attention, block by block; backward recomputes each block's weights from q and
    k (and keeps the dropout mask), so nothing of size N x window is kept."""

    @staticmethod
    def forward(ctx, q, k, v, bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p, slopes):
        layout = _BandWindows(q, k.shape[2] - q.shape[2], bandwidth, causal, key_padding_mask, chunk_size, slopes)
        q_chunks, k_windows, v_windows = layout.split(q * scale), layout.key_windows(k), layout.key_windows(v)
        out = v.new_empty(q_chunks.shape[:-1] + (v.shape[-1],))
        keep_masks = []
        for block in layout.blocks():
            weights = layout.weights(q_chunks[:, :, block], k_windows[:, :, block], block)
            if dropout_p > 0.0:
                keep = torch.empty_like(weights, dtype=torch.bool).bernoulli_(1.0 - dropout_p)
                keep_masks.append(keep)
                weights = weights * keep / (1.0 - dropout_p)
            out[:, :, block] = weights.to(v.dtype) @ v_windows[:, :, block]
        ctx.save_for_backward(q, k, v, *keep_masks)
        ctx.settings = (bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p, slopes)
        return layout.merge(out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        q, k, v, *keep_masks = ctx.saved_tensors
        bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p, slopes = ctx.settings
        layout = _BandWindows(q, k.shape[2] - q.shape[2], bandwidth, causal, key_padding_mask, chunk_size, slopes)
        q_chunks, k_windows, v_windows = layout.split(q * scale), layout.key_windows(k), layout.key_windows(v)
        grad_out = layout.split(grad_out)
        grad_q = torch.empty_like(q_chunks)
        grad_k, grad_v = layout.padded_key_grads(k), layout.padded_key_grads(v)
        for index, block in enumerate(layout.blocks()):
            keys, values, queries, grads = k_windows[:, :, block], v_windows[:, :, block], q_chunks[:, :, block], grad_out[:, :, block]
            weights = layout.weights(queries, keys, block)
            grad_weights = (grads @ values.transpose(-1, -2)).to(weights.dtype)
            if dropout_p > 0.0:
                keep = keep_masks[index] / (1.0 - dropout_p)
                used_weights, grad_weights = weights * keep, grad_weights * keep
            else:
                used_weights = weights
            # d/d scores of softmax: weights * (grad_weights - sum(grad_weights * weights)); scores = (q * scale) . k
            grad_scores = weights * (grad_weights - (grad_weights * weights).sum(dim=-1, keepdim=True))
            grad_scores = grad_scores.to(q.dtype)
            grad_q[:, :, block] = grad_scores @ keys
            layout.add_windows(grad_k, grad_scores.transpose(-1, -2) @ queries, block)
            layout.add_windows(grad_v, used_weights.to(v.dtype).transpose(-1, -2) @ grads, block)
        grad_q = layout.merge(grad_q) * scale
        return grad_q, layout.unpad_keys(grad_k), layout.unpad_keys(grad_v), None, None, None, None, None, None, None


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
    slopes: Optional[torch.Tensor] = None,
    compiled: bool = False,
) -> torch.Tensor:
    """Banded softmax attention softmax_band(q k^T * scale - m_h |i - j|) v, computed chunk by chunk
    (``compiled``: by the compiled CPU kernels where they take the inputs and there is no dropout).

    Args:
        q: (batch, heads, length, head_dim).
        k, v: (batch, heads, P + length, head_dim): causal attention may give the P positions before
            the queries first (P = 0 otherwise); key_padding_mask: (batch, P + length), True = padded.
        bandwidth: w; causal: keys i-w < j <= i, else |i - j| < w.
        slopes: (heads,) relative position bias inside the band (None: none).
    Returns:
        (batch, heads, length, value_dim).
    """
    check_bandwidth(bandwidth)
    check_chunk_size(chunk_size)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    earlier = k.shape[2] - q.shape[2]
    if earlier and not causal:
        raise ValueError("only causal attention continues from earlier keys")
    if earlier > bandwidth - 1:  # the band reaches back w-1 keys
        k, v = k[:, :, earlier - bandwidth + 1 :], v[:, :, earlier - bandwidth + 1 :]
        key_padding_mask = None if key_padding_mask is None else key_padding_mask[:, earlier - bandwidth + 1 :]
        earlier = bandwidth - 1
    if bandwidth >= q.shape[2] and not earlier:
        return covering_band_attention(q, k, v, causal, key_padding_mask, scale, dropout_p, slopes)
    if compiled and dropout_p == 0.0 and kernels.runs(q):
        return kernels.band_attention(q, k, v, bandwidth, causal, key_padding_mask, scale, slopes)
    return _BandAttentionFunction.apply(q, k, v, bandwidth, causal, key_padding_mask, chunk_size, scale, dropout_p, slopes)


def covering_band_attention(q, k, v, causal: bool, key_padding_mask, scale: float, dropout_p: float, slopes=None) -> torch.Tensor:
    """The band when it covers the whole sequence: plain softmax attention, by torch's SDPA kernel.

    Every (earlier, when causal) non-padded key is visible; a query with no visible key yields 0
    (it attends to all keys inside SDPA, so that no NaN reaches the gradients, and is zeroed after).
    ``slopes``: the relative bias -m_h |i - j|, as a float mask.
    """
    if slopes is not None:
        length = q.shape[2]
        bias = -slopes.view(-1, 1, 1).to(q.dtype) * in_band_distance(length, length, 0, q.device).to(q.dtype)  # h n n
        visible = torch.ones(1, 1, length, length, dtype=torch.bool, device=q.device)
        if key_padding_mask is not None:
            visible = visible & ~key_padding_mask.to(torch.bool)[:, None, None, :]
        if causal:
            visible = visible & torch.ones(length, length, dtype=torch.bool, device=q.device).tril()
        sees_a_key = visible.any(dim=-1, keepdim=True)
        mask = bias.masked_fill(~(visible | ~sees_a_key), float("-inf"))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, scale=scale)
        return out.masked_fill(~sees_a_key, 0.0)
    if key_padding_mask is None or not key_padding_mask.any():
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=causal, scale=scale)
    length = q.shape[2]
    visible = ~key_padding_mask.to(torch.bool)[:, None, None, :]  # b 1 1 n
    if causal:
        visible = visible & torch.ones(length, length, dtype=torch.bool, device=q.device).tril()
    sees_a_key = visible.any(dim=-1, keepdim=True)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=visible | ~sees_a_key, dropout_p=dropout_p, scale=scale)
    return out.masked_fill(~sees_a_key, 0.0)


def band_step(
    q: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    padding: Optional[torch.Tensor],
    bandwidth: int,
    scale: Optional[float] = None,
    slopes: Optional[torch.Tensor] = None,
    compiled: bool = False,
) -> torch.Tensor:
    """The near field of one causal query, which attends to the last ``bandwidth`` of ``keys`` (its own
    key last). q: (batch, heads, 1, d); keys/values: (batch, heads, m, d); padding: (batch, m) bool,
    or None when no key is padded (then it is a plain softmax); slopes: (heads,) relative bias;
    ``compiled``: by the compiled CPU kernels where they take the inputs."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    keys, values = keys[:, :, -bandwidth:], values[:, :, -bandwidth:]
    if compiled and kernels.runs(q):
        return kernels.band_attention(q, keys, values, bandwidth, True, None if padding is None else padding[:, -bandwidth:],
                                      scale, slopes)
    scores = (q * scale) @ keys.transpose(-1, -2)  # b h 1 w
    if slopes is not None:
        distance = torch.arange(keys.shape[2] - 1, -1, -1, device=q.device, dtype=scores.dtype)  # the own key last
        scores = scores - slopes.to(scores.dtype).view(1, -1, 1, 1) * distance
    if padding is None:
        weights = torch.softmax(scores, dim=-1, dtype=torch.promote_types(scores.dtype, torch.float32))
        return weights.to(values.dtype) @ values
    return masked_softmax_average(scores, ~padding[:, None, None, -bandwidth:], values)
