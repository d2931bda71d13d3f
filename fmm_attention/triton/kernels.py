"""Triton kernels of FMM attention: near field, far field and their blend, forward and backward.

Per (batch, head) the sequence is cut into tiles of T rows; query tile t covers rows
[t*T, t*T + T) and so does key tile t. Three kernels read q, k, v, one tile per program:

``fmm_fwd``        grid (query tiles, batch*heads). For its query tile it computes
                   near = banded softmax attention, online softmax over the key tiles that meet
                          the band only (O(N * w) work, no N x N tensor);
                   far  = sum over maps l of linear attention with phi_l;
                   out  = near_weight * near + far_weight * far       (far_weight already / r).
                   The diagonal key tile (keys of the same rows) is loaded once and serves the
                   near field and the far field's intra-tile causal product; the far field's
                   contribution of all earlier tiles comes from a prefix state (below).
``fmm_bwd_query``  grid (query tiles, batch*heads): dq, plus per-row quantities the key pass needs.
``fmm_bwd_key``    grid (key tiles, batch*heads): dk, dv.
``fmm_states``     grid (tiles, batch*heads): per tile and map the fp32 sums
                   S_t = sum_rows phi(x) y^T (D x Dv) and z_t = sum_rows phi(x) (D), written to a
                   slot of a state buffer; a cumulative sum over slots (torch, in place) turns them
                   into the exclusive prefix (causal forward), suffix (causal backward) or total
                   (bidirectional) that the other kernels read.

Compile-time switches give the separate kernels and the fused one from one source: HAS_NEAR
without HAS_FAR is the near-field (band) kernel, HAS_FAR without HAS_NEAR the far-field (linear
attention) kernel, both together the fused FMM kernel.

Far-field math (per map, phi applied inside the kernels, fp32; padded keys have phi(k) = 0):
    num_i = phi(q_i) . sum_{j in S(i)} phi(k_j) v_j^T,   den_i = phi(q_i) . sum_{j in S(i)} phi(k_j)
    far_i = num_i / (den_i + eps)
Backward, with g_i = dfar_i / (den_i + eps) and c_i = -(dfar_i . num_i) / (den_i + eps)^2:
    dphi(q_i) = sum_{j in S(i)} phi(k_j) (v_j . g_i + c_i)
    dphi(k_j) = sum_{i: j in S(i)} phi(q_i) (g_i . v_j + c_i),   dv_j = sum_{i: j in S(i)} (phi(q_i) . phi(k_j)) g_i
so the key pass needs the suffix sums R = sum phi(q_i) g_i^T and r = sum phi(q_i) c_i, which
``fmm_states`` builds from (q, dout) with the row scales 1/(den + eps) and c that the query pass saved.

Near-field backward is FlashAttention's: p = exp2(s - lse), dp = dout_near v^T,
ds = p (dp - delta) with delta_i = dout_near_i . near_i. Dropout on the near weights draws its
keep mask from (seed + batch*heads index, query row, offset inside the band), so the backward
regenerates the same mask. Scores are in base 2 (scaled by log2 e) so exp2 replaces exp.
"""
from .runtime import tl, triton

# Feature-map codes (``MAPS`` packs one 4-bit code per map, map l in bits 4l..4l+3).
ELU = tl.constexpr(0)
ELU_FLIP = tl.constexpr(1)
TANH = tl.constexpr(2)
RELU = tl.constexpr(3)
IDENTITY = tl.constexpr(4)
NORM_FLOOR = tl.constexpr(1e-6)  # clamp of the sum-to-one rescaling, as in feature_maps.py


@triton.jit
def _phi(x, MAP: tl.constexpr):
    """phi(x) for one map code, elementwise on fp32 (exp only of non-positive arguments)."""
    if MAP == ELU:
        return tl.where(x > 0, x + 1.0, tl.exp(tl.minimum(x, 0.0)))
    elif MAP == ELU_FLIP:
        return tl.where(x < 0, 1.0 - x, tl.exp(-tl.maximum(x, 0.0)))
    elif MAP == TANH:
        return 2.0 * tl.sigmoid(2.0 * x)  # 1 + tanh(x)
    elif MAP == RELU:
        return tl.maximum(x, 0.0)
    else:
        return x


@triton.jit
def _phi_grad(x, MAP: tl.constexpr):
    """d phi / dx for one map code."""
    if MAP == ELU:
        return tl.where(x > 0, 1.0, tl.exp(tl.minimum(x, 0.0)))
    elif MAP == ELU_FLIP:
        return tl.where(x < 0, -1.0, -tl.exp(-tl.maximum(x, 0.0)))
    elif MAP == TANH:
        sig = tl.sigmoid(2.0 * x)
        return 4.0 * sig * (1.0 - sig)
    elif MAP == RELU:
        return tl.where(x > 0, 1.0, 0.0)
    else:
        return tl.full(x.shape, 1.0, tl.float32)


