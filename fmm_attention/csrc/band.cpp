// The near field (banded softmax attention) as compiled CPU kernels: forward and backward.
//
// Row i of a (batch, head) attends to the keys of its band, the keys standing `earlier` positions
// ahead of the queries (key j sits at position j - earlier; a decoding state's kept keys):
//   causal:        i - w < j - earlier <= i
//   bidirectional: |i - (j - earlier)| < w          (earlier = 0)
// with softmax over the band only of s_ij = scale q_i.k_j - m_h |i - (j - earlier)| (m_h: the in-band
// bias's slope, 0 without it); padded keys get no weight; a row with no visible key gives 0.
// The forward keeps one number per row, lse_i = log sum_j exp(s_ij) (-inf for a row with no key),
// from which the backward recomputes p_ij = exp(s_ij - lse_i): O(N w d) time, O(N) memory beyond
// q, k, v. (batch, head) pairs run in parallel; inside one, rows run in order, so the backward's
// sums into dk, dv need no atomics.
#include "kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace fmm_cpu {
namespace {

template <typename T>
inline T dot(const T* a, const T* b, int64_t n) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t x = 0; x < n; ++x) sum += a[x] * b[x];
  return sum;
}

template <typename T>
inline void axpy(T alpha, const T* x, T* y, int64_t n) {
#pragma omp simd
  for (int64_t e = 0; e < n; ++e) y[e] += alpha * x[e];
}

struct Band {
  int64_t length, keys, earlier, left, right, head_dim, value_dim;
  // the keys row i may see: [first(i), last(i)] (before padding)
  inline int64_t first(int64_t i) const { return std::max<int64_t>(0, i + earlier - left); }
  inline int64_t last(int64_t i) const { return std::min<int64_t>(keys - 1, i + earlier + right); }
};

// The scores of row i into `scores` (index j - first), -inf where the key is padded; returns their max.
template <typename T>
inline T row_scores(const Band& band, int64_t i, const T* q_row, const T* k, const bool* padded, T scale, T slope,
                    T* scores) {
  const int64_t first = band.first(i), last = band.last(i);
  T best = -std::numeric_limits<T>::infinity();
  for (int64_t j = first; j <= last; ++j) {
    T s = -std::numeric_limits<T>::infinity();
    if (padded == nullptr || !padded[j]) {
      s = scale * dot(q_row, k + j * band.head_dim, band.head_dim) - slope * std::abs(T(i + band.earlier - j));
      best = std::max(best, s);
    }
    scores[j - first] = s;
  }
  return best;
}

template <typename T>
void forward_kernel(const Band& band, int64_t pairs, int64_t heads, const T* q, const T* k, const T* v,
                    const bool* padding, const T* slopes, T scale, T* out, T* lse) {
  at::parallel_for(0, pairs, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> scores(band.left + band.right + 1);
    for (int64_t pair = begin; pair < end; ++pair) {
      const T* q_pair = q + pair * band.length * band.head_dim;
      const T* k_pair = k + pair * band.keys * band.head_dim;
      const T* v_pair = v + pair * band.keys * band.value_dim;
      const bool* padded = padding ? padding + (pair / heads) * band.keys : nullptr;
      const T slope = slopes ? slopes[pair % heads] : T(0);
      for (int64_t i = 0; i < band.length; ++i) {
        T* out_row = out + (pair * band.length + i) * band.value_dim;
        std::fill(out_row, out_row + band.value_dim, T(0));
        const T best = row_scores(band, i, q_pair + i * band.head_dim, k_pair, padded, scale, slope, scores.data());
        T& row_lse = lse[pair * band.length + i];
        if (best == -std::numeric_limits<T>::infinity()) {
          row_lse = best;  // no visible key: the row gives 0
          continue;
        }
        const int64_t first = band.first(i), count = band.last(i) - first + 1;
        T total = 0;
        for (int64_t c = 0; c < count; ++c) {
          scores[c] = std::exp(scores[c] - best);
          total += scores[c];
        }
        for (int64_t c = 0; c < count; ++c)
          if (scores[c] > 0) axpy(scores[c] / total, v_pair + (first + c) * band.value_dim, out_row, band.value_dim);
        row_lse = best + std::log(total);
      }
    }
  });
}

