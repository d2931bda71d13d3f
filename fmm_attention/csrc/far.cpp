// The causal far field (linear attention averaged over feature maps) as compiled CPU kernels, in
// its recurrent form: per (batch, head) and map, position by position,
//   S_t = g S_{t-1} + k_t w_t^T        k_t = phi(k_t) / sum phi(k_t) (0 where padded), w_t = [v_t, 1]
//   out_t += (1/r) a_t^T S_t[:, :dv] / (a_t^T S_t[:, dv] + eps max(sum a_t, 1e-6))     a_t = phi(q_t)
// (without the sum-to-one rescaling: k_t = phi(k_t) and the eps term is eps). S starts from the
// given state and the state after the last position is returned. O(N d dv) time, O(d dv) state.
// The backward runs the recurrence forward again (gradients of q, and each position's
// [d numerator / den | d den]), then backward (D_t = a_t u_t^T + g D_{t+1}: gradients of k, v and
// of the initial state). (batch, head) pairs run in parallel.
#include "kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace fmm_cpu {
namespace {

enum Map : int64_t { ELU = 0, ELU_FLIP = 1, TANH = 2, RELU = 3 };
constexpr double kFloor = 1e-6;  // the torch path's clamp_min of feature sums

template <typename T>
inline T feature(int64_t map, T x) {
  switch (map) {
    case ELU: return x > 0 ? x + 1 : std::exp(x);
    case ELU_FLIP: return x < 0 ? 1 - x : std::exp(-x);
    case TANH: return 1 + std::tanh(x);
    default: return x > 0 ? x : T(0);
  }
}

template <typename T>
inline T feature_slope(int64_t map, T x) {  // d phi / dx
  switch (map) {
    case ELU: return x > 0 ? T(1) : std::exp(x);
    case ELU_FLIP: return x < 0 ? T(-1) : -std::exp(-x);
    case TANH: { const T t = std::tanh(x); return 1 - t * t; }
    default: return x > 0 ? T(1) : T(0);
  }
}

struct Far {
  int64_t length, head_dim, value_dim, heads;
  bool normalize;
  double eps;
  int64_t width() const { return value_dim + 1; }
};

// phi(x) of one row into out; returns the rescaling s (the sum, floored; 1 without rescaling)
template <typename T>
inline T features(const Far& far, int64_t map, const T* x, T* out) {
  T sum = 0;
  for (int64_t f = 0; f < far.head_dim; ++f) {
    out[f] = feature(map, x[f]);
    sum += out[f];
  }
  return far.normalize ? std::max(sum, T(kFloor)) : T(1);
}

// S <- g S + key w^T, w = [v, 1]
template <typename T>
inline void add_key(const Far& far, T* state, T g, const T* key, const T* value) {
  const int64_t width = far.width();
  if (g != T(1))
    for (int64_t x = 0; x < far.head_dim * width; ++x) state[x] *= g;
  if (key == nullptr) return;
  for (int64_t f = 0; f < far.head_dim; ++f) {
    const T kf = key[f];
    if (kf == 0) continue;
    T* row = state + f * width;
#pragma omp simd
    for (int64_t e = 0; e < far.value_dim; ++e) row[e] += kf * value[e];
    row[far.value_dim] += kf;
  }
}

// a^T S into read (width numbers)
template <typename T>
inline void read_state(const Far& far, const T* state, const T* a, T* read) {
  const int64_t width = far.width();
  std::fill(read, read + width, T(0));
  for (int64_t f = 0; f < far.head_dim; ++f) {
    const T af = a[f];
    const T* row = state + f * width;
#pragma omp simd
    for (int64_t e = 0; e < width; ++e) read[e] += af * row[e];
  }
}

template <typename T>
inline T eps_term(const Far& far, T a_sum) {
  return far.normalize ? T(far.eps) * std::max(a_sum, T(kFloor)) : T(far.eps);
}

template <typename T>
struct Pair {  // one (batch, head)'s pointers
  const T *q, *k, *v;
  const bool* padded;
  T g;
};

template <typename T>
Pair<T> pair_of(const Far& far, int64_t pair, const T* q, const T* k, const T* v, const bool* padding, const T* decay) {
  return Pair<T>{q + pair * far.length * far.head_dim, k + pair * far.length * far.head_dim,
                 v + pair * far.length * far.value_dim, padding ? padding + (pair / far.heads) * far.length : nullptr,
                 decay ? decay[pair % far.heads] : T(1)};
}

template <typename T>
void forward_kernel(const Far& far, int64_t pairs, const std::vector<int64_t>& maps, const T* q, const T* k,
                    const T* v, const bool* padding, const T* decay, T* state, T* out) {
  const int64_t width = far.width(), state_size = far.head_dim * width;
  const T share = T(1) / T(maps.size());
  at::parallel_for(0, pairs, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> key(far.head_dim), a(far.head_dim), read(width);
    for (int64_t pair = begin; pair < end; ++pair) {
      const Pair<T> p = pair_of(far, pair, q, k, v, padding, decay);
      T* out_pair = out + pair * far.length * far.value_dim;
      std::fill(out_pair, out_pair + far.length * far.value_dim, T(0));
      for (size_t m = 0; m < maps.size(); ++m) {
        T* s = state + (pair * maps.size() + m) * state_size;
        for (int64_t t = 0; t < far.length; ++t) {
          const bool padded = p.padded && p.padded[t];
          if (!padded) {
            const T scale = features(far, maps[m], p.k + t * far.head_dim, key.data());
            for (int64_t f = 0; f < far.head_dim; ++f) key[f] /= scale;
          }
          add_key(far, s, p.g, padded ? nullptr : key.data(), p.v + t * far.value_dim);
          T a_sum = 0;
          for (int64_t f = 0; f < far.head_dim; ++f) a_sum += (a[f] = feature(maps[m], p.q[t * far.head_dim + f]));
          read_state(far, s, a.data(), read.data());
          const T inverse = share / (read[far.value_dim] + eps_term(far, a_sum));
          T* out_row = out_pair + t * far.value_dim;
#pragma omp simd
          for (int64_t e = 0; e < far.value_dim; ++e) out_row[e] += read[e] * inverse;
        }
      }
    }
  });
}

