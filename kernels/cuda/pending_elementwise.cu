// PLACEHOLDER until the real CUDA twin of kernels/elementwise.h lands: DELETE THIS FILE when you implement
// kernels/cuda/elementwise.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/elementwise.h"

namespace ms::cuda {

void add(const Tensor&, const Tensor&, const Tensor&) { MS_FAIL("add: the CUDA twin is not implemented yet"); }
void axpy(double, const Tensor&, const Tensor&) { MS_FAIL("axpy: the CUDA twin is not implemented yet"); }
void scale(const Tensor&, double) { MS_FAIL("scale: the CUDA twin is not implemented yet"); }
void cast(const Tensor&, const Tensor&) { MS_FAIL("cast: the CUDA twin is not implemented yet"); }
double sum_squares(const Tensor&) { MS_FAIL("sum_squares: the CUDA twin is not implemented yet"); }
bool all_finite(const Tensor&) { MS_FAIL("all_finite: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
