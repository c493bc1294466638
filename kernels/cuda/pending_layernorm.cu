// PLACEHOLDER until the real CUDA twin of kernels/layernorm.h lands: DELETE THIS FILE when you implement
// kernels/cuda/layernorm.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/layernorm.h"

namespace ms::cuda {

void layernorm_forward(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("layernorm_forward: the CUDA twin is not implemented yet"); }
void layernorm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("layernorm_backward: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
