// CPU elementwise helpers: add, axpy, scale, cast, sum_squares, all_finite. Any strides are accepted.
// Arithmetic is done in double and rounded once; sum_squares reduces fixed chunks in a fixed order.
#include <type_traits>
#include <vector>

#include "kernels/cpu/cpu_common.h"
#include "kernels/elementwise.h"

namespace ms::cpu {

void add(const Tensor& a, const Tensor& b, const Tensor& out) {
  const char* op = "add";
  check_defined(op, "a", a);
  check_cpu(op, {&a, &b, &out});
  check_shape(op, "b", b, a.shape());
  check_shape(op, "out", out, a.shape());
  dispatch_float(op, "a", a, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, a.dtype(), {{"b", &b}, {"out", &out}});
    if (a.numel() == 0) return;
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* po = out.data<T>();
    for_each_offset<3>({&a, &b, &out}, 1, [&](const std::array<int64_t, 3>& o) { po[o[2]] = pa[o[0]] + pb[o[1]]; });
  });
}

void axpy(double alpha, const Tensor& x, const Tensor& y) {
  const char* op = "axpy";
  check_defined(op, "y", y);
  check_cpu(op, {&x, &y});
  check_shape(op, "x", x, y.shape());
  dispatch_float(op, "y", y, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtype(op, "x", x, y.dtype());
    if (y.numel() == 0) return;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_offset<2>({&x, &y}, 1, [&](const std::array<int64_t, 2>& o) {
      py[o[1]] = static_cast<T>(py[o[1]] + alpha * static_cast<double>(px[o[0]]));
    });
  });
}

void scale(const Tensor& x, double alpha) {
  const char* op = "scale";
  check_defined(op, "x", x);
  check_cpu(op, {&x});
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (x.numel() == 0) return;
    T* px = x.data<T>();
    for_each_offset<1>({&x}, 1, [&](const std::array<int64_t, 1>& o) {
      px[o[0]] = static_cast<T>(alpha * static_cast<double>(px[o[0]]));
    });
  });
}

namespace {
template <class S>
double to_double(S v) {
  if constexpr (std::is_same_v<S, bf16>) return static_cast<float>(v);
  else return static_cast<double>(v);
}
template <class D>
D from_double(double v) {
  if constexpr (std::is_same_v<D, bf16>) return bf16(static_cast<float>(v));  // as Tensor::to(bf16)
  else return static_cast<D>(v);
}
template <class S, class D>
void cast_typed(const Tensor& src, const Tensor& dst) {
  const S* ps = src.data<S>();
  D* pd = dst.data<D>();
  for_each_offset<2>({&src, &dst}, 1,
                     [&](const std::array<int64_t, 2>& o) { pd[o[1]] = from_double<D>(to_double(ps[o[0]])); });
}
}  // namespace

void cast(const Tensor& src, const Tensor& dst) {
  const char* op = "cast";
  check_defined(op, "src", src);
  check_defined(op, "dst", dst);
  check_cpu(op, {&src, &dst});
  check_shape(op, "dst", dst, src.shape());
  const DType s = src.dtype(), d = dst.dtype();
  auto ok = [](DType t) { return t == DType::f32 || t == DType::f64 || t == DType::bf16; };
  MS_CHECK(ok(s) && ok(d), op, ": CPU cast converts between f32, f64 and bf16; got ", dtype_name(s), " -> ",
           dtype_name(d));
  if (src.numel() == 0) return;
  if (s == d) {
    dst.copy_(src);
    return;
  }
  if (s == DType::f32 && d == DType::f64) return cast_typed<float, double>(src, dst);
  if (s == DType::f64 && d == DType::f32) return cast_typed<double, float>(src, dst);
  if (s == DType::f32 && d == DType::bf16) return cast_typed<float, bf16>(src, dst);
  if (s == DType::f64 && d == DType::bf16) return cast_typed<double, bf16>(src, dst);
  if (s == DType::bf16 && d == DType::f32) return cast_typed<bf16, float>(src, dst);
  return cast_typed<bf16, double>(src, dst);
}

double sum_squares(const Tensor& x) {
  const char* op = "sum_squares";
  check_defined(op, "x", x);
  check_cpu(op, {&x});
  return dispatch_float(op, "x", x, [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    const int64_t n = x.numel();
    if (n == 0) return 0.0;
    const T* px = x.data<T>();
    const StridedIndex idx = StridedIndex::elems(x);
    const int64_t chunks = reduce_chunks(n);
    std::vector<double> part(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t c = 0; c < chunks; ++c) {
      double s = 0;
      for (int64_t i = chunk_begin(c, n, chunks); i < chunk_begin(c + 1, n, chunks); ++i) {
        const double v = px[idx.offset(i)];
        s += v * v;
      }
      part[c] = s;
    }
    double total = 0;
    for (double p : part) total += p;
    return total;
  });
}

bool all_finite(const Tensor& x) {
  const char* op = "all_finite";
  check_defined(op, "x", x);
  check_cpu(op, {&x});
  return dispatch_float(op, "x", x, [&](auto tag) -> bool {
    using T = typename decltype(tag)::type;
    const int64_t n = x.numel();
    if (n == 0) return true;
    const T* px = x.data<T>();
    const StridedIndex idx = StridedIndex::elems(x);
    bool finite = true;
#pragma omp parallel for schedule(static) reduction(&& : finite) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) finite = finite && std::isfinite(px[idx.offset(i)]);
    return finite;
  });
}

}  // namespace ms::cpu
