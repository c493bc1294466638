// PLACEHOLDER until the real CUDA twin of kernels/ssm_a.h lands: DELETE THIS FILE when you implement
// kernels/cuda/ssm_a.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/ssm_a.h"

namespace ms::cuda {

void ssm_a_forward(const Tensor&, const Tensor&, const Tensor&) {
  MS_FAIL("ssm_a_forward: the CUDA twin is not implemented yet");
}
void ssm_a_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  MS_FAIL("ssm_a_backward: the CUDA twin is not implemented yet");
}

}  // namespace ms::cuda
