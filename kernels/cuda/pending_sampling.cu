// PLACEHOLDER until the real CUDA twin of kernels/sampling.h lands: DELETE THIS FILE when you implement
// kernels/cuda/sampling.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/sampling.h"

namespace ms::cuda {

void sample_tokens(const Tensor&, const SamplingParams&, uint64_t, uint64_t, const Tensor&) { MS_FAIL("sample_tokens: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
