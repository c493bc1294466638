// CUDA twin of selective_state_update (kernels/selective_scan.h): one step of the scan for a whole batch,
// one thread per (b, d) looping over the N states. Latency-bound by nature (one token per launch); the
// state stays f32 whatever the activation dtype.
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/selective_scan.h"

namespace ms::cuda {
namespace {

struct StepParams {
  int batch, dim, nstate, per_group;
  bool softplus;
  float* state;
  int64_t st_b, st_d, st_n, st_c;
  const void *x, *dt, *z, *Bm, *Cm;
  void* out;
  int64_t x_b, x_d, dt_b, dt_d, z_b, z_d, o_b, o_d;
  int64_t B_b, B_g, B_n, B_c, C_b, C_g, C_n, C_c;
  const float *A, *Dskip, *bias;
  int64_t A_d, A_n, A_c, D_s, bias_s;
};

template <class T, bool CPLX>
__global__ void state_update_kernel(StepParams p) {
  const int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (i >= (int64_t)p.batch * p.dim) return;
  const int b = i / p.dim, d = i % p.dim, g = d / p.per_group;
  float dl = to_float(static_cast<const T*>(p.dt)[b * p.dt_b + d * p.dt_d]);
  if (p.bias) dl += p.bias[d * p.bias_s];
  if (p.softplus) dl = dl > 20.f ? dl : log1pf(expf(dl));
  const float xv = to_float(static_cast<const T*>(p.x)[b * p.x_b + d * p.x_d]);
  const float du = dl * xv;
  const T* Bp = static_cast<const T*>(p.Bm) + b * p.B_b + g * p.B_g;
  const T* Cp = static_cast<const T*>(p.Cm) + b * p.C_b + g * p.C_g;
  float* h = p.state + b * p.st_b + d * p.st_d;
  float y = 0.f;
  for (int n = 0; n < p.nstate; ++n) {
    const float* pa = p.A + d * p.A_d + n * p.A_n;
    if constexpr (CPLX) {
      const float e = expf(dl * pa[0]);
      float sn, cs;
      sincosf(dl * pa[p.A_c], &sn, &cs);
      const float ar = e * cs, ai = e * sn;
      const float hr = h[n * p.st_n], hi = h[n * p.st_n + p.st_c];
      const float br = to_float(Bp[n * p.B_n]), bi = to_float(Bp[n * p.B_n + p.B_c]);
      const float nr = ar * hr - ai * hi + du * br, ni = ar * hi + ai * hr + du * bi;
      h[n * p.st_n] = nr;
      h[n * p.st_n + p.st_c] = ni;
      y += 2.f * (to_float(Cp[n * p.C_n]) * nr - to_float(Cp[n * p.C_n + p.C_c]) * ni);
    } else {
      const float hn = expf(dl * pa[0]) * h[n * p.st_n] + du * to_float(Bp[n * p.B_n]);
      h[n * p.st_n] = hn;
      y += to_float(Cp[n * p.C_n]) * hn;
    }
  }
  if (p.Dskip) y += p.Dskip[d * p.D_s] * xv;
  if (p.z) {
    const float zv = to_float(static_cast<const T*>(p.z)[b * p.z_b + d * p.z_d]);
    y *= zv / (1.f + expf(-zv));
  }
  static_cast<T*>(p.out)[b * p.o_b + d * p.o_d] = from_float<T>(y);
}

}  // namespace

void selective_state_update(const Tensor& state, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B,
                            const Tensor& C, const Tensor& D, const Tensor& z, const Tensor& dt_bias, bool dt_softplus,
                            const Tensor& out) {
  const char* op = "selective_state_update";
  check_defined(op, "x", x);
  MS_CHECK(x.ndim() == 2, op, ": x must be (B, D), got ", x.describe());
  MS_CHECK(A.defined() && (A.ndim() == 2 || A.ndim() == 3), op, ": A must be (D, N) or (D, N, 2)");
  const bool cplx = A.ndim() == 3;
  const int64_t Bn = x.size(0), Dn = x.size(1), N = A.size(1);
  MS_CHECK(B.defined() && B.ndim() == (cplx ? 4 : 3), op, ": B must be ", cplx ? "(B, G, N, 2)" : "(B, G, N)");
  const int64_t G = B.size(1);
  MS_CHECK(G > 0 && Dn % G == 0, op, ": ", G, " groups do not divide D = ", Dn);
  const Shape bc = cplx ? Shape{Bn, G, N, 2} : Shape{Bn, G, N};
  check_shape(op, "A", A, cplx ? Shape{Dn, N, 2} : Shape{Dn, N});
  check_shape(op, "B", B, bc);
  check_shape(op, "C", C, bc);
  check_shape(op, "state", state, cplx ? Shape{Bn, Dn, N, 2} : Shape{Bn, Dn, N});
  check_shape(op, "dt", dt, {Bn, Dn});
  check_shape(op, "out", out, {Bn, Dn});
  if (z.defined()) check_shape(op, "z", z, {Bn, Dn});
  if (D.defined()) check_shape(op, "D", D, {Dn});
  if (dt_bias.defined()) check_shape(op, "dt_bias", dt_bias, {Dn});
  MS_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::bf16, op, ": x must be f32 or bf16 on CUDA, got ",
           x.describe());
  for (const Tensor* t : {&dt, &B, &C, &z, &out})
    if (t->defined()) check_dtype(op, "dt/B/C/z/out", *t, x.dtype());
  for (const Tensor* t : {&state, &A, &D, &dt_bias})
    if (t->defined()) check_dtype(op, "state/A/D/dt_bias", *t, DType::f32);
  check_same_device(op, {&state, &x, &dt, &A, &B, &C, &D, &z, &dt_bias, &out});
  MS_CHECK(x.is_cuda(), op, ": tensors must be on CUDA, got ", x.describe());
  if (Bn * Dn == 0) return;