@triton.jit
def _features(x, cols_ok, MAP: tl.constexpr, NORMALIZE: tl.constexpr):
    """phi(x) of a (rows, BLOCK_D) fp32 tile; columns past the head size are 0; optionally / row sum."""
    f = tl.where(cols_ok[None, :], _phi(x, MAP), 0.0)
    if NORMALIZE:
        f = f / tl.maximum(tl.sum(f, 1), NORM_FLOOR)[:, None]
    return f


@triton.jit
def _features_grad(x, d_features, cols_ok, MAP: tl.constexpr, NORMALIZE: tl.constexpr):
    """Gradient with respect to x of <d_features, _features(x)>."""
    f = tl.where(cols_ok[None, :], _phi(x, MAP), 0.0)
    d_f = d_features
    if NORMALIZE:
        total = tl.sum(f, 1)
        clamped = tl.maximum(total, NORM_FLOOR)
        d_total = tl.where(total >= NORM_FLOOR, -tl.sum(d_features * f, 1) / (clamped * clamped), 0.0)
        d_f = d_features / clamped[:, None] + d_total[:, None]
    return tl.where(cols_ok[None, :], d_f * _phi_grad(x, MAP), 0.0)


@triton.jit
def _load_tile(ptr, rows, cols, stride_row, stride_col, n_rows, n_cols):
    """A (rows, cols) tile; out-of-range entries read as 0."""
    mask = (rows[:, None] < n_rows) & (cols[None, :] < n_cols)
    return tl.load(ptr + rows[:, None] * stride_row + cols[None, :] * stride_col, mask=mask, other=0.0)


@triton.jit
def _store_tile(ptr, value, rows, cols, stride_row, stride_col, n_rows, n_cols):
    mask = (rows[:, None] < n_rows) & (cols[None, :] < n_cols)
    tl.store(ptr + rows[:, None] * stride_row + cols[None, :] * stride_col, value.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def _key_valid(PAD, pad_row, rows, N, HAS_PADDING: tl.constexpr):
    """True for rows that are real, non-padded keys."""
    valid = rows < N
    if HAS_PADDING:
        valid = valid & (tl.load(PAD + pad_row + rows, mask=valid, other=1) == 0)
    return valid


@triton.jit
def _load_state(S, Z, index, d_cols, v_cols, D, DV):
    """The fp32 state (S: D x Dv, z: D) number ``index`` of a contiguous (..., D, Dv) / (..., D) buffer."""
    index = index.to(tl.int64)
    s = _load_tile(S + index * D * DV, d_cols, v_cols, DV, 1, D, DV)
    z = tl.load(Z + index * D + d_cols, mask=d_cols < D, other=0.0)
    return s, z


@triton.jit
def _visible(rows, cols, key_ok, left, right):
    """(query, key) pairs inside the band: -left <= j - i <= right, with a real key."""
    offset = cols[None, :] - rows[:, None]
    return (offset >= -left) & (offset <= right) & key_ok[None, :]


@triton.jit
def _keep(rows, cols, seed, dropout_p, left, band):
    """Dropout keep mask of the near weights, a function of (seed, query row, offset in the band)."""
    offsets = rows[:, None] * band + (cols[None, :] - rows[:, None] + left)
    return tl.rand(seed, offsets) >= dropout_p


@triton.jit
def _near_scores(q, k, rows, cols, qk_scale, slope2, PRECISION: tl.constexpr, HAS_ALIBI: tl.constexpr):
    """Base-2 scores q k^T * scale * log2(e), minus slope2 |i - j| (the in-band bias, also in base 2)."""
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * qk_scale
    if HAS_ALIBI:
        s -= slope2 * tl.abs(cols[None, :] - rows[:, None]).to(tl.float32)
    return s


@triton.jit
def _near_update(q, k, v, rows, cols, key_ok, m, l, acc, qk_scale, slope2, left, right, seed, dropout_p, band,
                 HAS_DROPOUT: tl.constexpr, PRECISION: tl.constexpr, HAS_ALIBI: tl.constexpr):
    """One online-softmax step of the near field over one key tile (running max m, sum l, acc)."""
    s = _near_scores(q, k, rows, cols, qk_scale, slope2, PRECISION, HAS_ALIBI)
    s = tl.where(_visible(rows, cols, key_ok, left, right), s, float("-inf"))
    m_new = tl.maximum(m, tl.max(s, 1))
    m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # rows that have seen no key yet
    alpha = tl.exp2(m - m_safe)
    p = tl.exp2(s - m_safe[:, None])
    l = l * alpha + tl.sum(p, 1)
    if HAS_DROPOUT:
        p = tl.where(_keep(rows, cols, seed, dropout_p, left, band), p / (1.0 - dropout_p), 0.0)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=PRECISION)
    return m_new, l, acc


