// CPU embedding lookup and its weight gradient. The backward groups positions by token id (a stable
// counting sort), so each weight row is summed by one thread in position order: deterministic, no atomics.
#include <vector>

#include "kernels/cpu/cpu_common.h"
#include "kernels/embedding.h"

namespace ms::cpu {
namespace {

// Checks ids (i32, any shape, any strides) against [0, V) and returns them flattened in row-major order.
std::vector<int32_t> read_ids(const char* op, const Tensor& ids, int64_t V) {
  check_dtype(op, "ids", ids, DType::i32);
  const StridedIndex idx = StridedIndex::elems(ids);
  const int32_t* p = ids.numel() ? ids.data<int32_t>() : nullptr;
  std::vector<int32_t> out(static_cast<size_t>(ids.numel()));
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int32_t id = p[idx.offset(i)];
    MS_CHECK(id >= 0 && id < V, op, ": token id ", id, " at flat position ", i, " is outside the vocabulary [0, ",
             V, ")");
    out[i] = id;
  }
  return out;
}

Shape out_shape(const Tensor& ids, int64_t E) {
  Shape s = ids.shape();
  s.push_back(E);
  return s;
}

}  // namespace

void embedding_forward(const Tensor& weight, const Tensor& ids, const Tensor& out) {
  const char* op = "embedding_forward";
  check_defined(op, "weight", weight);
  check_defined(op, "ids", ids);
  check_cpu(op, {&weight, &ids, &out});
  MS_CHECK(weight.ndim() == 2, op, ": weight must be (V, E), got ", weight.describe());
  const int64_t V = weight.size(0), E = weight.size(1);
  check_shape(op, "out", out, out_shape(ids, E));
  check_inner_contiguous(op, "weight", weight);
  check_inner_contiguous(op, "out", out);
  const std::vector<int32_t> id = read_ids(op, ids, V);
  dispatch_float(op, "weight", weight, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtype(op, "out", out, weight.dtype());
    const int64_t n = static_cast<int64_t>(id.size());
    if (n == 0 || E == 0) return;
    const T* w = weight.data<T>();
    T* o = out.data<T>();
    const StridedIndex rows = StridedIndex::rows(out);
    const int64_t ws = weight.stride(0);
#pragma omp parallel for schedule(static) if (n * E > kParallelGrain)
    for (int64_t s = 0; s < n; ++s) std::copy(w + id[s] * ws, w + id[s] * ws + E, o + rows.offset(s));
  });
}

void embedding_backward(const Tensor& ids, const Tensor& dout, const Tensor& dweight) {
  const char* op = "embedding_backward";
  check_defined(op, "ids", ids);
  check_defined(op, "dout", dout);
  check_defined(op, "dweight", dweight);
  check_cpu(op, {&ids, &dout, &dweight});
  MS_CHECK(dweight.ndim() == 2, op, ": dweight must be (V, E), got ", dweight.describe());
  const int64_t V = dweight.size(0), E = dweight.size(1);
  check_shape(op, "dout", dout, out_shape(ids, E));
  check_inner_contiguous(op, "dout", dout);
  check_inner_contiguous(op, "dweight", dweight);
  const std::vector<int32_t> id = read_ids(op, ids, V);
  dispatch_float(op, "dweight", dweight, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtype(op, "dout", dout, dweight.dtype());
    const int64_t n = static_cast<int64_t>(id.size());
    if (n == 0 || E == 0) return;
    // Stable counting sort of positions by id: start[v] .. start[v+1] lists the positions of token v.
    std::vector<int64_t> start(static_cast<size_t>(V + 1), 0), order(static_cast<size_t>(n));
    for (int32_t v : id) ++start[v + 1];
    for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
    {
      std::vector<int64_t> fill(start.begin(), start.end() - 1);
      for (int64_t s = 0; s < n; ++s) order[fill[id[s]]++] = s;
    }
    const T* g = dout.data<T>();
    T* dw = dweight.data<T>();
    const StridedIndex rows = StridedIndex::rows(dout);
    const int64_t ws = dweight.stride(0);
#pragma omp parallel if (n * E > kParallelGrain)
    {
      std::vector<double> acc(static_cast<size_t>(E));
#pragma omp for schedule(dynamic, 16)
      for (int64_t v = 0; v < V; ++v) {
        if (start[v] == start[v + 1]) continue;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t k = start[v]; k < start[v + 1]; ++k) {
          const T* row = g + rows.offset(order[k]);
          for (int64_t e = 0; e < E; ++e) acc[e] += row[e];
        }
        T* dst = dw + v * ws;
        for (int64_t e = 0; e < E; ++e) dst[e] = static_cast<T>(dst[e] + acc[e]);
      }
    }
  });
}

}  // namespace ms::cpu