template <typename T>
void backward_kernel(const Far& far, int64_t pairs, const std::vector<int64_t>& maps, const T* grad_out,
                     const T* grad_final, const T* q, const T* k, const T* v, const bool* padding, const T* decay,
                     const T* initial, T* grad_q, T* grad_k, T* grad_v, T* grad_initial) {
  const int64_t width = far.width(), state_size = far.head_dim * width;
  const T share = T(1) / T(maps.size());
  at::parallel_for(0, pairs, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> key(far.head_dim), a(far.head_dim), read(width), s(state_size), d(state_size);
    std::vector<T> u(far.length * width), grad_key(far.head_dim), grad_w(width);
    for (int64_t pair = begin; pair < end; ++pair) {
      const Pair<T> p = pair_of(far, pair, q, k, v, padding, decay);
      const T* grad_pair = grad_out + pair * far.length * far.value_dim;
      T* grad_q_pair = grad_q + pair * far.length * far.head_dim;
      T* grad_k_pair = grad_k + pair * far.length * far.head_dim;
      T* grad_v_pair = grad_v + pair * far.length * far.value_dim;
      std::fill(grad_q_pair, grad_q_pair + far.length * far.head_dim, T(0));
      std::fill(grad_k_pair, grad_k_pair + far.length * far.head_dim, T(0));
      std::fill(grad_v_pair, grad_v_pair + far.length * far.value_dim, T(0));
      for (size_t m = 0; m < maps.size(); ++m) {
        const int64_t slot = pair * maps.size() + m;
        // forward again: u_t = [g_t / den_t | -(g_t . num_t) / den_t^2], and the gradients of q
        std::copy(initial + slot * state_size, initial + (slot + 1) * state_size, s.begin());
        for (int64_t t = 0; t < far.length; ++t) {
          const bool padded = p.padded && p.padded[t];
          if (!padded) {
            const T scale = features(far, maps[m], p.k + t * far.head_dim, key.data());
            for (int64_t f = 0; f < far.head_dim; ++f) key[f] /= scale;
          }
          add_key(far, s.data(), p.g, padded ? nullptr : key.data(), p.v + t * far.value_dim);
          const T* q_row = p.q + t * far.head_dim;
          T a_sum = 0;
          for (int64_t f = 0; f < far.head_dim; ++f) a_sum += (a[f] = feature(maps[m], q_row[f]));
          read_state(far, s.data(), a.data(), read.data());
          const T den = read[far.value_dim] + eps_term(far, a_sum);
          T* u_t = u.data() + t * width;
          T dot = 0;
          for (int64_t e = 0; e < far.value_dim; ++e) {
            const T g = share * grad_pair[t * far.value_dim + e];
            u_t[e] = g / den;
            dot += g * read[e];
          }
          u_t[far.value_dim] = -dot / (den * den);
          // d loss / d a_f = S_f . u + (eps where the eps term grows with sum a)
          const T eps_slope = far.normalize && a_sum > T(kFloor) ? T(far.eps) * u_t[far.value_dim] : T(0);
          T* grad_q_row = grad_q_pair + t * far.head_dim;
          for (int64_t f = 0; f < far.head_dim; ++f) {
            const T* row = s.data() + f * width;
            T grad_a = eps_slope;
#pragma omp simd reduction(+ : grad_a)
            for (int64_t e = 0; e < width; ++e) grad_a += row[e] * u_t[e];
            grad_q_row[f] += grad_a * feature_slope(maps[m], q_row[f]);
          }
        }
        // backward: D_t = a_t u_t^T + g D_{t+1}, D after the last position = the final state's gradient
        std::copy(grad_final + slot * state_size, grad_final + (slot + 1) * state_size, d.begin());
        for (int64_t t = far.length - 1; t >= 0; --t) {
          const T* q_row = p.q + t * far.head_dim;
          const T* u_t = u.data() + t * width;
          for (int64_t f = 0; f < far.head_dim; ++f) {
            const T af = feature(maps[m], q_row[f]);
            T* row = d.data() + f * width;
#pragma omp simd
            for (int64_t e = 0; e < width; ++e) row[e] += af * u_t[e];
          }
          const bool padded = p.padded && p.padded[t];
          if (!padded) {  // d loss / d key = D w, d loss / d w = D^T key
            const T* k_row = p.k + t * far.head_dim;
            const T scale = features(far, maps[m], k_row, key.data());
            const T* value = p.v + t * far.value_dim;
            std::fill(grad_w.begin(), grad_w.end(), T(0));
            T key_dot = 0;  // sum_f grad_key_f key_f (the rescaled key)
            for (int64_t f = 0; f < far.head_dim; ++f) {
              const T* row = d.data() + f * width;
              T gk = row[far.value_dim];
#pragma omp simd reduction(+ : gk)
              for (int64_t e = 0; e < far.value_dim; ++e) gk += row[e] * value[e];
              grad_key[f] = gk;
              const T kf = key[f] / scale;
              key_dot += gk * kf;
#pragma omp simd
              for (int64_t e = 0; e < far.value_dim; ++e) grad_w[e] += row[e] * kf;
            }
            const bool floored = far.normalize && scale <= T(kFloor);
            T* grad_k_row = grad_k_pair + t * far.head_dim;
            for (int64_t f = 0; f < far.head_dim; ++f) {
              const T grad_phi = far.normalize ? (grad_key[f] - (floored ? T(0) : key_dot)) / scale : grad_key[f];
              grad_k_row[f] += grad_phi * feature_slope(maps[m], k_row[f]);
            }
            T* grad_v_row = grad_v_pair + t * far.value_dim;
            for (int64_t e = 0; e < far.value_dim; ++e) grad_v_row[e] += grad_w[e];
          }
          if (p.g != T(1))
            for (int64_t x = 0; x < state_size; ++x) d[x] *= p.g;
        }
        std::copy(d.begin(), d.end(), grad_initial + slot * state_size);
      }
    }
  });
}

