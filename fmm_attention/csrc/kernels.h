// FMM attention's compiled CPU kernels: what band.cpp and far.cpp define, and what they share (ATen
// only: torch/extension.h, with pybind, is compiled once, in module.cpp).
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace fmm_cpu {

// The (batch, keys) padding flags' data, nullptr without padding; checks their layout.
inline const bool* padding_pointer(const c10::optional<at::Tensor>& padding, int64_t batch, int64_t keys) {
  if (!padding.has_value()) return nullptr;
  TORCH_CHECK(padding->scalar_type() == at::kBool && padding->is_contiguous() && padding->dim() == 2 &&
                  padding->size(0) == batch && padding->size(1) == keys,
              "key_padding_mask must be a contiguous (batch, keys) bool tensor");
  return padding->data_ptr<bool>();
}

std::vector<at::Tensor> band_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const c10::optional<at::Tensor>& padding,
                                        const c10::optional<at::Tensor>& slopes, int64_t bandwidth, bool causal,
                                        double scale);
std::vector<at::Tensor> band_backward(const at::Tensor& grad_out, const at::Tensor& q, const at::Tensor& k,
                                         const at::Tensor& v, const at::Tensor& lse,
                                         const c10::optional<at::Tensor>& padding,
                                         const c10::optional<at::Tensor>& slopes, int64_t bandwidth, bool causal,
                                         double scale);
std::vector<at::Tensor> far_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       const c10::optional<at::Tensor>& padding,
                                       const c10::optional<at::Tensor>& decay, const at::Tensor& initial_state,
                                       const std::vector<int64_t>& maps, bool normalize, double eps);
std::vector<at::Tensor> far_backward(const at::Tensor& grad_out, const at::Tensor& grad_final_state,
                                        const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const c10::optional<at::Tensor>& padding,
                                        const c10::optional<at::Tensor>& decay, const at::Tensor& initial_state,
                                        const std::vector<int64_t>& maps, bool normalize, double eps);

}  // namespace fmm_cpu
