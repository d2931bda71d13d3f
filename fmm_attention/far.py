"""Far field: kernelised linear attention, averaged over r feature maps phi_1..phi_r.

  far_l(i) = phi_l(q_i) . sum_{j in S(i)} g^(i-s-j) phi_l(k_j) v_j^T  /  (phi_l(q_i) . sum_{j in S(i)} g^(i-s-j) phi_l(k_j) + eps)
  far(i)   = (1/r) sum_l far_l(i)

with S(i) = {j <= i - s} (causal; the skip s = 0 by default, w for the far field outside a band of w)
or every non-padded j (bidirectional), and g = 1 (no decay) or, causal only, a decay per head in
(0, 1]: the state S_i = g S_{i-1} + phi(k_i) v_i^T forgets the distant past at the head's rate.
Padded keys are removed by zeroing their features. The sums are kept in fp32 (or float64 for
float64 inputs) whatever the input dtype.

Causal attention runs by chunks in O(N * d^2): inside a chunk a masked (chunk x chunk) product,
across chunks the exclusive prefix sums S = sum phi(k) v^T and z = sum phi(k).
Tensors are (batch, heads, length, head_dim); ``key_padding_mask`` is (batch, length).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .config import DEFAULT_EPS
from .feature_maps import FeatureMap, apply_feature_map


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp32 for half precision inputs, the input's own dtype when it is wider."""
    return torch.promote_types(dtype, torch.float32)


