// CPU SiLU and softplus, forward and backward, evaluated in double and rounded once to the storage dtype.
#include "kernels/activation.h"
#include "kernels/cpu/cpu_common.h"

namespace ms::cpu {
namespace {

// softplus(x) = log(1 + exp(x)), returning x itself above this threshold (as torch.nn.functional.softplus);
// the backward uses the derivative of what the forward computes: 1 above the threshold.
constexpr double kSoftplusThreshold = 20.0;

inline double silu(double x) { return x * sigmoid(x); }
inline double silu_grad(double x) {
  const double s = sigmoid(x);
  return s * (1.0 + x * (1.0 - s));
}
inline double softplus(double x) { return x > kSoftplusThreshold ? x : std::log1p(std::exp(x)); }
inline double softplus_grad(double x) { return x > kSoftplusThreshold ? 1.0 : sigmoid(x); }

template <double (*F)(double)>
void unary(const char* op, const Tensor& x, const Tensor& y) {
  check_defined(op, "x", x);
  check_cpu(op, {&x, &y});
  check_shape(op, "y", y, x.shape());
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtype(op, "y", y, x.dtype());
    const T* px = x.numel() ? x.data<T>() : nullptr;
    T* py = y.numel() ? y.data<T>() : nullptr;
    for_each_offset<2>({&x, &y}, 8, [&](const std::array<int64_t, 2>& o) { py[o[1]] = static_cast<T>(F(px[o[0]])); });
  });
}

template <double (*Grad)(double)>
void unary_backward(const char* op, const Tensor& x, const Tensor& dy, const Tensor& dx) {
  check_defined(op, "x", x);
  check_cpu(op, {&x, &dy, &dx});
  check_shape(op, "dy", dy, x.shape());
  check_shape(op, "dx", dx, x.shape());
  dispatch_float(op, "x", x, [&](auto tag) {
    using T = typename decltype(tag)::type;
    check_dtypes(op, x.dtype(), {{"dy", &dy}, {"dx", &dx}});
    const T* px = x.numel() ? x.data<T>() : nullptr;
    const T* pg = dy.numel() ? dy.data<T>() : nullptr;
    T* pd = dx.numel() ? dx.data<T>() : nullptr;
    for_each_offset<3>({&x, &dy, &dx}, 8, [&](const std::array<int64_t, 3>& o) {
      pd[o[2]] = static_cast<T>(static_cast<double>(pg[o[1]]) * Grad(px[o[0]]));
    });
  });
}

}  // namespace

void silu_forward(const Tensor& x, const Tensor& y) { unary<silu>("silu_forward", x, y); }
void silu_backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  unary_backward<silu_grad>("silu_backward", x, dy, dx);
}
void softplus_forward(const Tensor& x, const Tensor& y) { unary<softplus>("softplus_forward", x, y); }
void softplus_backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  unary_backward<softplus_grad>("softplus_backward", x, dy, dx);
}

}  // namespace ms::cpu