@triton.jit
def _near_grad_p(q, k, v, do_near, rows, cols, key_ok, lse, delta, qk_scale, slope2, left, right, seed, dropout_p, band,
                 HAS_DROPOUT: tl.constexpr, PRECISION: tl.constexpr, HAS_ALIBI: tl.constexpr):
    """Recomputed near weights p (query x key, dropped as in the forward) and the score gradient ds."""
    s = _near_scores(q, k, rows, cols, qk_scale, slope2, PRECISION, HAS_ALIBI)
    p = tl.where(_visible(rows, cols, key_ok, left, right), tl.exp2(s - lse[:, None]), 0.0)
    dp = tl.dot(do_near, tl.trans(v), input_precision=PRECISION)
    p_used = p
    if HAS_DROPOUT:
        keep = _keep(rows, cols, seed, dropout_p, left, band)
        p_used = tl.where(keep, p / (1.0 - dropout_p), 0.0)
        dp = tl.where(keep, dp / (1.0 - dropout_p), 0.0)
    return p_used, p * (dp - delta[:, None])


@triton.jit
def _decay_weights(rows, cols, log2_decay):
    """(query i, key j) -> g^(i - j) for j <= i, 0 above the diagonal (g = 2^log2_decay, this head's rate)."""
    distance = rows[:, None] - cols[None, :]
    return tl.where(distance >= 0, tl.exp2(log2_decay * tl.maximum(distance, 0).to(tl.float32)), 0.0)


@triton.jit
def fmm_states(
    X, Y, PAD, W, ROW_SCALE, ROW_EXTRA, DECAY, S, Z,
    sx_b, sx_h, sx_n, sx_d, sy_b, sy_h, sy_n, sy_d, spad_b,
    H, N, D, DV, first_tile, slot_step, slot_offset, num_slots,
    MAPS: tl.constexpr, NUM_MAPS: tl.constexpr, NORMALIZE: tl.constexpr, HAS_PADDING: tl.constexpr,
    WEIGHTED: tl.constexpr, HAS_DECAY: tl.constexpr, T: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr,
    PRECISION: tl.constexpr,
):
    """Per tile and map: S = phi(x)^T y', z = sum_rows phi(x) c, into slot t * slot_step + slot_offset.

    Forward: x = k, y' = v, c = 1, padded keys dropped. Backward (WEIGHTED): x = q,
    y' = dout * far_weight * ROW_SCALE (1 / (den + eps) per map and row), c = ROW_EXTRA (per map
    and row), which gives the suffix sums R and r of the key pass. With a decay (DECAY: log2 g per
    head) row s of the tile is weighted g^(T-1-s) (forward: its age at the tile's end) or g^(s+1)
    (backward: a query's distance from the state before its tile).
    """
    tile = first_tile + tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    rows = tile * T + tl.arange(0, T)
    d_cols = tl.arange(0, BLOCK_D)
    v_cols = tl.arange(0, BLOCK_DV)
    x = _load_tile(X + b.to(tl.int64) * sx_b + h * sx_h, rows, d_cols, sx_n, sx_d, N, D).to(tl.float32)
    y = _load_tile(Y + b.to(tl.int64) * sy_b + h * sy_h, rows, v_cols, sy_n, sy_d, N, DV).to(tl.float32)
    valid = _key_valid(PAD, b.to(tl.int64) * spad_b, rows, N, HAS_PADDING)
    if WEIGHTED:
        y = y * tl.load(W + h * DV + v_cols, mask=v_cols < DV, other=0.0)[None, :]
    row_weight = tl.where(valid, 1.0, 0.0)
    if HAS_DECAY:
        local = tl.arange(0, T)
        if WEIGHTED:
            age = local + 1
        else:
            age = T - 1 - local
        row_weight *= tl.exp2(tl.load(DECAY + h) * age.to(tl.float32))
    slot = tile * slot_step + slot_offset
    for index in tl.static_range(NUM_MAPS):
        MAP = (MAPS >> (4 * index)) & 15  # this map's code (a compile-time constant)
        phi = _features(x, d_cols < D, MAP, NORMALIZE) * row_weight[:, None]
        if WEIGHTED:
            row_base = (bh.to(tl.int64) * NUM_MAPS + index) * N
            scale = tl.load(ROW_SCALE + row_base + rows, mask=valid, other=0.0)
            extra = tl.load(ROW_EXTRA + row_base + rows, mask=valid, other=0.0)
            s = tl.dot(tl.trans(phi), y * scale[:, None], input_precision=PRECISION)
            z = tl.sum(phi * extra[:, None], 0)
        else:
            s = tl.dot(tl.trans(phi), y, input_precision=PRECISION)
            z = tl.sum(phi, 0)
        state = (bh.to(tl.int64) * num_slots + slot) * NUM_MAPS + index
        _store_tile(S + state * D * DV, s, d_cols, v_cols, DV, 1, D, DV)
        tl.store(Z + state * D + d_cols, z, mask=d_cols < D)


