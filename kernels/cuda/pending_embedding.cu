// PLACEHOLDER until the real CUDA twin of kernels/embedding.h lands: DELETE THIS FILE when you implement
// kernels/cuda/embedding.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/embedding.h"

namespace ms::cuda {

void embedding_forward(const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("embedding_forward: the CUDA twin is not implemented yet"); }
void embedding_backward(const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("embedding_backward: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