  StepParams p{};
  p.batch = (int)Bn;
  p.dim = (int)Dn;
  p.nstate = (int)N;
  p.per_group = (int)(Dn / G);
  p.softplus = dt_softplus;
  p.state = state.data<float>();
  p.st_b = state.stride(0);
  p.st_d = state.stride(1);
  p.st_n = state.stride(2);
  p.st_c = cplx ? state.stride(3) : 0;
  p.x = x.raw();
  p.x_b = x.stride(0);
  p.x_d = x.stride(1);
  p.dt = dt.raw();
  p.dt_b = dt.stride(0);
  p.dt_d = dt.stride(1);
  if (z.defined()) {
    p.z = z.raw();
    p.z_b = z.stride(0);
    p.z_d = z.stride(1);
  }
  p.out = out.raw();
  p.o_b = out.stride(0);
  p.o_d = out.stride(1);
  p.Bm = B.raw();
  p.B_b = B.stride(0);
  p.B_g = B.stride(1);
  p.B_n = B.stride(2);
  p.B_c = cplx ? B.stride(3) : 0;
  p.Cm = C.raw();
  p.C_b = C.stride(0);
  p.C_g = C.stride(1);
  p.C_n = C.stride(2);
  p.C_c = cplx ? C.stride(3) : 0;
  p.A = A.data<float>();
  p.A_d = A.stride(0);
  p.A_n = A.stride(1);
  p.A_c = cplx ? A.stride(2) : 0;
  if (D.defined()) {
    p.Dskip = D.data<float>();
    p.D_s = D.stride(0);
  }
  if (dt_bias.defined()) {
    p.bias = dt_bias.data<float>();
    p.bias_s = dt_bias.stride(0);
  }
  const int64_t n = Bn * Dn;
  MS_CUDA_FLOAT_DISPATCH(x.dtype(), op, T, {
    if (cplx) state_update_kernel<T, true><<<blocks_for(n, 128), 128, 0, stream()>>>(p);
    else state_update_kernel<T, false><<<blocks_for(n, 128), 128, 0, stream()>>>(p);
  });
  MS_CUDA_CHECK_LAUNCH();
}

}  // namespace ms::cuda