Far make_far(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& state,
             int64_t maps, bool normalize, double eps) {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && v.dim() == 4 && v.size(2) == q.size(2),
              "q, k must be (batch, heads, length, d) and v (batch, heads, length, dv)");
  TORCH_CHECK(q.is_contiguous() && k.is_contiguous() && v.is_contiguous() && state.is_contiguous(),
              "q, k, v and the state must be contiguous");
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type() &&
                  q.scalar_type() == state.scalar_type(),
              "q, k, v and the state must share a dtype");
  TORCH_CHECK(state.dim() == 5 && state.size(0) == q.size(0) && state.size(1) == q.size(1) && state.size(2) == maps &&
                  state.size(3) == q.size(3) && state.size(4) == v.size(3) + 1,
              "the state must be (batch, heads, maps, d, dv + 1)");
  return Far{q.size(2), q.size(3), v.size(3), q.size(1), normalize, eps};
}

std::vector<int64_t> map_codes(const std::vector<int64_t>& maps) {
  for (int64_t code : maps) TORCH_CHECK(code >= ELU && code <= RELU, "unknown feature map code ", code);
  TORCH_CHECK(!maps.empty(), "at least one feature map");
  return maps;
}

template <typename T>
const T* decay_pointer(const c10::optional<at::Tensor>& decay, int64_t heads) {
  if (!decay.has_value()) return nullptr;
  TORCH_CHECK(decay->is_contiguous() && decay->numel() == heads, "decay must be (heads,) and contiguous");
  return decay->data_ptr<T>();
}

}  // namespace

