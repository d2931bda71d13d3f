// The causal far field (linear attention averaged over feature maps) as compiled CPU kernels, in
// its recurrent form: per (batch, head) and map, position by position,
//   S_t = g S_{t-1} + k_t w_t^T        k_t = phi(k_t) / max(sum phi(k_t), 1e-6) (0 where padded), w_t = [v_t, 1]
//   out_t += (1/r) a_t^T S_t[:, :dv] / (a_t^T S_t[:, dv] + eps max(sum a_t, 1e-6))     a_t = phi(q_t)
// (without the sum-to-one rescaling: k_t = phi(k_t) and the eps term is eps). S starts from the
// given state and the state after the last position is returned: O(N d dv) time, O(d dv) state, no
// chunk products. Features are computed block by block of BLOCK positions in vectorisable loops
// (float: a polynomial exp of ~1 ulp), so no feature tensor of the sequence's length exists.
// The backward runs the recurrence forward again (gradients of q, and each position's
// u_t = [d num / den | d den]), then backward (D_t = a_t u_t^T + g D_{t+1}: gradients of k, v and
// of the initial state). (batch, head) pairs run in parallel.
#include "kernels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fmm_cpu {
namespace {

enum Map : int64_t { ELU = 0, ELU_FLIP = 1, TANH = 2, RELU = 3 };
constexpr int64_t BLOCK = 64;    // positions whose features are computed together
constexpr double kFloor = 1e-6;  // the torch path's clamp_min of feature sums

// exp(x) for x <= 0: float by range reduction and Cephes' polynomial (~1 ulp; vectorisable), double
// by std::exp
inline float exp_of(float x) {
  x = std::max(x, -87.3f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return (p * r * r + r + 1.0f) * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
}
inline double exp_of(double x) { return std::exp(x); }

// phi(x) of one map, and (when ``slope``) d phi / dx, of n numbers; each formula calls exp_of on x <= 0 only
template <typename T>
void features(int64_t map, const T* x, int64_t n, T* phi, T* slope) {
  switch (map) {
    case ELU:  // x + 1, or exp(x) for x <= 0
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) phi[i] = x[i] > 0 ? x[i] + 1 : exp_of(std::min(x[i], T(0)));
      if (slope)
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) slope[i] = x[i] > 0 ? T(1) : phi[i];
      break;
    case ELU_FLIP:  // 1 - x, or exp(-x) for x >= 0
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) phi[i] = x[i] < 0 ? 1 - x[i] : exp_of(std::min(-x[i], T(0)));
      if (slope)
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) slope[i] = x[i] < 0 ? T(-1) : -phi[i];
      break;
    case TANH:  // 1 + tanh(x) = 2 / (1 + exp(-2x)) = 2 exp(2x) / (exp(2x) + 1); slope (2 - phi) phi
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const T e = exp_of(-2 * std::abs(x[i]));
        phi[i] = x[i] > 0 ? T(2) / (1 + e) : T(2) * e / (e + 1);
      }
      if (slope)
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) slope[i] = (2 - phi[i]) * phi[i];
      break;
    default:  // relu
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) phi[i] = x[i] > 0 ? x[i] : T(0);
      if (slope)
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) slope[i] = x[i] > 0 ? T(1) : T(0);
  }
}

struct Far {
  int64_t length, head_dim, value_dim, heads;
  bool normalize;
  double eps;
  int64_t width() const { return value_dim + 1; }
};

// The features of a block of positions [first, first + count) of one map: queries a (raw) with their
// eps terms, keys k (rescaled, 0 where padded) with their rescalings; slopes when asked for.
template <typename T>
struct FeatureBlock {
  std::vector<T> a, a_slope, eps_term, a_sum, k, k_slope, k_scale;
  explicit FeatureBlock(int64_t d)
      : a(BLOCK * d), a_slope(BLOCK * d), eps_term(BLOCK), a_sum(BLOCK), k(BLOCK * d), k_slope(BLOCK * d),
        k_scale(BLOCK) {}