@triton.jit
def fmm_fwd(
    Q, K, V, PAD, NEAR_W, FAR_W, SLOPES, DECAY, S, Z, OUT, NEAR, FAR, LSE,
    sq_b, sq_h, sq_n, sq_d, sk_b, sk_h, sk_n, sk_d, sv_b, sv_h, sv_n, sv_d, so_b, so_h, so_n, so_d, spad_b,
    H, N, D, DV, left, right, sm_scale, eps, state_step, state_offset, num_slots, seed, dropout_p,
    HAS_NEAR: tl.constexpr, HAS_FAR: tl.constexpr, CAUSAL: tl.constexpr, MAPS: tl.constexpr,
    NUM_MAPS: tl.constexpr, NORMALIZE: tl.constexpr, HAS_PADDING: tl.constexpr, HAS_DROPOUT: tl.constexpr,
    HAS_ALIBI: tl.constexpr, HAS_DECAY: tl.constexpr, STORE_NEAR: tl.constexpr, STORE_FAR: tl.constexpr,
    T: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr, PRECISION: tl.constexpr,
):
    """out = near_weight * near + far_weight * far for one query tile (see the module docstring)."""
    tile = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh.to(tl.int64) // H
    h = bh % H
    rows = tile * T + tl.arange(0, T)
    d_cols = tl.arange(0, BLOCK_D)
    v_cols = tl.arange(0, BLOCK_DV)
    q_ptr = Q + b * sq_b + h * sq_h
    k_ptr = K + b * sk_b + h * sk_h
    v_ptr = V + b * sv_b + h * sv_h
    q = _load_tile(q_ptr, rows, d_cols, sq_n, sq_d, N, D)
    out = tl.zeros([T, BLOCK_DV], tl.float32)

    if HAS_NEAR or CAUSAL:  # the diagonal key tile, shared by the near field and the causal far field
        k_diag = _load_tile(k_ptr, rows, d_cols, sk_n, sk_d, N, D)
        v_diag = _load_tile(v_ptr, rows, v_cols, sv_n, sv_d, N, DV)
        key_ok = _key_valid(PAD, b * spad_b, rows, N, HAS_PADDING)

    if HAS_NEAR:
        qk_scale = sm_scale * 1.4426950408889634  # log2(e): scores in base 2
        band = left + right + 1
        seed_bh = seed + bh
        slope2 = 0.0
        if HAS_ALIBI:  # the in-band bias, in base 2
            slope2 = tl.load(SLOPES + h) * 1.4426950408889634
        m = tl.full([T], float("-inf"), tl.float32)
        l = tl.zeros([T], tl.float32)
        acc = tl.zeros([T, BLOCK_DV], tl.float32)
        m, l, acc = _near_update(q, k_diag, v_diag, rows, rows, key_ok, m, l, acc, qk_scale, slope2, left, right,
                                 seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)

    if HAS_FAR:
        far = tl.zeros([T, BLOCK_DV], tl.float32)
        slot = tile * state_step + state_offset
        q32 = q.to(tl.float32)
        if HAS_DECAY:  # this head's rate g = 2^log2_decay: the state before the tile reaches row r at g^(r+1)
            log2_decay = tl.load(DECAY + h)
            from_state = tl.exp2(log2_decay * (tl.arange(0, T) + 1).to(tl.float32))
        for index in tl.static_range(NUM_MAPS):
            MAP = (MAPS >> (4 * index)) & 15  # this map's code (a compile-time constant)
            phi_q = _features(q32, d_cols < D, MAP, NORMALIZE)
            s, z = _load_state(S, Z, (bh.to(tl.int64) * num_slots + slot) * NUM_MAPS + index, d_cols, v_cols, D, DV)
            num = tl.dot(phi_q, s, input_precision=PRECISION)
            den = tl.sum(phi_q * z[None, :], 1)
            if HAS_DECAY:
                num *= from_state[:, None]
                den *= from_state
            if CAUSAL:  # keys of this tile up to the query; earlier tiles are in the prefix state
                phi_k = tl.where(key_ok[:, None], _features(k_diag.to(tl.float32), d_cols < D, MAP, NORMALIZE), 0.0)
                a = tl.dot(phi_q, tl.trans(phi_k), input_precision=PRECISION)
                if HAS_DECAY:
                    a *= _decay_weights(rows, rows, log2_decay)
                else:
                    a = tl.where(rows[:, None] >= rows[None, :], a, 0.0)
                num += tl.dot(a, v_diag.to(tl.float32), input_precision=PRECISION)
                den += tl.sum(a, 1)
            far += num / (den[:, None] + eps)
        far_w = tl.load(FAR_W + h * DV + v_cols, mask=v_cols < DV, other=0.0)
        out += far_w[None, :] * far
        if STORE_FAR:
            _store_tile(FAR + b * so_b + h * so_h, far, rows, v_cols, so_n, so_d, N, DV)

    if HAS_NEAR:
        for key_tile in range(tl.maximum(tile * T - left, 0) // T, tile):
            cols = key_tile * T + tl.arange(0, T)
            k = _load_tile(k_ptr, cols, d_cols, sk_n, sk_d, N, D)
            v = _load_tile(v_ptr, cols, v_cols, sv_n, sv_d, N, DV)
            ok = _key_valid(PAD, b * spad_b, cols, N, HAS_PADDING)
            m, l, acc = _near_update(q, k, v, rows, cols, ok, m, l, acc, qk_scale, slope2, left, right,
                                     seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
        if not CAUSAL:
            for key_tile in range(tile + 1, tl.minimum(tile * T + T - 1 + right, N - 1) // T + 1):
                cols = key_tile * T + tl.arange(0, T)
                k = _load_tile(k_ptr, cols, d_cols, sk_n, sk_d, N, D)
                v = _load_tile(v_ptr, cols, v_cols, sv_n, sv_d, N, DV)
                ok = _key_valid(PAD, b * spad_b, cols, N, HAS_PADDING)
                m, l, acc = _near_update(q, k, v, rows, cols, ok, m, l, acc, qk_scale, slope2, left, right,
                                         seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
        seen = l > 0  # a row with no visible key gets 0 and an infinite log-sum-exp (p = 0 in backward)
        near = acc / tl.where(seen, l, 1.0)[:, None]
        tl.store(LSE + bh.to(tl.int64) * N + rows, tl.where(seen, m + tl.log2(tl.where(seen, l, 1.0)), float("inf")),
                 mask=rows < N)
        near_w = tl.load(NEAR_W + h * DV + v_cols, mask=v_cols < DV, other=0.0)
        out += near_w[None, :] * near
        if STORE_NEAR:
            _store_tile(NEAR + b * so_b + h * so_h, near, rows, v_cols, so_n, so_d, N, DV)

    _store_tile(OUT + b * so_b + h * so_h, out, rows, v_cols, so_n, so_d, N, DV)


@triton.jit
def fmm_bwd_query(
    Q, K, V, PAD, NEAR_W, FAR_W, SLOPES, DECAY, S, Z, DO, NEAR, LSE, DELTA, INV_DEN, C_DEN, DQ,
    sq_b, sq_h, sq_n, sq_d, sk_b, sk_h, sk_n, sk_d, sv_b, sv_h, sv_n, sv_d, sdo_b, sdo_h, sdo_n, sdo_d,
    so_b, so_h, so_n, so_d, sdq_b, sdq_h, sdq_n, sdq_d, spad_b,
    H, N, D, DV, left, right, sm_scale, eps, state_step, state_offset, num_slots, seed, dropout_p,
    HAS_NEAR: tl.constexpr, HAS_FAR: tl.constexpr, CAUSAL: tl.constexpr, MAPS: tl.constexpr,
    NUM_MAPS: tl.constexpr, NORMALIZE: tl.constexpr, HAS_PADDING: tl.constexpr, HAS_DROPOUT: tl.constexpr,
    HAS_ALIBI: tl.constexpr, HAS_DECAY: tl.constexpr, T: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr, PRECISION: tl.constexpr,
):
    """dq of one query tile; saves delta (near) and 1/(den + eps), c (far, per map) for ``fmm_bwd_key``."""
    tile = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh.to(tl.int64) // H
    h = bh % H
    rows = tile * T + tl.arange(0, T)
    d_cols = tl.arange(0, BLOCK_D)
    v_cols = tl.arange(0, BLOCK_DV)
    k_ptr = K + b * sk_b + h * sk_h
    v_ptr = V + b * sv_b + h * sv_h
    row_ok = rows < N
    q = _load_tile(Q + b * sq_b + h * sq_h, rows, d_cols, sq_n, sq_d, N, D)
    do = _load_tile(DO + b * sdo_b + h * sdo_h, rows, v_cols, sdo_n, sdo_d, N, DV).to(tl.float32)
    dq = tl.zeros([T, BLOCK_D], tl.float32)

    if HAS_NEAR or CAUSAL:
        k_diag = _load_tile(k_ptr, rows, d_cols, sk_n, sk_d, N, D)
        v_diag = _load_tile(v_ptr, rows, v_cols, sv_n, sv_d, N, DV)
        key_ok = _key_valid(PAD, b * spad_b, rows, N, HAS_PADDING)

    if HAS_NEAR:
        qk_scale = sm_scale * 1.4426950408889634
        band = left + right + 1
        seed_bh = seed + bh
        slope2 = 0.0
        if HAS_ALIBI:  # the in-band bias, in base 2
            slope2 = tl.load(SLOPES + h) * 1.4426950408889634
        do_near = do * tl.load(NEAR_W + h * DV + v_cols, mask=v_cols < DV, other=0.0)[None, :]
        near = _load_tile(NEAR + b * so_b + h * so_h, rows, v_cols, so_n, so_d, N, DV).to(tl.float32)
        delta = tl.sum(do_near * near, 1)
        tl.store(DELTA + bh.to(tl.int64) * N + rows, delta, mask=row_ok)
        lse = tl.load(LSE + bh.to(tl.int64) * N + rows, mask=row_ok, other=float("inf"))
        do_near = do_near.to(q.dtype)
        _, ds = _near_grad_p(q, k_diag, v_diag, do_near, rows, rows, key_ok, lse, delta, qk_scale, slope2, left, right,
                             seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
        dq += tl.dot(ds.to(k_diag.dtype), k_diag, input_precision=PRECISION) * sm_scale

    if HAS_FAR:
        do_far = do * tl.load(FAR_W + h * DV + v_cols, mask=v_cols < DV, other=0.0)[None, :]
        slot = tile * state_step + state_offset
        q32 = q.to(tl.float32)
        if HAS_DECAY:
            log2_decay = tl.load(DECAY + h)
            from_state = tl.exp2(log2_decay * (tl.arange(0, T) + 1).to(tl.float32))
            within = _decay_weights(rows, rows, log2_decay)
        for index in tl.static_range(NUM_MAPS):
            MAP = (MAPS >> (4 * index)) & 15  # this map's code (a compile-time constant)
            phi_q = _features(q32, d_cols < D, MAP, NORMALIZE)
            s, z = _load_state(S, Z, (bh.to(tl.int64) * num_slots + slot) * NUM_MAPS + index, d_cols, v_cols, D, DV)
            num = tl.dot(phi_q, s, input_precision=PRECISION)
            den = tl.sum(phi_q * z[None, :], 1)
            if HAS_DECAY:
                num *= from_state[:, None]
                den *= from_state
            if CAUSAL:
                phi_k = tl.where(key_ok[:, None], _features(k_diag.to(tl.float32), d_cols < D, MAP, NORMALIZE), 0.0)
                a = tl.dot(phi_q, tl.trans(phi_k), input_precision=PRECISION)
                if HAS_DECAY:
                    a *= within
                else:
                    a = tl.where(rows[:, None] >= rows[None, :], a, 0.0)
                num += tl.dot(a, v_diag.to(tl.float32), input_precision=PRECISION)
                den += tl.sum(a, 1)
            inv_den = 1.0 / (den + eps)
            g = do_far * inv_den[:, None]
            c = -tl.sum(g * num, 1) * inv_den
            d_phi_q = tl.dot(g, tl.trans(s), input_precision=PRECISION) + c[:, None] * z[None, :]
            if HAS_DECAY:
                d_phi_q *= from_state[:, None]
            if CAUSAL:
                gv = tl.dot(g, tl.trans(v_diag.to(tl.float32)), input_precision=PRECISION) + c[:, None]
                if HAS_DECAY:
                    gv *= within
                else:
                    gv = tl.where(rows[:, None] >= rows[None, :], gv, 0.0)
                d_phi_q += tl.dot(gv, phi_k, input_precision=PRECISION)
            dq += _features_grad(q32, d_phi_q, d_cols < D, MAP, NORMALIZE)
            row_base = (bh.to(tl.int64) * NUM_MAPS + index) * N
            tl.store(INV_DEN + row_base + rows, inv_den, mask=row_ok)
            tl.store(C_DEN + row_base + rows, c, mask=row_ok)

    if HAS_NEAR:
        for key_tile in range(tl.maximum(tile * T - left, 0) // T, tile):
            cols = key_tile * T + tl.arange(0, T)
            k = _load_tile(k_ptr, cols, d_cols, sk_n, sk_d, N, D)
            v = _load_tile(v_ptr, cols, v_cols, sv_n, sv_d, N, DV)
            ok = _key_valid(PAD, b * spad_b, cols, N, HAS_PADDING)
            _, ds = _near_grad_p(q, k, v, do_near, rows, cols, ok, lse, delta, qk_scale, slope2, left, right,
                                 seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
            dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION) * sm_scale
        if not CAUSAL:
            for key_tile in range(tile + 1, tl.minimum(tile * T + T - 1 + right, N - 1) // T + 1):
                cols = key_tile * T + tl.arange(0, T)
                k = _load_tile(k_ptr, cols, d_cols, sk_n, sk_d, N, D)
                v = _load_tile(v_ptr, cols, v_cols, sv_n, sv_d, N, DV)
                ok = _key_valid(PAD, b * spad_b, cols, N, HAS_PADDING)
                _, ds = _near_grad_p(q, k, v, do_near, rows, cols, ok, lse, delta, qk_scale, slope2, left, right,
                                     seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
                dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION) * sm_scale

    _store_tile(DQ + b * sdq_b + h * sdq_h, dq, rows, d_cols, sdq_n, sdq_d, N, D)


@triton.jit
def fmm_bwd_key(
    Q, K, V, PAD, NEAR_W, FAR_W, SLOPES, DECAY, R, RZ, DO, LSE, DELTA, INV_DEN, C_DEN, DK, DV_OUT,
    sq_b, sq_h, sq_n, sq_d, sk_b, sk_h, sk_n, sk_d, sv_b, sv_h, sv_n, sv_d, sdo_b, sdo_h, sdo_n, sdo_d,
    sdk_b, sdk_h, sdk_n, sdk_d, sdv_b, sdv_h, sdv_n, sdv_d, spad_b,
    H, N, D, DV, left, right, sm_scale, state_step, state_offset, num_slots, seed, dropout_p,
    HAS_NEAR: tl.constexpr, HAS_FAR: tl.constexpr, CAUSAL: tl.constexpr, MAPS: tl.constexpr,
    NUM_MAPS: tl.constexpr, NORMALIZE: tl.constexpr, HAS_PADDING: tl.constexpr, HAS_DROPOUT: tl.constexpr,
    HAS_ALIBI: tl.constexpr, HAS_DECAY: tl.constexpr, T: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr, PRECISION: tl.constexpr,
):
    """dk, dv of one key tile: near over the query tiles whose band meets it, far from the suffix state R."""
    tile = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh.to(tl.int64) // H
    h = bh % H
    cols = tile * T + tl.arange(0, T)  # this program's keys (also the rows of the diagonal query tile)
    d_cols = tl.arange(0, BLOCK_D)
    v_cols = tl.arange(0, BLOCK_DV)
    q_ptr = Q + b * sq_b + h * sq_h
    do_ptr = DO + b * sdo_b + h * sdo_h
    k = _load_tile(K + b * sk_b + h * sk_h, cols, d_cols, sk_n, sk_d, N, D)
    v = _load_tile(V + b * sv_b + h * sv_h, cols, v_cols, sv_n, sv_d, N, DV)
    key_ok = _key_valid(PAD, b * spad_b, cols, N, HAS_PADDING)
    dk = tl.zeros([T, BLOCK_D], tl.float32)
    dv = tl.zeros([T, BLOCK_DV], tl.float32)

    if HAS_NEAR or CAUSAL:  # the diagonal query tile, shared by both fields
        q_diag = _load_tile(q_ptr, cols, d_cols, sq_n, sq_d, N, D)
        do_diag = _load_tile(do_ptr, cols, v_cols, sdo_n, sdo_d, N, DV).to(tl.float32)

    if HAS_NEAR:
        qk_scale = sm_scale * 1.4426950408889634
        band = left + right + 1
        seed_bh = seed + bh
        slope2 = 0.0
        if HAS_ALIBI:  # the in-band bias, in base 2
            slope2 = tl.load(SLOPES + h) * 1.4426950408889634
        near_w = tl.load(NEAR_W + h * DV + v_cols, mask=v_cols < DV, other=0.0)
        row_base = bh.to(tl.int64) * N
        lse = tl.load(LSE + row_base + cols, mask=cols < N, other=float("inf"))
        delta = tl.load(DELTA + row_base + cols, mask=cols < N, other=0.0)
        do_near = (do_diag * near_w[None, :]).to(q_diag.dtype)
        p, ds = _near_grad_p(q_diag, k, v, do_near, cols, cols, key_ok, lse, delta, qk_scale, slope2, left, right,
                             seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
        dv += tl.dot(tl.trans(p).to(do_near.dtype), do_near, input_precision=PRECISION)
        dk += tl.dot(tl.trans(ds).to(q_diag.dtype), q_diag, input_precision=PRECISION) * sm_scale

    if HAS_FAR:
        far_w = tl.load(FAR_W + h * DV + v_cols, mask=v_cols < DV, other=0.0)
        slot = tile * state_step + state_offset
        k32 = k.to(tl.float32)
        v32 = v.to(tl.float32)
        if HAS_DECAY:  # key s of the tile enters the state after the tile at g^(T-1-s)
            log2_decay = tl.load(DECAY + h)
            into_state = tl.exp2(log2_decay * (T - 1 - tl.arange(0, T)).to(tl.float32))
            weights = _decay_weights(cols, cols, log2_decay)
        else:
            weights = tl.where(cols[:, None] >= cols[None, :], 1.0, 0.0)  # (query i, key j): i >= j
        for index in tl.static_range(NUM_MAPS):
            MAP = (MAPS >> (4 * index)) & 15  # this map's code (a compile-time constant)
            phi_k = tl.where(key_ok[:, None], _features(k32, d_cols < D, MAP, NORMALIZE), 0.0)
            r, rz = _load_state(R, RZ, (bh.to(tl.int64) * num_slots + slot) * NUM_MAPS + index, d_cols, v_cols, D, DV)
            d_phi_k = tl.dot(v32, tl.trans(r), input_precision=PRECISION) + rz[None, :]
            dv_state = tl.dot(phi_k, r, input_precision=PRECISION)
            if HAS_DECAY:
                d_phi_k *= into_state[:, None]
                dv_state *= into_state[:, None]
            dv += dv_state
            if CAUSAL:  # queries of this tile at or after the key; later tiles are in the suffix state
                map_rows = (bh.to(tl.int64) * NUM_MAPS + index) * N
                inv_den = tl.load(INV_DEN + map_rows + cols, mask=cols < N, other=0.0)
                c = tl.load(C_DEN + map_rows + cols, mask=cols < N, other=0.0)
                g = do_diag * far_w[None, :] * inv_den[:, None]
                phi_q = _features(q_diag.to(tl.float32), d_cols < D, MAP, NORMALIZE)
                a = weights * tl.dot(phi_q, tl.trans(phi_k), input_precision=PRECISION)
                dv += tl.dot(tl.trans(a), g, input_precision=PRECISION)
                gv = weights * (tl.dot(g, tl.trans(v32), input_precision=PRECISION) + c[:, None])
                d_phi_k += tl.dot(tl.trans(gv), phi_q, input_precision=PRECISION)
            d_phi_k = tl.where(key_ok[:, None], d_phi_k, 0.0)
            dk += _features_grad(k32, d_phi_k, d_cols < D, MAP, NORMALIZE)

    if HAS_NEAR:
        for query_tile in range(tl.maximum(tile * T - right, 0) // T, tile):  # bidirectional only
            rows = query_tile * T + tl.arange(0, T)
            q = _load_tile(q_ptr, rows, d_cols, sq_n, sq_d, N, D)
            do_near = (_load_tile(do_ptr, rows, v_cols, sdo_n, sdo_d, N, DV).to(tl.float32) * near_w[None, :]).to(q.dtype)
            lse = tl.load(LSE + row_base + rows, mask=rows < N, other=float("inf"))
            delta = tl.load(DELTA + row_base + rows, mask=rows < N, other=0.0)
            p, ds = _near_grad_p(q, k, v, do_near, rows, cols, key_ok, lse, delta, qk_scale, slope2, left, right,
                                 seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
            dv += tl.dot(tl.trans(p).to(do_near.dtype), do_near, input_precision=PRECISION)
            dk += tl.dot(tl.trans(ds).to(q.dtype), q, input_precision=PRECISION) * sm_scale
        for query_tile in range(tile + 1, tl.minimum(tile * T + T - 1 + left, N - 1) // T + 1):
            rows = query_tile * T + tl.arange(0, T)
            q = _load_tile(q_ptr, rows, d_cols, sq_n, sq_d, N, D)
            do_near = (_load_tile(do_ptr, rows, v_cols, sdo_n, sdo_d, N, DV).to(tl.float32) * near_w[None, :]).to(q.dtype)
            lse = tl.load(LSE + row_base + rows, mask=rows < N, other=float("inf"))
            delta = tl.load(DELTA + row_base + rows, mask=rows < N, other=0.0)
            p, ds = _near_grad_p(q, k, v, do_near, rows, cols, key_ok, lse, delta, qk_scale, slope2, left, right,
                                 seed_bh, dropout_p, band, HAS_DROPOUT, PRECISION, HAS_ALIBI)
            dv += tl.dot(tl.trans(p).to(do_near.dtype), do_near, input_precision=PRECISION)
            dk += tl.dot(tl.trans(ds).to(q.dtype), q, input_precision=PRECISION) * sm_scale

    _store_tile(DK + b * sdk_b + h * sdk_h, dk, cols, d_cols, sdk_n, sdk_d, N, D)
    _store_tile(DV_OUT + b * sdv_b + h * sdv_h, dv, cols, v_cols, sdv_n, sdv_d, N, DV)
