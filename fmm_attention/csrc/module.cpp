// The Python module fmm_attention._cpu (fmm_attention/compiled.py wraps it).
#include <torch/extension.h>

#include "kernels.h"

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "FMM attention's compiled CPU kernels (fmm_attention.compiled)";
  m.def("band_forward", &fmm_cpu::band_forward, "banded softmax attention: (out, lse)");
  m.def("band_backward", &fmm_cpu::band_backward, "its gradients: (grad_q, grad_k, grad_v)");
  m.def("far_forward", &fmm_cpu::far_forward, "causal far field from a state: (out, final state)");
  m.def("far_backward", &fmm_cpu::far_backward, "its gradients: (grad_q, grad_k, grad_v, grad_initial_state)");
}