  void compute(const Far& far, int64_t map, const T* q, const T* key, const bool* padded, int64_t first,
               int64_t count, bool slopes) {
    const int64_t d = far.head_dim;
    features(map, q + first * d, count * d, a.data(), slopes ? a_slope.data() : nullptr);
    features(map, key + first * d, count * d, k.data(), slopes ? k_slope.data() : nullptr);
    for (int64_t t = 0; t < count; ++t) {
      T sum = 0, k_sum = 0;
      for (int64_t f = 0; f < d; ++f) {
        sum += a[t * d + f];
        k_sum += k[t * d + f];
      }
      a_sum[t] = sum;
      eps_term[t] = far.normalize ? T(far.eps) * std::max(sum, T(kFloor)) : T(far.eps);
      const bool is_padded = padded && padded[first + t];
      const T scale = far.normalize ? std::max(k_sum, T(kFloor)) : T(1);
      k_scale[t] = scale;
      const T factor = is_padded ? T(0) : T(1) / scale;
      for (int64_t f = 0; f < d; ++f) k[t * d + f] *= factor;
      if (is_padded && slopes)
        for (int64_t f = 0; f < d; ++f) k_slope[t * d + f] = 0;
    }
  }
};

// S <- g S + key w^T (w = [v, 1]), then read = a^T S (width numbers): one pass over S's rows. DV > 0:
// the value size known at compile time (read then stays in registers); 0: far.value_dim.
template <typename T, int DV>
inline void add_and_read(const Far& far, T* state, T g, const T* key, const T* value, const T* a, T* read) {
  const int64_t dv = DV > 0 ? DV : far.value_dim, width = dv + 1;
  std::fill(read, read + width, T(0));
  for (int64_t f = 0; f < far.head_dim; ++f) {
    const T kf = key[f], af = a[f];
    T* row = state + f * width;
#pragma omp simd
    for (int64_t e = 0; e < dv; ++e) {
      row[e] = g * row[e] + kf * value[e];
      read[e] += af * row[e];
    }
    row[dv] = g * row[dv] + kf;
    read[dv] += af * row[dv];
  }
}

// Calls body.template operator()<DV>() with the value size as a compile-time constant where it is a
// common one (16, 32, 64, 128), else with 0.
template <typename Body>
void with_value_size(int64_t value_dim, Body&& body) {
  switch (value_dim) {
    case 16: body.template operator()<16>(); break;
    case 32: body.template operator()<32>(); break;
    case 64: body.template operator()<64>(); break;
    case 128: body.template operator()<128>(); break;
    default: body.template operator()<0>();
  }
}