std::vector<at::Tensor> far_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       const c10::optional<at::Tensor>& padding,
                                       const c10::optional<at::Tensor>& decay, const at::Tensor& initial_state,
                                       const std::vector<int64_t>& maps, bool normalize, double eps) {
  const auto codes = map_codes(maps);
  const Far far = make_far(q, k, v, initial_state, codes.size(), normalize, eps);
  auto state = initial_state.clone();
  auto out = at::empty({q.size(0), q.size(1), far.length, far.value_dim}, v.options());
  const bool* padded = padding_pointer(padding, q.size(0), far.length);
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "far_forward", [&] {
    forward_kernel<scalar_t>(far, q.size(0) * q.size(1), codes, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(),
                             v.data_ptr<scalar_t>(), padded, decay_pointer<scalar_t>(decay, far.heads),
                             state.data_ptr<scalar_t>(), out.data_ptr<scalar_t>());
  });
  return {out, state};
}

std::vector<at::Tensor> far_backward(const at::Tensor& grad_out, const at::Tensor& grad_final_state,
                                        const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const c10::optional<at::Tensor>& padding,
                                        const c10::optional<at::Tensor>& decay, const at::Tensor& initial_state,
                                        const std::vector<int64_t>& maps, bool normalize, double eps) {
  const auto codes = map_codes(maps);
  const Far far = make_far(q, k, v, initial_state, codes.size(), normalize, eps);
  TORCH_CHECK(grad_out.is_contiguous() && grad_final_state.is_contiguous() &&
                  grad_final_state.sizes() == initial_state.sizes(),
              "the gradients must be contiguous, the final state's shaped as the state");
  auto grad_q = at::empty_like(q), grad_k = at::empty_like(k), grad_v = at::empty_like(v);
  auto grad_initial = at::empty_like(initial_state);
  const bool* padded = padding_pointer(padding, q.size(0), far.length);
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "far_backward", [&] {
    backward_kernel<scalar_t>(far, q.size(0) * q.size(1), codes, grad_out.data_ptr<scalar_t>(),
                              grad_final_state.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(),
                              v.data_ptr<scalar_t>(), padded, decay_pointer<scalar_t>(decay, far.heads),
                              initial_state.data_ptr<scalar_t>(), grad_q.data_ptr<scalar_t>(),
                              grad_k.data_ptr<scalar_t>(), grad_v.data_ptr<scalar_t>(),
                              grad_initial.data_ptr<scalar_t>());
  });
  return {grad_q, grad_k, grad_v, grad_initial};
}

}  // namespace fmm_cpu
