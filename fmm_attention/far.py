"""Far field: kernelised linear attention, averaged over r feature maps phi_1..phi_r.

  far_l(i) = phi_l(q_i) . sum_{j in S(i)} g^(i-s-j) phi_l(k_j) v_j^T  /  (phi_l(q_i) . sum_{j in S(i)} g^(i-s-j) phi_l(k_j) + eps)
  far(i)   = (1/r) sum_l far_l(i)

with S(i) = {j <= i - s} (causal; the skip s = 0 by default, w for the far field outside a band of w)
or every non-padded j (bidirectional), and g = 1 (no decay) or, causal only, a decay per head in
(0, 1]: the state S_i = g S_{i-1} + phi(k_i) v_i^T forgets the distant past at the head's rate.
Padded keys are removed by zeroing their features. The sums are kept in fp32 (or float64 for
float64 inputs) whatever the input dtype.

Causal attention has a state, per map [S | z] = [sum_j g^(.) phi(k_j) v_j^T | sum_j g^(.) phi(k_j)]
over the keys seen so far, (batch, heads, maps, F, dv + 1) in the accumulation dtype, F the maps'
features (``feature_maps.feature_count``: d, or 1 + d + d(d+1)/2 for ``taylor``): it may start
from one (``initial_state``) and return the one after its keys (``output_final_state``), so that a
sequence attended piece by piece, states passed on, equals the whole (gradients included). Two forms
compute it: ``mean_linear_attention`` by chunks in O(N * F * d) (inside a chunk a masked
(chunk x chunk) product, across chunks the prefix sums), and ``far_step`` one token at a time (the
recurrent form: add the key, read the state).
Tensors are (batch, heads, length, head_dim); ``key_padding_mask`` is (batch, keys).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from . import compiled as kernels
from .chunking import Chunks, check_chunk_size
from .config import DEFAULT_EPS
from .feature_maps import FeatureMap, apply_feature_map, feature_count


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
    """phi_l(q), phi_l(k) for every map, as (batch, heads, maps, length, F) in the accumulation dtype.

    Padded keys' features are 0, so they add nothing to any sum.
    """
    dtype = accumulation_dtype(q.dtype)
    both = torch.cat([q, k], dim=-2).to(dtype)  # one feature pass for queries and keys
    phi = torch.stack([apply_feature_map(feature_map, both, normalize) for feature_map in feature_maps], dim=2)
    phi_q, phi_k = phi.split([q.shape[-2], k.shape[-2]], dim=-2)
    if key_padding_mask is not None:
        phi_k = phi_k.masked_fill(key_padding_mask.to(torch.bool)[:, None, None, :, None], 0.0)
    return phi_q, phi_k



class _ChunkDecay:
    """The weights a per-head decay g puts on a chunked causal far field with chunks of c positions
    (position t of a chunk, key s): g^(t-s) inside a chunk, g^(c-1-s) from a key into its chunk's
    state, g^(t+1) from the state before a chunk to its query t, g^c from one chunk's state to the
    next. g = 1 (no decay) is the same algorithm; its weights of 1 are not multiplied."""

    def __init__(self, decay: torch.Tensor, chunk: int):
        self.unit = bool((decay == 1).all())
        position = torch.arange(chunk, device=decay.device, dtype=decay.dtype)
        rate = decay.view(1, -1, 1, 1, 1)  # (1, heads, 1, 1, 1)
        distance = position[:, None] - position[None, :]
        self.within_chunk = torch.where(distance >= 0, rate ** distance.clamp(min=0), 0.0)  # 1 h 1 c c
        self.into_state = rate ** (chunk - 1 - position)[:, None]  # 1 h 1 c 1
        self.from_state = rate ** (position + 1)[:, None]  # 1 h 1 c 1
        self.per_chunk = rate ** chunk  # 1 h 1 1 1

    def within(self, scores: torch.Tensor) -> torch.Tensor:
        """(b, h, n, c, c) scores of query t and key s of a chunk, weighted in place (0 for s > t)."""
        return scores.tril_() if self.unit else scores.mul_(self.within_chunk)

    def keys_into_state(self, phi_k: torch.Tensor) -> torch.Tensor:
        return phi_k if self.unit else phi_k * self.into_state

    def queries_from_state(self, phi_q: torch.Tensor) -> torch.Tensor:
        return phi_q if self.unit else phi_q * self.from_state

    def across_chunk(self, state: torch.Tensor) -> torch.Tensor:
        return state if self.unit else state * self.per_chunk

    def sum_over_chunks(self, x: torch.Tensor, start: torch.Tensor, before: bool) -> torch.Tensor:
        """start + the sum of x over the chunks strictly before (``before``) or strictly after each
        chunk, along axis 2 of (b, h, n, ...): one product with a triangular (n x n) matrix per head,
        each chunk's term weighted by G^(distance - 1) and start by G^(chunks crossed), G = g^c."""
        n = x.shape[2]
        index = torch.arange(n, device=x.device)
        gap = (index[:, None] - index[None, :]) if before else (index[None, :] - index[:, None])  # chunks apart
        rate = self.per_chunk.view(-1, 1, 1).to(x.dtype)  # (heads, 1, 1)
        triangle = torch.where(gap > 0, rate ** (gap - 1).clamp(min=0), 0.0)  # h n n
        crossed = (index if before else n - 1 - index).to(x.dtype)
        start_weights = rate.view(-1, 1) ** crossed  # h n
        flat = x.reshape(*x.shape[:3], -1)  # b h n f
        out = torch.matmul(triangle, flat).add_(start_weights[..., None] * start.reshape(*start.shape[:2], 1, -1))
        return out.view(x.shape)