template <typename T>
struct Pair {  // one (batch, head)'s inputs
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

template <typename T, int DV>
void forward_kernel(const Far& far, int64_t pairs, const std::vector<int64_t>& maps, const T* q, const T* k,
                    const T* v, const bool* padding, const T* decay, T* state, T* out) {
  const int64_t width = far.width(), state_size = far.head_dim * width, d = far.head_dim;
  const T share = T(1) / T(maps.size());
  at::parallel_for(0, pairs, 1, [&](int64_t begin, int64_t end) {
    FeatureBlock<T> block(d);
    std::vector<T> read_buffer(width);
    T read_fixed[DV + 1];
    T* read = DV > 0 ? read_fixed : read_buffer.data();
    for (int64_t pair = begin; pair < end; ++pair) {
      const Pair<T> p = pair_of(far, pair, q, k, v, padding, decay);
      T* out_pair = out + pair * far.length * far.value_dim;
      std::fill(out_pair, out_pair + far.length * far.value_dim, T(0));
      for (size_t m = 0; m < maps.size(); ++m) {
        T* s = state + (pair * maps.size() + m) * state_size;
        for (int64_t first = 0; first < far.length; first += BLOCK) {
          const int64_t count = std::min(BLOCK, far.length - first);
          block.compute(far, maps[m], p.q, p.k, p.padded, first, count, false);
          for (int64_t i = 0; i < count; ++i) {
            const int64_t t = first + i;
            add_and_read<T, DV>(far, s, p.g, block.k.data() + i * d, p.v + t * far.value_dim, block.a.data() + i * d,
                                read);
            const T inverse = share / (read[far.value_dim] + block.eps_term[i]);
            T* out_row = out_pair + t * far.value_dim;
#pragma omp simd
            for (int64_t e = 0; e < far.value_dim; ++e) out_row[e] += read[e] * inverse;
          }
        }
      }
    }
  });
}

template <typename T, int DV>
void backward_kernel(const Far& far, int64_t pairs, const std::vector<int64_t>& maps, const T* grad_out,
                     const T* grad_final, const T* q, const T* k, const T* v, const bool* padding, const T* decay,
                     const T* initial, T* grad_q, T* grad_k, T* grad_v, T* grad_initial) {
  const int64_t dv = DV > 0 ? DV : far.value_dim, width = dv + 1, state_size = far.head_dim * width, d = far.head_dim;
  const T share = T(1) / T(maps.size());
  at::parallel_for(0, pairs, 1, [&](int64_t begin, int64_t end) {
    FeatureBlock<T> block(d);
    std::vector<T> read_buffer(width), s(state_size), dstate(state_size), u(far.length * width), grad_key(d);
    T read_fixed[DV + 1];
    T* read = DV > 0 ? read_fixed : read_buffer.data();
    for (int64_t pair = begin; pair < end; ++pair) {
      const Pair<T> p = pair_of(far, pair, q, k, v, padding, decay);
      const T* grad_pair = grad_out + pair * far.length * dv;
      T* grad_q_pair = grad_q + pair * far.length * d;
      T* grad_k_pair = grad_k + pair * far.length * d;
      T* grad_v_pair = grad_v + pair * far.length * dv;
      std::fill(grad_q_pair, grad_q_pair + far.length * d, T(0));
      std::fill(grad_k_pair, grad_k_pair + far.length * d, T(0));
      std::fill(grad_v_pair, grad_v_pair + far.length * dv, T(0));
      for (size_t m = 0; m < maps.size(); ++m) {
        const int64_t slot = pair * maps.size() + m;
        // forward again: u_t = [g_t / den_t | -(g_t . num_t) / den_t^2], and the gradients of q
        std::copy(initial + slot * state_size, initial + (slot + 1) * state_size, s.begin());
        for (int64_t first = 0; first < far.length; first += BLOCK) {
          const int64_t count = std::min(BLOCK, far.length - first);
          block.compute(far, maps[m], p.q, p.k, p.padded, first, count, true);
          for (int64_t i = 0; i < count; ++i) {
            const int64_t t = first + i;
            const T* a = block.a.data() + i * d;
            add_and_read<T, DV>(far, s.data(), p.g, block.k.data() + i * d, p.v + t * dv, a, read);
            const T den = read[dv] + block.eps_term[i];
            T* u_t = u.data() + t * width;
            T dot = 0;
            for (int64_t e = 0; e < dv; ++e) {
              const T g = share * grad_pair[t * dv + e];
              u_t[e] = g / den;
              dot += g * read[e];
            }
            u_t[dv] = -dot / (den * den);
            // d loss / d a_f = S_f . u (+ eps where the eps term grows with sum a)
            const T eps_slope = far.normalize && block.a_sum[i] > T(kFloor) ? T(far.eps) * u_t[dv] : T(0);
            T* grad_q_row = grad_q_pair + t * d;
            for (int64_t f = 0; f < d; ++f) {
              const T* row = s.data() + f * width;
              T grad_a = eps_slope;
#pragma omp simd reduction(+ : grad_a)
              for (int64_t e = 0; e < width; ++e) grad_a += row[e] * u_t[e];
              grad_q_row[f] += grad_a * block.a_slope[i * d + f];
            }
          }
        }
        // backward: D_t = a_t u_t^T + g D_{t+1}, D after the last position = the final state's gradient
        std::copy(grad_final + slot * state_size, grad_final + (slot + 1) * state_size, dstate.begin());
        for (int64_t first = (far.length - 1) / BLOCK * BLOCK; first >= 0; first -= BLOCK) {
          const int64_t count = std::min(BLOCK, far.length - first);
          block.compute(far, maps[m], p.q, p.k, p.padded, first, count, true);
          for (int64_t i = count - 1; i >= 0; --i) {
            const int64_t t = first + i;
            const T* a = block.a.data() + i * d;
            const T* key = block.k.data() + i * d;
            const T* u_t = u.data() + t * width;
            const T* value = p.v + t * dv;
            T* grad_v_row = grad_v_pair + t * dv;
            T key_dot = 0;  // sum_f (d loss / d key_f) key_f, for the rescaling's gradient
            for (int64_t f = 0; f < d; ++f) {
              T* row = dstate.data() + f * width;
              const T af = a[f], kf = key[f];
#pragma omp simd
              for (int64_t e = 0; e < width; ++e) row[e] += af * u_t[e];
              T gk = row[dv];  // (D w)_f
#pragma omp simd reduction(+ : gk)
              for (int64_t e = 0; e < dv; ++e) gk += row[e] * value[e];
              grad_key[f] = gk;
              key_dot += gk * kf;
#pragma omp simd
              for (int64_t e = 0; e < dv; ++e) grad_v_row[e] += row[e] * kf;  // (D^T key)_e
            }
            const T scale = block.k_scale[i];
            const bool floored = !far.normalize || scale <= T(kFloor);  // then the rescaling is a constant
            T* grad_k_row = grad_k_pair + t * d;
            for (int64_t f = 0; f < d; ++f)
              grad_k_row[f] += (grad_key[f] - (floored ? T(0) : key_dot)) / scale * block.k_slope[i * d + f];
            if (p.g != T(1))
              for (int64_t x = 0; x < state_size; ++x) dstate[x] *= p.g;
          }
        }
        std::copy(dstate.begin(), dstate.end(), grad_initial + slot * state_size);
      }
    }
  });
}

Far make_far(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& state, int64_t maps,
             bool normalize, double eps) {
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
                                    const c10::optional<at::Tensor>& padding, const c10::optional<at::Tensor>& decay,
                                    const at::Tensor& initial_state, const std::vector<int64_t>& maps, bool normalize,
                                    double eps) {
  const auto codes = map_codes(maps);
  const Far far = make_far(q, k, v, initial_state, codes.size(), normalize, eps);
  auto state = initial_state.clone();
  auto out = at::empty({q.size(0), q.size(1), far.length, far.value_dim}, v.options());
  const bool* padded = padding_pointer(padding, q.size(0), far.length);
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "far_forward", [&] {
    with_value_size(far.value_dim, [&]<int DV>() {
      forward_kernel<scalar_t, DV>(far, q.size(0) * q.size(1), codes, q.data_ptr<scalar_t>(), k.data_ptr<scalar_t>(),
                                   v.data_ptr<scalar_t>(), padded, decay_pointer<scalar_t>(decay, far.heads),
                                   state.data_ptr<scalar_t>(), out.data_ptr<scalar_t>());
    });
  });
  return {out, state};
}