template <typename T>
void backward_kernel(const Band& band, int64_t pairs, int64_t heads, const T* grad_out, const T* q, const T* k,
                     const T* v, const T* lse, const bool* padding, const T* slopes, T scale, T* grad_q, T* grad_k,
                     T* grad_v) {
  at::parallel_for(0, pairs, 1, [&](int64_t begin, int64_t end) {
    const int64_t width = band.left + band.right + 1;
    std::vector<T> weights(width), grad_scores(width);
    for (int64_t pair = begin; pair < end; ++pair) {
      const T* q_pair = q + pair * band.length * band.head_dim;
      const T* k_pair = k + pair * band.keys * band.head_dim;
      const T* v_pair = v + pair * band.keys * band.value_dim;
      T* grad_k_pair = grad_k + pair * band.keys * band.head_dim;
      T* grad_v_pair = grad_v + pair * band.keys * band.value_dim;
      const bool* padded = padding ? padding + (pair / heads) * band.keys : nullptr;
      const T slope = slopes ? slopes[pair % heads] : T(0);
      for (int64_t i = 0; i < band.length; ++i) {
        const T* q_row = q_pair + i * band.head_dim;
        const T* grad_row = grad_out + (pair * band.length + i) * band.value_dim;
        T* grad_q_row = grad_q + (pair * band.length + i) * band.head_dim;
        std::fill(grad_q_row, grad_q_row + band.head_dim, T(0));
        const T row_lse = lse[pair * band.length + i];
        if (row_lse == -std::numeric_limits<T>::infinity()) continue;
        row_scores(band, i, q_row, k_pair, padded, scale, slope, weights.data());
        const int64_t first = band.first(i), count = band.last(i) - first + 1;
        T mean = 0;  // sum_j p_ij dp_ij, dp_ij = grad_out_i . v_j
        for (int64_t c = 0; c < count; ++c) {
          weights[c] = std::exp(weights[c] - row_lse);
          grad_scores[c] = weights[c] > 0 ? dot(grad_row, v_pair + (first + c) * band.value_dim, band.value_dim) : T(0);
          mean += weights[c] * grad_scores[c];
        }
        for (int64_t c = 0; c < count; ++c) {
          if (weights[c] == 0) continue;
          const int64_t j = first + c;
          const T grad_score = scale * weights[c] * (grad_scores[c] - mean);  // d loss / d (q_i . k_j)
          axpy(grad_score, k_pair + j * band.head_dim, grad_q_row, band.head_dim);
          axpy(grad_score, q_row, grad_k_pair + j * band.head_dim, band.head_dim);
          axpy(weights[c], grad_row, grad_v_pair + j * band.value_dim, band.value_dim);
        }
      }
    }
  });
}

Band make_band(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t bandwidth, bool causal) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "q, k, v must be (batch, heads, length, dim)");
  TORCH_CHECK(q.is_contiguous() && k.is_contiguous() && v.is_contiguous(), "q, k, v must be contiguous");
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(), "q, k, v must share a dtype");
  TORCH_CHECK(bandwidth >= 1, "bandwidth must be >= 1");
  const int64_t length = q.size(2), keys = k.size(2), earlier = keys - length;
  TORCH_CHECK(earlier >= 0 && earlier <= bandwidth - 1 && (causal || earlier == 0),
              "keys may start at most bandwidth - 1 positions before the queries, causal attention only");
  TORCH_CHECK(v.size(2) == keys && k.size(3) == q.size(3), "k and v must have the same length, q and k the same dim");
  return Band{length, keys, earlier, bandwidth - 1, causal ? 0 : bandwidth - 1, q.size(3), v.size(3)};
}

template <typename T>
const T* slopes_pointer(const c10::optional<at::Tensor>& slopes, int64_t heads) {
  if (!slopes.has_value()) return nullptr;
  TORCH_CHECK(slopes->is_contiguous() && slopes->numel() == heads, "slopes must be (heads,) and contiguous");
  return slopes->data_ptr<T>();
}

}  // namespace

std::vector<at::Tensor> band_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const c10::optional<at::Tensor>& padding,
                                        const c10::optional<at::Tensor>& slopes, int64_t bandwidth, bool causal,
                                        double scale) {
  const Band band = make_band(q, k, v, bandwidth, causal);
  const int64_t batch = q.size(0), heads = q.size(1);
  auto out = at::empty({batch, heads, band.length, band.value_dim}, v.options());
  auto lse = at::empty({batch, heads, band.length}, q.options());
  const bool* padded = padding_pointer(padding, batch, band.keys);
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "band_forward", [&] {
    TORCH_CHECK(!slopes.has_value() || slopes->scalar_type() == q.scalar_type(), "slopes must have q's dtype");
    forward_kernel<scalar_t>(band, batch * heads, heads, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(),
                             v.data_ptr<scalar_t>(), padded, slopes_pointer<scalar_t>(slopes, heads),
                             static_cast<scalar_t>(scale), out.data_ptr<scalar_t>(), lse.data_ptr<scalar_t>());
  });
  return {out, lse};
}

std::vector<at::Tensor> band_backward(const at::Tensor& grad_out, const at::Tensor& q, const at::Tensor& k,
                                         const at::Tensor& v, const at::Tensor& lse,
                                         const c10::optional<at::Tensor>& padding,
                                         const c10::optional<at::Tensor>& slopes, int64_t bandwidth, bool causal,
                                         double scale) {
  const Band band = make_band(q, k, v, bandwidth, causal);
  TORCH_CHECK(grad_out.is_contiguous() && grad_out.scalar_type() == q.scalar_type(), "grad_out must be contiguous, q's dtype");
  const int64_t batch = q.size(0), heads = q.size(1);
  auto grad_q = at::empty_like(q);
  auto grad_k = at::zeros_like(k);
  auto grad_v = at::zeros_like(v);
  const bool* padded = padding_pointer(padding, batch, band.keys);
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "band_backward", [&] {
    backward_kernel<scalar_t>(band, batch * heads, heads, grad_out.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(),
                              k.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), lse.data_ptr<scalar_t>(), padded,
                              slopes_pointer<scalar_t>(slopes, heads), static_cast<scalar_t>(scale),
                              grad_q.data_ptr<scalar_t>(), grad_k.data_ptr<scalar_t>(), grad_v.data_ptr<scalar_t>());
  });
  return {grad_q, grad_k, grad_v};
}

}  // namespace fmm_cpu