class _ChunkedCausalFarField(Chunks):
    """The causal far field of one input whose length is a whole number of chunks, in blocks of
    chunks, with a hand-written backward.

    Tensors are laid out (batch, heads, chunk, position, feature), one set per feature map (the maps
    run one after the other on the same W, so nothing shared is copied per map). Values get a column
    of ones, W = [v, 1], so one product gives the numerator phi(q).S and the normaliser phi(q).z.
    The sum-to-one rescaling of phi(q) cancels in their ratio except against eps, so it is applied
    as eps * sum(phi(q)) rather than by dividing every feature. Blocks run one after the other,
    passing on each map's running state S = sum phi(k)^T W (and, backward, its gradient), so no
    temporary is longer than a block.
    """

    def __init__(self, q, k, v, feature_maps, key_padding_mask, chunk_size: int, normalize: bool, eps: float, decay):
        super().__init__(q.shape[2], chunk_size)
        if self.pad:
            raise ValueError(f"the chunked far field takes whole chunks: {self.length} positions, chunks of {self.chunk}")
        self.dtype = accumulation_dtype(q.dtype)
        self.normalize, self.eps = normalize, eps
        self.feature_maps = feature_maps
        self.padded_keys = None
        if key_padding_mask is not None:
            self.padded_keys = key_padding_mask.to(torch.bool).view(q.shape[0], 1, self.num_chunks, self.chunk, 1)
        self.values = self.chunks(F.pad(v, (0, 1), value=1.0))  # W = [v, 1]: b h n c dv+1
        self.decay = _ChunkDecay(decay.to(self.dtype), self.chunk)

    def chunks(self, x: torch.Tensor) -> torch.Tensor:
        """(b, h, length, d) -> (b, h, chunks, chunk, d) in the accumulation dtype."""
        return self.split(x.to(self.dtype))

    def unchunk(self, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(b, h, chunks, chunk, d) -> (b, h, length, d) in ``dtype``."""
        return self.merge(x).to(dtype)

    def block_values(self, block: slice) -> torch.Tensor:
        """W of a block, contiguous: every product with it would copy the strided slice otherwise."""
        return self.values[:, :, block].contiguous()

    def features(self, phi, q_chunks, k_chunks, block: slice):
        """phi(q) (not rescaled) and phi(k) (rescaled, 0 at padded keys) of a block, (b, h, n, c, F)."""
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
        """For one map and a block entered with state S_in: the weighted causal scores inside each
        chunk, the state before each chunk P_c = G^c S_in + sum_{c' < c} G^(c-1-c') phi(k_c')^T W_c'
        (keys weighted into their chunk's state), and u = (scores) W + g^(t+1) phi(q) P (numerators and
        normalisers, (b, h, n, c, dv+1)); also the state after the block."""
        decay = self.decay
        chunk_states = decay.keys_into_state(phi_k).transpose(-1, -2) @ values  # b h n F dv+1
        prefix = decay.sum_over_chunks(chunk_states, state_in, before=True)
        state_out = chunk_states[:, :, -1:] + decay.across_chunk(prefix[:, :, -1:])
        del chunk_states
        scores = decay.within(phi_q @ phi_k.transpose(-1, -2))  # b h n c c
        u = scores @ values
        u += decay.queries_from_state(phi_q) @ prefix
        return scores, prefix, u, state_out

    def forward(self, q, k, initial_state):
        """far = mean over maps of numerator / (normaliser + eps term), (b, h, n, c, dv); every map's
        state entering every block (for the backward pass); the state after the last block."""
        q_chunks, k_chunks = self.chunks(q), self.chunks(k)
        far = self.values.new_empty(self.values.shape[:-1] + (self.values.shape[-1] - 1,))
        states = list(initial_state.to(self.dtype).split(1, dim=2))
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
        return far.div_(len(self.feature_maps)), entry_states, torch.cat(states, dim=2)

    def backward(self, q, k, grad_far, grad_final_state, entry_states):
        """Gradients of sum(grad_far * far) + sum(grad_final_state * final state) for q, k, v and the
        initial state, block by block from the last."""
        q_chunks, k_chunks, grad_far = self.chunks(q), self.chunks(k), self.chunks(grad_far) / len(self.feature_maps)
        grad_q, grad_k = torch.empty_like(q_chunks), torch.empty_like(k_chunks)
        grad_values = self.values.new_empty(self.values.shape[:-1] + (self.values.shape[-1] - 1,))
        grad_states = list(grad_final_state.to(self.dtype).split(1, dim=2))  # d loss / d (state leaving)
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
                    grad_scores = decay.within(grad_u @ values.transpose(-1, -2))
                    grad_phi_q = grad_scores @ phi_k
                    grad_phi_q += decay.queries_from_state(grad_u @ prefix.transpose(-1, -2))
                    del prefix
                    # d loss / d (state of chunk c) = the later chunks' grad_prefix, summed, + grad_state; summed
                    # directly (no total minus cumsum: queries with no visible key have huge gradients)
                    grad_prefix = decay.queries_from_state(phi_q).transpose(-1, -2) @ grad_u
                    grad_chunk_states = decay.sum_over_chunks(grad_prefix, grad_states[index], before=False)
                    grad_states[index] = decay.across_chunk(grad_chunk_states[:, :, :1]) + grad_prefix[:, :, :1]
                    del grad_prefix
                    grad_phi_k = grad_scores.transpose(-1, -2) @ phi_q
                    grad_phi_k += decay.keys_into_state(values @ grad_chunk_states.transpose(-1, -2))
                    grad_w_map = scores.transpose(-1, -2) @ grad_u
                    grad_w_map += decay.keys_into_state(phi_k) @ grad_chunk_states
                    grad_w = grad_w_map if grad_w is None else grad_w.add_(grad_w_map)
                outputs += [phi_q, phi_k]
                grads += [grad_phi_q, grad_phi_k]
                if eps_term.requires_grad:  # eps * sum(phi(q)) depends on q
                    outputs.append(eps_term)
                    grads.append(grad_denominator)
            grad_values[:, :, block] = grad_w[..., :-1]  # the column of ones needs no gradient
            grad_q[:, :, block], grad_k[:, :, block] = torch.autograd.grad(outputs, (q_block, k_block), grads)
        return grad_q, grad_k, grad_values, torch.cat(grad_states, dim=2)


class _CausalFarFieldFunction(torch.autograd.Function):
    """Causal far field of whole chunks from a state, returning the far field and the state after it;
    its backward recomputes the forward pass block by block: it keeps only q, k, v and each map's
    running state entering each block."""

    @staticmethod
    def forward(ctx, q, k, v, initial_state, feature_maps, key_padding_mask, chunk_size, normalize, eps, decay):
        field = _ChunkedCausalFarField(q, k, v, feature_maps, key_padding_mask, chunk_size, normalize, eps, decay)
        far, entry_states, final_state = field.forward(q, k, initial_state)
        ctx.save_for_backward(q, k, v, *(state for states in entry_states for state in states))
        ctx.settings = (feature_maps, key_padding_mask, chunk_size, normalize, eps, decay)
        ctx.state_dtype = initial_state.dtype
        return field.unchunk(far, v.dtype), final_state

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_far, grad_final_state):
        q, k, v, *saved_states = ctx.saved_tensors
        field = _ChunkedCausalFarField(q, k, v, *ctx.settings)
        maps = len(field.feature_maps)
        entry_states = [saved_states[first : first + maps] for first in range(0, len(saved_states), maps)]
        grad_q_chunks, grad_k_chunks, grad_values, grad_initial = field.backward(q, k, grad_far, grad_final_state, entry_states)
        return (
            field.unchunk(grad_q_chunks, q.dtype), field.unchunk(grad_k_chunks, k.dtype),
            field.unchunk(grad_values, v.dtype), grad_initial.to(ctx.state_dtype) if ctx.needs_input_grad[3] else None,
            None, None, None, None, None, None,
        )


def empty_far_state(batch: int, heads: int, maps: int, features: int, value_dim: int, like: torch.Tensor) -> torch.Tensor:
    """The far field's state before any key: zeros, (batch, heads, maps, F, dv + 1) in the accumulation dtype."""
    return torch.zeros(batch, heads, maps, features, value_dim + 1, dtype=accumulation_dtype(like.dtype), device=like.device)


def _causal_far_field(q, k, v, feature_maps, key_padding_mask, chunk_size, normalize, eps, decay, state):
    """The chunked causal far field from ``state``: the whole chunks first, then the rest as one chunk
    of its own (so that no padded position decays the state), the state passed on between them."""
    length = q.shape[2]
    whole = length - length % min(chunk_size, length)
    outputs = []
    for start, end in ((0, whole), (whole, length)):
        if end > start:
            out, state = _CausalFarFieldFunction.apply(
                q[:, :, start:end], k[:, :, start:end], v[:, :, start:end], state, feature_maps,
                None if key_padding_mask is None else key_padding_mask[:, start:end], min(chunk_size, end - start),
                normalize, eps, decay,
            )
            outputs.append(out)
    return (outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)), state


def _bidirectional_from_features(phi_q, phi_k, values, eps: float) -> torch.Tensor:
    """Non-causal linear attention over (..., length, F) features: one global state."""
    state = phi_k.transpose(-1, -2) @ values  # ... F dv
    normaliser = phi_k.sum(dim=-2, keepdim=True)  # ... 1 F
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
    initial_state: Optional[torch.Tensor] = None,
    output_final_state: bool = False,
    compiled: bool = False,
):
    """The far field: linear attention with each map, averaged over the maps (``compiled``: causal
    attention by the compiled CPU kernels where they take the inputs and maps).

    Args:
        q: (batch, heads, length, head_dim).
        k, v: (batch, heads, P + length, head_dim) (v may have its own last size): causal attention
            may give the P positions before the queries first, the latest ``skip`` of which the state
            does not hold yet (P = 0 otherwise); key_padding_mask: (batch, P + length), True = padded.
        feature_maps: the maps phi_l; causal: S(i) = {j <= i - skip} or every key.
        decay: causal only, (heads,) rates g in (0, 1] (None: 1, no decay).
        skip: causal only, the most recent keys a query does not see (w: the keys outside a band of w).
        initial_state: causal only, [S | z] of the keys before (``empty_far_state``; None: none).
        output_final_state: also return [S | z] after the last key the queries saw.
    Returns:
        (batch, heads, length, value_dim), a query that sees no key giving 0; with
        ``output_final_state`` also the state, (batch, heads, maps, F, value_dim + 1).
    """
    check_chunk_size(chunk_size)
    if not causal:
        if decay is not None or skip or initial_state is not None or output_final_state or k.shape[2] != q.shape[2]:
            raise ValueError("a decay, skipped keys, earlier keys and states are defined for causal linear attention only")
        phi_q, phi_k = stacked_features(feature_maps, q, k, key_padding_mask, normalize_features)
        out = _bidirectional_from_features(phi_q, phi_k, v.to(phi_q.dtype)[:, :, None], eps)
        return out.mean(dim=2).to(v.dtype)
    k, v, key_padding_mask = far_keys(k, v, key_padding_mask, q.shape[2], skip)
    if decay is None:
        decay = q.new_ones(q.shape[1])
    if initial_state is None:
        features = feature_count(feature_maps, k.shape[-1])
        initial_state = empty_far_state(q.shape[0], q.shape[1], len(feature_maps), features, v.shape[-1], q)
    codes = kernels.map_codes(feature_maps) if compiled and kernels.runs(q) else None
    if codes is not None:
        out, state = kernels.causal_far_field(q, k, v, codes, key_padding_mask, normalize_features, eps, decay, initial_state)
    else:
        out, state = _causal_far_field(
            q, k, v, tuple(feature_maps), key_padding_mask, chunk_size, normalize_features, eps, decay, initial_state
        )
    return (out, state) if output_final_state else out


