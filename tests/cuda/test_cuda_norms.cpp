// CUDA fused residual-add + RMSNorm and LayerNorm, forward and backward, against the CPU twins in f64:
// row widths from 1 to 8192 (vectorized and scalar paths, one warp to 512 threads per row), row counts that
// leave blocks partly empty, rows that are strided slices, f32 and bf16 activations, parameter gradients
// accumulating into non-zero buffers. Every output starts as NaN.
#include "kernels/layernorm.h"
#include "kernels/rmsnorm.h"
#include "tests/cuda/cuda_test_util.h"

namespace ms {
namespace {

using namespace ms::test;

const int64_t kWidths[] = {1, 7, 128, 1000, 1537, 4097, 8192};
const int64_t kRows[] = {1, 3, 67};

// A GPU (rows..., H) tensor holding `v` as a slice of a wider buffer (row stride H + 3) when strided.
Tensor gpu_rows(const Tensor& v, bool strided) {
  if (!strided) return gpu(v);
  Shape wide = v.shape();
  wide.back() += 3;
  Tensor buf = gpu_poisoned(wide, v.dtype());
  Tensor view = buf.slice(-1, 0, v.size(-1));
  view.copy_(v);  // host -> device strided copy
  return view;
}
Tensor poisoned_rows(const Shape& s, DType dt, bool strided) {
  Tensor t = gpu_poisoned(s, dt);
  return strided ? gpu_rows(t.to(Device::cpu), true) : t;
}

TEST(CudaRmsNorm, ForwardBackwardMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (int64_t H : kWidths)
      for (int64_t R : kRows)
        for (int variant = 0; variant < 3; ++variant) {  // 0: plain, 1: residual, 2: residual + strided 3-d rows
          const bool with_res = variant >= 1, strided = variant == 2;
          const Shape s = strided ? Shape{R, 2, H} : Shape{R, H};
          const int64_t rows = strided ? 2 * R : R;
          const double eps = 1e-5;
          Tensor x = rand_normal(s, rng, 1.0, dt), res = rand_normal(s, rng, 1.0, DType::f32);
          Tensor w = rand_uniform({H}, rng, 0.5, 1.5);
          // ---- forward
          Tensor xg = gpu_rows(x, strided), resg = with_res ? gpu_rows(res, strided) : Tensor();
          Tensor ro = with_res ? poisoned_rows(s, DType::f32, strided) : Tensor();
          Tensor out = poisoned_rows(s, dt, strided), rstd = gpu_poisoned({rows});
          rmsnorm_forward(xg, resg, gpu(w), eps, ro, out, rstd);
          Tensor ro64 = with_res ? Tensor::empty(s, DType::f64) : Tensor(), out64 = Tensor::empty(s, DType::f64);
          Tensor rstd64 = Tensor::empty({rows}, DType::f64);
          cpu::rmsnorm_forward(host64(x), with_res ? host64(res) : Tensor(), host64(w), eps, ro64, out64, rstd64);
          const std::string what = std::string(dtype_name(dt)) + " H " + std::to_string(H) + " R " +
                                   std::to_string(R) + " variant " + std::to_string(variant);
          if (with_res) {
            EXPECT_LT(max_rel_error(ro, ro64), kTolF32) << "residual_out " << what;
          }
          EXPECT_LT(max_rel_error(out, out64), tol_for(dt)) << "out " << what;
          EXPECT_LT(max_rel_error(rstd, rstd64), kTolF32) << "rstd " << what;
          // ---- backward, from the GPU's saved tensors (the CPU gets the same values in f64)
          Tensor h = with_res ? ro : xg;
          Tensor dout = rand_normal(s, rng, 1.0, dt), dres = rand_normal(s, rng, 1.0, DType::f32);
          Tensor dw0 = rand_normal({H}, rng);
          Tensor dx = poisoned_rows(s, with_res ? DType::f32 : dt, strided), dw = gpu(dw0);
          rmsnorm_backward(h, gpu(w), rstd, gpu_rows(dout, strided), with_res ? gpu_rows(dres, strided) : Tensor(),
                                 dx, dw);
          Tensor dx64 = Tensor::empty(s, DType::f64), dw64 = host64(dw0);
          cpu::rmsnorm_backward(host64(h), host64(w), host64(rstd), host64(dout), with_res ? host64(dres) : Tensor(),
                                dx64, dw64);
          // With H < 4 the norm's own gradient is a cancellation of order-one terms (1 - x^2 rstd^2), so its
          // f32 rounding is judged at the gradient's scale rather than element by element.
          const double dx_floor = H < 4 ? 1.0 : kFloorSum;
          EXPECT_LT(max_rel_error(dx, dx64, dx_floor), with_res ? kTolF32 : tol_for(dt)) << "dx " << what;
          EXPECT_LT(max_rel_error(dw, dw64, kFloorReduction), kTolF32) << "dweight " << what;
        }
}

TEST(CudaLayerNorm, ForwardBackwardMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test_seed());
  for (DType dt : {DType::f32, DType::bf16})
    for (int64_t H : kWidths)
      for (int64_t R : kRows)
        for (int variant = 0; variant < 3; ++variant) {  // 0: with bias, 1: no bias, 2: bias + strided 3-d rows
          const bool with_bias = variant != 1, strided = variant == 2;
          const Shape s = strided ? Shape{R, 2, H} : Shape{R, H};
          const int64_t rows = strided ? 2 * R : R;
          const double eps = 1e-5;
          Tensor x = rand_normal(s, rng, 2.0, dt);
          Tensor w = rand_uniform({H}, rng, 0.5, 1.5), b = rand_normal({H}, rng, 0.5);
          Tensor bg = with_bias ? gpu(b) : Tensor(), b64 = with_bias ? host64(b) : Tensor();
          Tensor xg = gpu_rows(x, strided);
          Tensor out = poisoned_rows(s, dt, strided), mean = gpu_poisoned({rows}), rstd = gpu_poisoned({rows});
          layernorm_forward(xg, gpu(w), bg, eps, out, mean, rstd);
          Tensor out64 = Tensor::empty(s, DType::f64), mean64 = Tensor::empty({rows}, DType::f64),
                 rstd64 = Tensor::empty({rows}, DType::f64);
          cpu::layernorm_forward(host64(x), host64(w), b64, eps, out64, mean64, rstd64);
          const std::string what = std::string(dtype_name(dt)) + " H " + std::to_string(H) + " R " +
                                   std::to_string(R) + " variant " + std::to_string(variant);
          EXPECT_LT(max_rel_error(out, out64, kFloorSum), tol_for(dt)) << "out " << what;
          EXPECT_LT(max_rel_error(mean, mean64, kFloorSum), kTolF32) << "mean " << what;
          EXPECT_LT(max_rel_error(rstd, rstd64), kTolF32) << "rstd " << what;

          Tensor dout = rand_normal(s, rng, 1.0, dt);
          Tensor dw0 = rand_normal({H}, rng), db0 = rand_normal({H}, rng);
          Tensor dx = poisoned_rows(s, dt, strided), dw = gpu(dw0), db = with_bias ? gpu(db0) : Tensor();
          layernorm_backward(xg, gpu(w), mean, rstd, gpu_rows(dout, strided), dx, dw, db);
          Tensor dx64 = Tensor::empty(s, DType::f64), dw64 = host64(dw0), db64 = with_bias ? host64(db0) : Tensor();
          cpu::layernorm_backward(host64(x), host64(w), host64(mean), host64(rstd), host64(dout), dx64, dw64, db64);
          EXPECT_LT(max_rel_error(dx, dx64, kFloorSum), tol_for(dt)) << "dx " << what;
          EXPECT_LT(max_rel_error(dw, dw64, kFloorReduction), kTolF32) << "dweight " << what;
          if (with_bias) {
            EXPECT_LT(max_rel_error(db, db64, kFloorReduction), kTolF32) << "dbias " << what;
          }
        }
}

}  // namespace
}  // namespace ms
