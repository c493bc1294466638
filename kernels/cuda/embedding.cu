// CUDA twin of kernels/embedding.h.
// Forward: a group of threads per token copies one weight row (16-byte vectors when rows allow).
//   An id outside [0, V) cannot raise an error from the GPU without a host synchronization, so its output
//   row is filled with NaN instead: the loss turns NaN and the training loop's all_finite check stops.
// Backward: dweight[id, :] += dout[s, :] with float atomics (the order of additions into one row varies
//   run to run, so dweight is reproducible only to rounding; ids outside [0, V) are skipped).
//   dweight is f32 (parameter gradients are kept in full precision); dout is f32 or bf16.
#include "kernels/cuda/ops_common.cuh"
#include "kernels/embedding.h"

namespace ms::cuda {

namespace {

template <int VEC>
__global__ void embedding_forward_kernel(FPtr w, int64_t ldw, int64_t V, const int32_t* ids, Layout lids, FPtr out,
                                         Layout lout, int64_t rows, int64_t E, int tpr) {
  const int groups = blockDim.x / tpr, g = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(groups) + g; r < rows;
       r += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t id = ids[lids.offset(r)];
    const bool ok = id >= 0 && id < V;
    const int64_t wrow = ok ? id * ldw : 0, orow = lout.offset(r);
    for (int64_t c = static_cast<int64_t>(lane) * VEC; c < E; c += static_cast<int64_t>(tpr) * VEC) {
      float v[VEC];
      if (ok) {
        w.ldv<VEC>(wrow + c, v);
      } else {
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[j] = __int_as_float(0x7fc00000);  // NaN
      }
      out.stv<VEC>(orow + c, v);
    }
  }
}

template <int VEC>
__global__ void embedding_backward_kernel(const int32_t* ids, Layout lids, FPtr dout, Layout ldout, float* dw,
                                          int64_t lddw, int64_t V, int64_t rows, int64_t E, int tpr) {
  const int groups = blockDim.x / tpr, g = threadIdx.x / tpr, lane = threadIdx.x % tpr;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(groups) + g; r < rows;
       r += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t id = ids[lids.offset(r)];
    if (id < 0 || id >= V) continue;
    const int64_t drow = ldout.offset(r);
    float* wrow = dw + id * lddw;
    for (int64_t c = static_cast<int64_t>(lane) * VEC; c < E; c += static_cast<int64_t>(tpr) * VEC) {
      float v[VEC];
      dout.ldv<VEC>(drow + c, v);
#pragma unroll
      for (int j = 0; j < VEC; ++j) atomicAdd(wrow + c + j, v[j]);
    }
  }
}

// Checks shared by forward and backward: ids i32 (S...), rows (S..., E) with unit inner stride.
void check_rows(const char* op, const Tensor& ids, const Tensor& rows, const char* rows_name, int64_t E) {
  check_dtype(op, "ids", ids, DType::i32);
  check_defined(op, rows_name, rows);
  Shape expect = ids.shape();
  expect.push_back(E);
  check_shape(op, rows_name, rows, expect);
  check_inner_contiguous(op, rows_name, rows);
}

}  // namespace

void embedding_forward(const Tensor& weight, const Tensor& ids, const Tensor& out) {
  const char* op = "embedding_forward";
  check_defined(op, "weight", weight);
  MS_CHECK(weight.ndim() == 2, op, ": weight must be (V, E), got ", weight.describe());
  check_inner_contiguous(op, "weight", weight);
  const int64_t V = weight.size(0), E = weight.size(1);
  check_rows(op, ids, out, "out", E);
  check_dtype(op, "out", out, weight.dtype());
  check_cuda(op, {&weight, &ids, &out});
  const FPtr w = fptr(op, "weight", weight), o = fptr(op, "out", out);
  const int64_t rows = ids.numel();
  if (rows == 0 || E == 0) return;
  const RowPlan p = plan_rows_looping(rows, E, vec8_rows_ok(weight) && vec8_rows_ok(out));
  const int64_t ldw = V > 1 ? weight.stride(0) : E;
  MS_VEC_DISPATCH(p.vec, VEC,
                  embedding_forward_kernel<VEC><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(
                      w, ldw, V, ids.data<int32_t>(), elems_layout(ids), o, rows_layout(out), rows, E, p.tpr));
  MS_CUDA_CHECK_LAUNCH();
}

void embedding_backward(const Tensor& ids, const Tensor& dout, const Tensor& dweight) {
  const char* op = "embedding_backward";
  check_defined(op, "dweight", dweight);
  MS_CHECK(dweight.ndim() == 2, op, ": dweight must be (V, E), got ", dweight.describe());
  check_inner_contiguous(op, "dweight", dweight);
  const int64_t V = dweight.size(0), E = dweight.size(1);
  check_rows(op, ids, dout, "dout", E);
  check_cuda(op, {&ids, &dout, &dweight});
  float* dw = f32ptr(op, "dweight", dweight);
  const FPtr d = fptr(op, "dout", dout);
  const int64_t rows = ids.numel();
  if (rows == 0 || E == 0) return;
  const RowPlan p = plan_rows_looping(rows, E, vec8_rows_ok(dout));
  const int64_t lddw = V > 1 ? dweight.stride(0) : E;
  MS_VEC_DISPATCH(p.vec, VEC,
                  embedding_backward_kernel<VEC><<<static_cast<unsigned>(p.grid), p.block, 0, stream()>>>(
                      ids.data<int32_t>(), elems_layout(ids), d, rows_layout(dout), dw, lddw, V, rows, E, p.tpr));
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