def far_keys(k: torch.Tensor, v: torch.Tensor, key_padding_mask: Optional[torch.Tensor], length: int, skip: int):
    """The keys, values and padding flags that join the far field at the last ``length`` positions
    of ``k``: each position's key ``skip`` positions earlier (padded where there is none), so that
    causal attention's query i sees exactly the keys j <= i - skip."""
    earlier = k.shape[2] - length
    if skip:
        k, v, key_padding_mask = shifted_keys(k, v, key_padding_mask, skip)
    if earlier:
        k, v = k[:, :, earlier:], v[:, :, earlier:]
        key_padding_mask = None if key_padding_mask is None else key_padding_mask[:, earlier:]
    return k, v, key_padding_mask


def shifted_keys(k: torch.Tensor, v: torch.Tensor, key_padding_mask: Optional[torch.Tensor], skip: int):
    """Keys and values moved ``skip`` positions later (the first ``skip`` padded)."""
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


def far_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: torch.Tensor,
    feature_maps: Sequence[FeatureMap],
    key_padding_mask: Optional[torch.Tensor] = None,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
    decay: Optional[torch.Tensor] = None,
    compiled: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The recurrent form of the causal far field, one query: [S | z] <- g [S | z] + phi(k) [v | 1],
    then the mean over maps of phi(q).S / (phi(q).z + eps) (``compiled``: by the compiled CPU kernels
    where they take the inputs and maps).

    Args:
        q: (batch, heads, 1, head_dim); k, v: the key joining the state, (batch, heads, 1, d), or
            (batch, heads, 0, d) when none does (yet); key_padding_mask: (batch, 1) for that key.
        state: [S | z], (batch, heads, maps, F, value_dim + 1) in the accumulation dtype.
        decay: (heads,) rates g (None: 1).
    Returns:
        (batch, heads, 1, value_dim) and the new state.
    """
    codes = kernels.map_codes(feature_maps) if compiled and kernels.runs(q) else None
    if codes is not None:
        if not k.shape[2]:  # no key joins: a padded one decays the state all the same
            k, v = q.new_zeros(q.shape), q.new_zeros(q.shape[:3] + v.shape[3:])
            key_padding_mask = torch.ones(q.shape[0], 1, dtype=torch.bool, device=q.device)
        return kernels.causal_far_field(q, k, v, codes, key_padding_mask, normalize_features, eps, decay, state)
    phi_q, phi_k = stacked_features(feature_maps, q, k, key_padding_mask, normalize_features)  # b h r 1 F
    if decay is not None:
        state = state * decay.to(state.dtype).view(1, -1, 1, 1, 1)
    if k.shape[2]:
        values = v.to(state.dtype)
        with_ones = torch.cat([values, torch.ones_like(values[..., :1])], dim=-1)[:, :, None]  # b h 1 1 dv+1
        state = torch.addcmul(state, phi_k.transpose(-1, -2), with_ones)
    both = phi_q @ state
    return (both[..., :-1] / (both[..., -1:] + eps)).mean(dim=2).to(v.dtype), state
