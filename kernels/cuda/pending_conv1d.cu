// PLACEHOLDER until the real CUDA twin of kernels/conv1d.h lands: DELETE THIS FILE when you implement
// kernels/cuda/conv1d.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/conv1d.h"

namespace ms::cuda {

void causal_conv1d_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool, const Tensor&) { MS_FAIL("causal_conv1d_forward: the CUDA twin is not implemented yet"); }
void causal_conv1d_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool, const Tensor&, const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("causal_conv1d_backward: the CUDA twin is not implemented yet"); }
void causal_conv1d_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool, const Tensor&) { MS_FAIL("causal_conv1d_step: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
