// CUDA elementwise ops and activations against the CPU twins (f64 reference on the GPU's input values):
// contiguous and strided views, lengths that are not multiples of the 8-element vectors or the block,
// f32 and bf16 storage, outputs poisoned with NaN.
#include <cmath>

#include "kernels/activation.h"
#include "kernels/elementwise.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

// A GPU tensor of logical shape `shape` holding `values` (CPU), either contiguous or as a strided view
// (the transpose of a contiguous tensor when 2-d or more, a step-2 slice when 1-d).
Tensor to_gpu_view(const Tensor& values, bool strided) {
  if (!strided) return gpu(values);
  if (values.ndim() >= 2) return gpu(values.transpose(0, 1).contiguous()).transpose(0, 1);
  Tensor wide = Tensor::empty({values.size(0), 2}, values.dtype(), Device::cuda);
  poison(wide);
  Tensor v = wide.select(1, 1);
  v.copy_(values);
  return v;
}
Tensor poisoned_view(const Shape& shape, DType dt, bool strided) {
  Tensor t = gpu_poisoned(shape, dt);
  return to_gpu_view(t.to(Device::cpu), strided);
}

const Shape kShapes[] = {{1}, {1000}, {4095}, {3, 1537}, {2, 5, 77}};

TEST(CudaActivation, SiluAndSoftplusMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (const Shape& s : kShapes)
      for (bool strided : {false, true}) {
        // Wide range: covers silu'(x) = 0 near -1.28 and the softplus threshold at 20.
        Tensor x = rand_uniform(s, rng, -30, 30, dt), dy = rand_normal(s, rng, 1.0, dt);
        Tensor xg = to_gpu_view(x, strided), dyg = to_gpu_view(dy, strided);
        const double tol = tol_for(dt);
        for (int which = 0; which < 2; ++which) {
          Tensor y = poisoned_view(s, dt, strided), dx = poisoned_view(s, dt, strided);
          Tensor y64 = Tensor::empty(s, DType::f64), dx64 = Tensor::empty(s, DType::f64);
          if (which == 0) {
            silu_forward(xg, y);
            silu_backward(xg, dyg, dx);
            cpu::silu_forward(host64(x), y64);
            cpu::silu_backward(host64(x), host64(dy), dx64);
          } else {
            softplus_forward(xg, y);
            softplus_backward(xg, dyg, dx);
            cpu::softplus_forward(host64(x), y64);
            cpu::softplus_backward(host64(x), host64(dy), dx64);
          }
          const char* name = which == 0 ? "silu" : "softplus";
          EXPECT_LT(max_rel_error(y, y64), tol) << name << " forward " << dtype_name(dt) << shape_str(s) << strided;
          EXPECT_LT(max_rel_error(dx, dx64), tol) << name << " backward " << dtype_name(dt) << shape_str(s) << strided;
        }
      }
}

TEST(CudaElementwise, AddAxpyScaleMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (const Shape& s : kShapes)
      for (bool strided : {false, true}) {
        Tensor a = rand_normal(s, rng, 1.0, dt), b = rand_normal(s, rng, 1.0, dt);
        Tensor ag = to_gpu_view(a, strided), bg = to_gpu_view(b, !strided);
        const double tol = tol_for(dt);
        // add: out = a + b (out strided the other way round from a)
        Tensor out = poisoned_view(s, dt, !strided), out64 = Tensor::empty(s, DType::f64);
        add(ag, bg, out);
        cpu::add(host64(a), host64(b), out64);
        EXPECT_LT(max_rel_error(out, out64), tol) << "add " << dtype_name(dt) << shape_str(s);
        // axpy: y += alpha x, in place on a strided y
        const double alpha = -0.37;
        Tensor y64 = host64(b);
        axpy(alpha, ag, bg);
        cpu::axpy(alpha, host64(a), y64);
        EXPECT_LT(max_rel_error(bg, y64), tol) << "axpy " << dtype_name(dt) << shape_str(s);
        // scale: x *= alpha in place
        Tensor x64 = host64(a);
        scale(ag, 1.0 / 3.0);
        cpu::scale(x64, 1.0 / 3.0);
        EXPECT_LT(max_rel_error(ag, x64), tol) << "scale " << dtype_name(dt) << shape_str(s);
      }
}

TEST(CudaElementwise, CastRoundsLikeCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (const Shape& s : kShapes)
    for (bool strided : {false, true}) {
      Tensor x = rand_normal(s, rng, 10.0, DType::f32);
      Tensor b = poisoned_view(s, DType::bf16, strided), b_cpu = Tensor::empty(s, DType::bf16);
      cast(to_gpu_view(x, !strided), b);
      cpu::cast(x, b_cpu);
      EXPECT_EQ(max_rel_error(b, b_cpu), 0.0) << "f32 -> bf16 " << shape_str(s);  // both round to nearest even
      Tensor f = poisoned_view(s, DType::f32, !strided), f_cpu = Tensor::empty(s, DType::f32);
      cast(b, f);
      cpu::cast(b_cpu, f_cpu);
      EXPECT_EQ(max_rel_error(f, f_cpu), 0.0) << "bf16 -> f32 " << shape_str(s);  // exact widening
    }
}

TEST(CudaElementwise, SumSquaresAndAllFinite) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (const Shape& s : {Shape{1}, Shape{1000}, Shape{3, 1537}, Shape{300, 4097}})
      for (bool strided : {false, true}) {
        Tensor x = rand_normal(s, rng, 2.0, dt);
        Tensor xg = to_gpu_view(x, strided);
        const double want = cpu::sum_squares(host64(x)), got = sum_squares(xg);
        EXPECT_NEAR(got, want, 1e-12 * want) << dtype_name(dt) << shape_str(s);  // both accumulate in double
        EXPECT_TRUE(all_finite(xg)) << dtype_name(dt) << shape_str(s);
        // One non-finite element anywhere makes it false (NaN and both infinities).
        for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL}) {
          Tensor y = x.clone();
          y.set_item(static_cast<int64_t>(rng.below(static_cast<uint64_t>(y.numel()))), bad);
          EXPECT_FALSE(all_finite(to_gpu_view(y, strided))) << bad << " " << dtype_name(dt) << shape_str(s);
        }
      }
  // A view that excludes the NaN element is finite (the op respects strides).
  Tensor base = rand_normal({64, 2}, rng);
  base.set_item(1, std::nan(""));  // element (0, 1)
  Tensor g = gpu(base);
  EXPECT_TRUE(all_finite(g.select(1, 0)));
  EXPECT_FALSE(all_finite(g.select(1, 1)));
  EXPECT_NEAR(sum_squares(g.select(1, 0)), cpu::sum_squares(host64(base.select(1, 0))), 1e-9);
}

}  // namespace
}  // namespace ms
