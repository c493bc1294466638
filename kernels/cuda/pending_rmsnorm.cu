// PLACEHOLDER until the real CUDA twin of kernels/rmsnorm.h lands: DELETE THIS FILE when you implement
// kernels/cuda/rmsnorm.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/rmsnorm.h"

namespace ms::cuda {

void rmsnorm_forward(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("rmsnorm_forward: the CUDA twin is not implemented yet"); }
void rmsnorm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("rmsnorm_backward: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
