// PLACEHOLDER until the real CUDA twin of kernels/activation.h lands: DELETE THIS FILE when you implement
// kernels/cuda/activation.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/activation.h"

namespace ms::cuda {

void silu_forward(const Tensor&, const Tensor&) { MS_FAIL("silu_forward: the CUDA twin is not implemented yet"); }
void silu_backward(const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("silu_backward: the CUDA twin is not implemented yet"); }
void softplus_forward(const Tensor&, const Tensor&) { MS_FAIL("softplus_forward: the CUDA twin is not implemented yet"); }
void softplus_backward(const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("softplus_backward: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