std::vector<at::Tensor> far_backward(const at::Tensor& grad_out, const at::Tensor& grad_final_state,
                                     const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const c10::optional<at::Tensor>& padding, const c10::optional<at::Tensor>& decay,
                                     const at::Tensor& initial_state, const std::vector<int64_t>& maps, bool normalize,
                                     double eps) {
  const auto codes = map_codes(maps);
  const Far far = make_far(q, k, v, initial_state, codes.size(), normalize, eps);
  TORCH_CHECK(grad_out.is_contiguous() && grad_final_state.is_contiguous() &&
                  grad_final_state.sizes() == initial_state.sizes(),
              "the gradients must be contiguous, the final state's shaped as the state");
  auto grad_q = at::empty_like(q), grad_k = at::empty_like(k), grad_v = at::empty_like(v);
  auto grad_initial = at::empty_like(initial_state);
  const bool* padded = padding_pointer(padding, q.size(0), far.length);
  AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "far_backward", [&] {
    with_value_size(far.value_dim, [&]<int DV>() {
      backward_kernel<scalar_t, DV>(far, q.size(0) * q.size(1), codes, grad_out.data_ptr<scalar_t>(),
                                    grad_final_state.data_ptr<scalar_t>(), q.data_ptr<scalar_t>(),
                                    k.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), padded,
                                    decay_pointer<scalar_t>(decay, far.heads), initial_state.data_ptr<scalar_t>(),
                                    grad_q.data_ptr<scalar_t>(), grad_k.data_ptr<scalar_t>(),
                                    grad_v.data_ptr<scalar_t>(), grad_initial.data_ptr<scalar_t>());
    });
  });
  return {grad_q, grad_k, grad_v, grad_initial};
}

}  // namespace fmm_cpu
