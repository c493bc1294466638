// PLACEHOLDER until the real CUDA twin of kernels/cross_entropy.h lands: DELETE THIS FILE when you implement
// kernels/cuda/cross_entropy.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/cross_entropy.h"

namespace ms::cuda {

void cross_entropy_forward(const Tensor&, const Tensor&, int, const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("cross_entropy_forward: the CUDA twin is not implemented yet"); }
void cross_entropy_backward(const Tensor&, const Tensor&, int, const Tensor&, double, const Tensor&) { MS_FAIL("cross_entropy_backward: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