def stacked_features(
    feature_maps: Sequence[FeatureMap],
    q: torch.Tensor,
    k: torch.Tensor,
    key_padding_mask: Optional[torch.Tensor],
    normalize: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """phi_l(q), phi_l(k) for every map, as (batch, heads, maps, length, d) in the accumulation dtype.

    Padded keys' features are 0, so they add nothing to any sum.
    """
    dtype = accumulation_dtype(q.dtype)
    both = torch.cat([q, k], dim=-2).to(dtype)  # one feature pass for queries and keys
    phi = torch.stack([apply_feature_map(feature_map, both, normalize) for feature_map in feature_maps], dim=2)
    phi_q, phi_k = phi.split([q.shape[-2], k.shape[-2]], dim=-2)
    if key_padding_mask is not None:
        phi_k = phi_k.masked_fill(key_padding_mask.to(torch.bool)[:, None, None, :, None], 0.0)
    return phi_q, phi_k


CHUNKS_PER_BLOCK = 16  # chunks processed together; memory beyond q, k, v and their gradients is O(block)


class _ChunkedCausalFarField:
    """The causal far field of one input, in blocks of chunks, with a hand-written backward.

    Tensors are laid out (batch, heads, chunk, position, feature), one set per feature map (the maps
    run one after the other on the same W, so nothing shared is copied per map). Values get a column
    of ones, W = [v, 1], so one product gives the numerator phi(q).S and the normaliser phi(q).z.
    The sum-to-one rescaling of phi(q) cancels in their ratio except against eps, so it is applied
    as eps * sum(phi(q)) rather than by dividing every feature. Blocks of CHUNKS_PER_BLOCK chunks
    run one after the other, passing on each map's running state S = sum phi(k)^T W (and, backward,
    its gradient), so no temporary is longer than a block.
    """

    def __init__(self, q, k, v, feature_maps, key_padding_mask, chunk_size: int, normalize: bool, eps: float, decay=None):
        batch, heads, self.length, _ = q.shape
        self.dtype = accumulation_dtype(q.dtype)
        self.chunk = min(chunk_size, self.length)
        self.num_chunks = -(-self.length // self.chunk)
        self.pad = self.num_chunks * self.chunk - self.length
        self.normalize, self.eps = normalize, eps
        self.feature_maps = feature_maps
        self.padded_keys = None
        if key_padding_mask is not None:
            padded = F.pad(key_padding_mask.to(torch.bool), (0, self.pad))
            self.padded_keys = padded.view(batch, 1, self.num_chunks, self.chunk, 1)
        self.values = self.chunks(F.pad(v, (0, 1), value=1.0))  # W = [v, 1]: b h n c dv+1
        self.state_shape = (batch, heads, 1, q.shape[-1], v.shape[-1] + 1)
        self.decay = None if decay is None else _ChunkDecay(decay.to(self.dtype), self.chunk)

    def chunks(self, x: torch.Tensor) -> torch.Tensor:
        """(b, h, length, d) -> (b, h, chunks, chunk, d), zero-padded, in the accumulation dtype."""
        batch, heads = x.shape[:2]
        x = F.pad(x.to(self.dtype), (0, 0, 0, self.pad)) if self.pad else x.to(self.dtype)
        return x.reshape(batch, heads, self.num_chunks, self.chunk, x.shape[-1])

    def unchunk(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(b, h, chunks, chunk, d) -> (b, h, length, d) in ``dtype``."""
        return x.reshape(*x.shape[:2], self.num_chunks * self.chunk, -1)[:, :, : self.length].to(dtype)

    def blocks(self):
        return [slice(first, min(first + CHUNKS_PER_BLOCK, self.num_chunks))
                for first in range(0, self.num_chunks, CHUNKS_PER_BLOCK)]

    def block_values(self, block: slice) -> torch.Tensor:
        """W of a block, contiguous: every product with it would copy the strided slice otherwise."""
        return self.values[:, :, block].contiguous()

    def features(self, phi, q_chunks, k_chunks, block: slice):
        """phi(q) (not rescaled) and phi(k) (rescaled, 0 at padded keys) of a block, (b, h, n, c, d)."""
        phi_k = apply_feature_map(phi, k_chunks, self.normalize)
        if self.padded_keys is not None:
            phi_k = phi_k.masked_fill(self.padded_keys[:, :, block], 0.0)
        return phi(q_chunks), phi_k

    def eps_term(self, phi_q: torch.Tensor) -> torch.Tensor:
        """eps, times sum(phi(q)) when the features are rescaled to sum to 1; (b, h, n, c, 1)."""
        if not self.normalize:
            return phi_q.new_full(phi_q.shape[:-1] + (1,), self.eps)
        return self.eps * phi_q.sum(dim=-1, keepdim=True).clamp_min(1e-6)

    def products(self, phi_q, phi_k, values, state_in):
        """For one map and a block entered with state S_in: causal scores inside each chunk, the state
        before each chunk P_c = S_in + sum_{c' < c} phi(k_c')^T W_c', and u = tril(phi(q) phi(k)^T) W +
        phi(q) P (numerators and normalisers, (b, h, n, c, dv+1)); also the state after the block.
        With a decay the scores are weighted by g^(t-s) inside a chunk, the keys by g^(c-1-s) into
        a chunk's state, the queries by g^(t+1) against the state before their chunk."""
        decay = self.decay
        keys_in = phi_k if decay is None else phi_k * decay.into_state
        chunk_states = keys_in.transpose(-1, -2) @ values  # b h n d dv+1
        del keys_in
        prefix = _sum_over_chunks(chunk_states, state_in, before=True, decay=decay)
        state_out = chunk_states[:, :, -1:] + (prefix[:, :, -1:] if decay is None else prefix[:, :, -1:] * decay.per_chunk)
        del chunk_states
        scores = phi_q @ phi_k.transpose(-1, -2)  # b h n c c
        scores = scores.tril_() if decay is None else scores.mul_(decay.within_chunk)
        u = scores @ values
        u += (phi_q if decay is None else phi_q * decay.from_state) @ prefix
        return scores, prefix, u, state_out

    def forward(self, q, k):
        """far = mean over maps of numerator / (normaliser + eps term), (b, h, n, c, dv); and every
        map's state entering every block (for the backward pass)."""
        q_chunks, k_chunks = self.chunks(q), self.chunks(k)
        far = self.values.new_empty(self.values.shape[:-1] + (self.values.shape[-1] - 1,))
        states = [self.values.new_zeros(self.state_shape) for _ in self.feature_maps]
        entry_states = []
        for block in self.blocks():
            entry_states.append(states)
            values, states = self.block_values(block), list(states)
            for index, phi in enumerate(self.feature_maps):
                phi_q, phi_k = self.features(phi, q_chunks[:, :, block], k_chunks[:, :, block], block)
                _, _, u, states[index] = self.products(phi_q, phi_k, values, states[index])
                ratio = u[..., :-1] / (u[..., -1:] + self.eps_term(phi_q))
                if index == 0:
                    far[:, :, block] = ratio
                else:
                    far[:, :, block] += ratio
        return far.div_(len(self.feature_maps)), entry_states

    def backward(self, q, k, grad_far, entry_states):
        """Gradients of sum(grad_far * far) for q, k and v, block by block from the last."""
        q_chunks, k_chunks, grad_far = self.chunks(q), self.chunks(k), self.chunks(grad_far) / len(self.feature_maps)
        grad_q, grad_k = torch.empty_like(q_chunks), torch.empty_like(k_chunks)
        grad_values = self.values.new_empty(self.values.shape[:-1] + (self.values.shape[-1] - 1,))
        grad_states = [self.values.new_zeros(self.state_shape) for _ in self.feature_maps]  # d loss / d (state leaving)
        decay = self.decay
        for block, states_in in reversed(list(zip(self.blocks(), entry_states))):
            values, grad_block = self.block_values(block), grad_far[:, :, block]
            with torch.enable_grad():
                q_block = q_chunks[:, :, block].detach().requires_grad_()
                k_block = k_chunks[:, :, block].detach().requires_grad_()
            outputs, grads, grad_w = [], [], None
            for index, phi in enumerate(self.feature_maps):
                with torch.enable_grad():
                    phi_q, phi_k = self.features(phi, q_block, k_block, block)
                    eps_term = self.eps_term(phi_q)
                with torch.no_grad():
                    scores, prefix, u, _ = self.products(phi_q, phi_k, values, states_in[index])
                    denominator = u[..., -1:] + eps_term
                    grad_u = torch.empty_like(u)  # [d loss / d numerator | d loss / d normaliser]
                    grad_out = torch.div(grad_block, denominator, out=grad_u[..., :-1])
                    torch.sum(grad_out * u[..., :-1], dim=-1, keepdim=True, out=grad_u[..., -1:])
                    grad_denominator = grad_u[..., -1:].div_(denominator).neg_()
                    del u
                    grad_scores = grad_u @ values.transpose(-1, -2)
                    grad_scores = grad_scores.tril_() if decay is None else grad_scores.mul_(decay.within_chunk)
                    grad_phi_q = grad_scores @ phi_k
                    from_state = grad_u @ prefix.transpose(-1, -2)
                    grad_phi_q += from_state if decay is None else from_state.mul_(decay.from_state)
                    del prefix, from_state
                    # d loss / d (state of chunk c) = the later chunks' grad_prefix, summed, + grad_state; summed
                    # directly (no total minus cumsum: queries with no visible key have huge gradients)
                    grad_prefix = (phi_q if decay is None else phi_q * decay.from_state).transpose(-1, -2) @ grad_u
                    grad_chunk_states = _sum_over_chunks(grad_prefix, grad_states[index], before=False, decay=decay)
                    first = grad_chunk_states[:, :, :1] if decay is None else grad_chunk_states[:, :, :1] * decay.per_chunk
                    grad_states[index] = first + grad_prefix[:, :, :1]
                    del grad_prefix, first
                    grad_phi_k = grad_scores.transpose(-1, -2) @ phi_q
                    into_state = values @ grad_chunk_states.transpose(-1, -2)
                    grad_phi_k += into_state if decay is None else into_state.mul_(decay.into_state)
                    del into_state
                    grad_w_map = scores.transpose(-1, -2) @ grad_u
                    grad_w_map += (phi_k if decay is None else phi_k * decay.into_state) @ grad_chunk_states
                    grad_w = grad_w_map if grad_w is None else grad_w.add_(grad_w_map)
                outputs += [phi_q, phi_k]
                grads += [grad_phi_q, grad_phi_k]
                if eps_term.requires_grad:  # eps * sum(phi(q)) depends on q
                    outputs.append(eps_term)
                    grads.append(grad_denominator)
            grad_values[:, :, block] = grad_w[..., :-1]  # the column of ones needs no gradient
            grad_q[:, :, block], grad_k[:, :, block] = torch.autograd.grad(outputs, (q_block, k_block), grads)
        return grad_q, grad_k, grad_values


class _ChunkDecay:
    """The weights a per-head decay g puts on a chunked causal far field with chunks of c positions
    (position t of a chunk, key s): g^(t-s) inside a chunk, g^(c-1-s) from a key into its chunk's
    state, g^(t+1) from the state before a chunk to its query t, g^c from one chunk's state to the next."""

    def __init__(self, decay: torch.Tensor, chunk: int):
        position = torch.arange(chunk, device=decay.device, dtype=decay.dtype)
        rate = decay.view(1, -1, 1, 1, 1)  # (1, heads, 1, 1, 1)
        distance = position[:, None] - position[None, :]
        self.within_chunk = torch.where(distance >= 0, rate ** distance.clamp(min=0), 0.0)  # 1 h 1 c c
        self.into_state = rate ** (chunk - 1 - position)[:, None]  # 1 h 1 c 1
        self.from_state = rate ** (position + 1)[:, None]  # 1 h 1 c 1
        self.per_chunk = rate ** chunk  # 1 h 1 1 1


def _sum_over_chunks(x: torch.Tensor, start: torch.Tensor, before: bool, decay: Optional[_ChunkDecay] = None) -> torch.Tensor:
    """start + the sum of x over the chunks strictly before (``before``) or strictly after each chunk,
    along axis 2 of (b, h, n, ...): one product with a triangular (n x n) matrix. With a decay each
    chunk's term is weighted by G^(distance - 1) and start by G^(chunks crossed), G = g^chunk."""
    n = x.shape[2]
    if decay is None:
        ones = torch.ones(n, n, dtype=x.dtype, device=x.device)
        triangle = ones.tril_(-1) if before else ones.triu_(1)
        flat = x.reshape(x.shape[0] * x.shape[1], n, -1)
        return torch.baddbmm(start.reshape(-1, 1, flat.shape[-1]), triangle.expand(flat.shape[0], n, n), flat).view(x.shape)
    index = torch.arange(n, device=x.device)
    gap = (index[:, None] - index[None, :]) if before else (index[None, :] - index[:, None])  # chunks apart, + when summed
    rate = decay.per_chunk.view(-1, 1, 1)  # (heads, 1, 1)
    triangle = torch.where(gap > 0, rate ** (gap - 1).clamp(min=0), 0.0)  # h n n
    crossed = (index if before else n - 1 - index).to(x.dtype)
    start_weights = rate.view(-1, 1) ** crossed  # h n
    flat = x.reshape(*x.shape[:3], -1)  # b h n f
    out = triangle @ flat + start_weights[..., None] * start.reshape(*start.shape[:2], 1, -1)
    return out.view(x.shape)


class _CausalFarFieldFunction(torch.autograd.Function):
    """Causal far field whose backward recomputes the forward pass block by block: it keeps only
    q, k, v and each map's running state entering each block."""

    @staticmethod
    def forward(ctx, q, k, v, feature_maps, key_padding_mask, chunk_size, normalize, eps, decay):
        field = _ChunkedCausalFarField(q, k, v, feature_maps, key_padding_mask, chunk_size, normalize, eps, decay)
        far, entry_states = field.forward(q, k)
        ctx.save_for_backward(q, k, v, *(state for states in entry_states for state in states))
        ctx.settings = (feature_maps, key_padding_mask, chunk_size, normalize, eps, decay)
        return field.unchunk(far, v.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_far):
        q, k, v, *saved_states = ctx.saved_tensors
        field = _ChunkedCausalFarField(q, k, v, *ctx.settings)
        maps = len(field.feature_maps)
        entry_states = [saved_states[first : first + maps] for first in range(0, len(saved_states), maps)]
        grad_q_chunks, grad_k_chunks, grad_values = field.backward(q, k, grad_far, entry_states)
        return (
            field.unchunk(grad_q_chunks, q.dtype), field.unchunk(grad_k_chunks, k.dtype),
            field.unchunk(grad_values, v.dtype), None, None, None, None, None, None,
        )


def _bidirectional_from_features(phi_q, phi_k, values, eps: float) -> torch.Tensor:
    """Non-causal linear attention over (..., length, d) features: one global state."""
    state = phi_k.transpose(-1, -2) @ values  # ... d dv
    normaliser = phi_k.sum(dim=-2, keepdim=True)  # ... 1 d
    return (phi_q @ state) / ((phi_q * normaliser).sum(-1, keepdim=True) + eps)


def mean_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    feature_maps: Sequence[FeatureMap],
    causal: bool,
    key_padding_mask: Optional[torch.Tensor] = None,
    chunk_size: int = 64,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
    decay: Optional[torch.Tensor] = None,
    skip: int = 0,
) -> torch.Tensor:
    """The far field: linear attention with each map, averaged over the maps.

    Args:
        q, k, v: (batch, heads, length, head_dim) (v may have its own last size).
        feature_maps: the maps phi_l; causal: S(i) = {j <= i - skip} or every key.
        key_padding_mask: (batch, length) bool, True = padded.
        decay: causal only, (heads,) rates g in (0, 1] (None: no decay).
        skip: causal only, the most recent keys a query does not see (w: the keys outside a band of w).
    Returns:
        (batch, heads, length, value_dim); a query that sees no key gives 0.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not causal:
        if decay is not None or skip:
            raise ValueError("a decay and skipped keys are defined for causal linear attention only")
        phi_q, phi_k = stacked_features(feature_maps, q, k, key_padding_mask, normalize_features)
        out = _bidirectional_from_features(phi_q, phi_k, v.to(phi_q.dtype)[:, :, None], eps)
        return out.mean(dim=2).to(v.dtype)
    if skip:
        k, v, key_padding_mask = shifted_keys(k, v, key_padding_mask, skip)
    return _CausalFarFieldFunction.apply(
        q, k, v, tuple(feature_maps), key_padding_mask, chunk_size, normalize_features, eps, decay
    )


def shifted_keys(k: torch.Tensor, v: torch.Tensor, key_padding_mask: Optional[torch.Tensor], skip: int):
    """Keys and values moved ``skip`` positions later (the first ``skip`` padded), so that causal
    attention's query i sees exactly the keys j <= i - skip."""
    length = k.shape[2]
    shift = min(skip, length)

    def later(x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, 0, shift, 0))[:, :, :length]

    padded = torch.zeros(k.shape[0], length, dtype=torch.bool, device=k.device) if key_padding_mask is None else key_padding_mask.to(torch.bool)
    padded = F.pad(padded, (shift, 0), value=True)[:, :length]
    return later(k), later(v), padded


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    feature_map: FeatureMap,
    causal: bool,
    key_padding_mask: Optional[torch.Tensor] = None,
    chunk_size: int = 64,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
    decay: Optional[torch.Tensor] = None,
    skip: int = 0,
) -> torch.Tensor:
    """Linear attention with one feature map (see ``mean_linear_attention``)."""
    return mean_linear_attention(
        q, k, v, [feature_map], causal, key_padding_mask, chunk_size, normalize_features, eps, decay, skip
    )
