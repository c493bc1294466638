// PLACEHOLDER until the real CUDA twin of kernels/adamw.h lands: DELETE THIS FILE when you implement
// kernels/cuda/adamw.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/adamw.h"

namespace ms::cuda {

void adamw_update(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const AdamWStep&) { MS_FAIL("adamw_update: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
