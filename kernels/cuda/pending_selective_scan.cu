// PLACEHOLDER until the real CUDA twin of kernels/selective_scan.h lands: DELETE THIS FILE when you implement
// kernels/cuda/selective_scan.cu (otherwise the link fails with duplicate symbols). Each stub throws.
#include "kernels/selective_scan.h"

namespace ms::cuda {

void selective_scan_forward(const SelectiveScanInputs&, const Tensor&, const Tensor&, SelectiveScanSaved*) { MS_FAIL("selective_scan_forward: the CUDA twin is not implemented yet"); }
void selective_scan_backward(const SelectiveScanInputs&, const SelectiveScanSaved&, const Tensor&, const SelectiveScanGrads&) { MS_FAIL("selective_scan_backward: the CUDA twin is not implemented yet"); }
void selective_state_update(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool, const Tensor&) { MS_FAIL("selective_state_update: the CUDA twin is not implemented yet"); }

}  // namespace ms::cuda
