#include "kernels/gemm.h"

#include <atomic>

namespace ms {

static std::atomic<GemmPrecision> g_gemm_precision{GemmPrecision::fp32};
void set_gemm_precision(GemmPrecision p) { g_gemm_precision = p; }
GemmPrecision gemm_precision() { return g_gemm_precision; }

}  // namespace ms
