// CUDA twins of kernels/activation.h: strided maps (map.cuh), f32 or bf16 storage.
// The arithmetic is in double (exp/log1p in double are not touched by --use_fast_math): these standalone
// ops are memory-bound, so it costs nothing measurable, and silu'(x) = s (1 + x (1 - s)) cancels near
// x = -1.28, where single precision would lose the relative accuracy the CPU reference has.
// (The fused kernels that apply SiLU on the hot path, e.g. conv1d, compute in f32.)
#include <cmath>

#include "kernels/activation.h"
#include "kernels/cuda/map.cuh"

namespace ms::cuda {

namespace {

__device__ __forceinline__ double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

struct SiluF {
  __device__ float operator()(const float* v) const {
    const double x = v[0];
    return static_cast<float>(x * sigmoid_d(x));
  }
};
struct SiluGradF {  // inputs: x, dy
  __device__ float operator()(const float* v) const {
    const double x = v[0], s = sigmoid_d(x);
    return static_cast<float>(static_cast<double>(v[1]) * s * (1.0 + x * (1.0 - s)));
  }
};
// softplus(x) = log(1 + exp(x)), and x itself above 20 (PyTorch's threshold).
struct SoftplusF {
  __device__ float operator()(const float* v) const {
    const double x = v[0];
    return static_cast<float>(x > 20.0 ? x : log1p(exp(x)));
  }
};
struct SoftplusGradF {  // inputs: x, dy; the derivative of what the forward computes: 1 above 20
  __device__ float operator()(const float* v) const {
    const double x = v[0];
    return static_cast<float>(static_cast<double>(v[1]) * (x > 20.0 ? 1.0 : sigmoid_d(x)));
  }
};

}  // namespace

void silu_forward(const Tensor& x, const Tensor& y) {
  const Tensor* ins[1] = {&x};
  const char* names[1] = {"x"};
  launch_map<1>("silu_forward", ins, names, y, "y", SiluF{});
}

void silu_backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  const Tensor* ins[2] = {&x, &dy};
  const char* names[2] = {"x", "dy"};
  launch_map<2>("silu_backward", ins, names, dx, "dx", SiluGradF{});
}

void softplus_forward(const Tensor& x, const Tensor& y) {
  const Tensor* ins[1] = {&x};
  const char* names[1] = {"x"};
  launch_map<1>("softplus_forward", ins, names, y, "y", SoftplusF{});
}

void softplus_backward(const Tensor& x, const Tensor& dy, const Tensor& dx) {
  const Tensor* ins[2] = {&x, &dy};
  const char* names[2] = {"x", "dy"};
  launch_map<2>("softplus_backward", ins, names, dx, "dx", SoftplusGradF{});
}

}  // namespace ms::cuda
