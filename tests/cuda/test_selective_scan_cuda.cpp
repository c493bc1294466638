// CUDA selective scan against its CPU twin (kernels/cpu/selective_scan.cpp) on fresh random inputs.
//
// Metric: for every output and gradient we report two numbers and assert the first:
//   rel_l2  = ||cuda - cpu|| / ||cpu||  over the whole tensor (test_util.h rel_l2_error), and
//   max_rel = max_i |cuda_i - cpu_i| / (|cpu_i| + 1e-2 * rms(cpu))  (max_rel_error with floor 1e-2),
// an elementwise relative error in which elements far below the tensor's typical size are judged
// against 1% of that size; the bound on max_rel is 100x (f32) / 10x (bf16) the rel_l2 bound. Measured on an
// H100 (v5, every kernel combination): f32 rel_l2 <= 4.7e-6 and max_rel <= 1.7e-3; bf16 rel_l2 <= 2.5e-3,
// max_rel <= 3.9e-3.
// f32: rel_l2 < 1e-4 (the two sides add in different orders and the GPU uses ex2.approx).
// bf16: the CPU runs in f32 on the bf16-rounded inputs; rel_l2 < 1e-2 (outputs are rounded to bf16).
// Accumulated gradients (dA, dD, ddelta_bias) start from random values and the compared quantity is
// the increment, so a kernel that overwrote them would fail. Overwritten outputs start as NaN.
// Every case runs under each kernel combination of kImpls (v4, the sliced v5 kernels with an L split where
// the grid is small, lanes over time, 4 lanes per channel in the forward, and the default choice), against
// one CPU reference.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/memory.h"
#include "kernels/selective_scan.h"
#include "tests/test_util.h"

namespace ms {
namespace {

struct Case {
  int64_t batch, dim, len, state, groups;
  bool complex = false, z = true, D = true, bias = true, softplus = true, h0 = false, strided = false;
};

std::string describe(const Case& c, DType dt) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %s B=%lld D=%lld L=%lld N=%lld G=%lld z=%d D=%d bias=%d softplus=%d h0=%d strided=%d",
                dtype_name(dt), c.complex ? "complex" : "real", (long long)c.batch, (long long)c.dim,
                (long long)c.len, (long long)c.state, (long long)c.groups, c.z, c.D, c.bias, c.softplus, c.h0,
                c.strided);
  return buf;
}

// The inputs twice: `ref` (CPU, f32, holding the values the GPU sees) and `dev` (CUDA, dtype dt).
struct Inputs {
  SelectiveScanInputs ref, dev;
};

// An activation tensor: rounded through dt for the reference, stored as dt on the device. With
// `strided`, the device tensor is a slice of a wider buffer (as the model slices GEMM outputs).
void make_act(Tensor host, DType dt, bool strided, int slice_dim, Tensor& ref, Tensor& dev) {
  Tensor rounded = host.to(dt);
  ref = rounded.to(DType::f32);
  if (!strided) {
    dev = rounded.to(Device::cuda);
    return;
  }
  Shape wide = rounded.shape();
  const int64_t extra = 3;
  wide[slice_dim] += extra;
  Tensor big = Tensor::empty(wide, dt, Device::cuda);
  test::poison(big);
  dev = big.slice(slice_dim, 1, 1 + rounded.size(slice_dim));
  dev.copy_(rounded.to(Device::cuda));
}

Inputs make_inputs(const Case& c, DType dt, Rng& rng) {
  Inputs in;
  const Shape bdl{c.batch, c.dim, c.len};
  auto act = [&](Tensor host, int slice_dim, Tensor& ref, Tensor& dev) { make_act(host, dt, c.strided, slice_dim, ref, dev); };
  act(test::rand_normal(bdl, rng), 1, in.ref.u, in.dev.u);
  // Raw delta: softplus of [-3, 0] is 0.05 .. 0.7; without softplus keep it positive.
  act(c.softplus ? test::rand_uniform(bdl, rng, -3.0, 0.0) : test::rand_uniform(bdl, rng, 0.01, 0.5), 1, in.ref.delta,
      in.dev.delta);
  if (c.z) act(test::rand_normal(bdl, rng), 1, in.ref.z, in.dev.z);
  const Shape bc = c.complex ? Shape{c.batch, c.groups, c.state, 2, c.len} : Shape{c.batch, c.groups, c.state, c.len};
  act(test::rand_normal(bc, rng), 2, in.ref.B, in.dev.B);
  act(test::rand_normal(bc, rng), 2, in.ref.C, in.dev.C);
  if (c.complex) {
    Tensor A = Tensor::empty({c.dim, c.state, 2});
    for (int64_t i = 0; i < c.dim * c.state; ++i) {
      A.set_item(2 * i, -rng.uniform(0.2, 1.5));
      A.set_item(2 * i + 1, rng.uniform(-4, 4));
    }
    in.ref.A = A;
  } else {
    in.ref.A = test::rand_uniform({c.dim, c.state}, rng, -2.0, -0.1);
  }
  if (c.D) in.ref.D = test::rand_normal({c.dim}, rng);
  if (c.bias) in.ref.delta_bias = test::rand_uniform({c.dim}, rng, -1.0, 0.5);
  if (c.h0)
    in.ref.initial_state =
        test::rand_normal(c.complex ? Shape{c.batch, c.dim, c.state, 2} : Shape{c.batch, c.dim, c.state}, rng);
  for (auto [r, d] : {std::pair{&in.ref.A, &in.dev.A}, std::pair{&in.ref.D, &in.dev.D},
                      std::pair{&in.ref.delta_bias, &in.dev.delta_bias},
                      std::pair{&in.ref.initial_state, &in.dev.initial_state}})
    if (r->defined()) *d = r->to(Device::cuda);
  in.ref.delta_softplus = in.dev.delta_softplus = c.softplus;
  return in;
}

Shape state_shape(const Case& c) {
  return c.complex ? Shape{c.batch, c.dim, c.state, 2} : Shape{c.batch, c.dim, c.state};
}

struct Tol {
  double l2, elem;
};
Tol tol_for(DType dt) { return dt == DType::f32 ? Tol{1e-4, 1e-2} : Tol{1e-2, 1e-1}; }

void expect_close(const char* what, const Tensor& got, const Tensor& want, DType dt, const std::string& ctx) {
  const Tol tol = tol_for(dt);
  const double l2 = test::rel_l2_error(got, want);
  const double el = test::max_rel_error(got, want, 1e-2);
  std::printf("    %-12s rel_l2 %.2e  max_rel %.2e\n", what, l2, el);
  EXPECT_LT(l2, tol.l2) << what << " " << ctx;
  EXPECT_LT(el, tol.elem) << what << " " << ctx;
}

Tensor host(const Tensor& t) { return t.to(Device::cpu).to(DType::f32); }

// The kernel combinations every case runs (MAMBASEQ_SCAN_FWD / MAMBASEQ_SCAN_BWD, see
// kernels/cuda/selective_scan.cu): v4's kernels; the sliced forward (split over L where the grid is small)
// with the wide sliced backward; the lanes-over-time forward with the narrow sliced backward; the sliced
// forward with 4 lanes per channel (real N = 16, split or not); the sliced kernels forced to 3 L segments
// (":3", the knob the split benchmarks use; fewer where L has fewer chunks); the default.
struct Impl {
  const char *fwd, *bwd;
};
constexpr Impl kImpls[] = {{"v4", "v4"},          {"sliced", "wide"}, {"lanes", "narrow"},
                           {"sliced4", "wide"},   {"sliced:3", "wide:3"}, {"auto", "auto"}};

// Sets the implementation variables for the lifetime of the object, restoring "auto" afterwards.
struct ImplScope {
  explicit ImplScope(const Impl& i) {
    setenv("MAMBASEQ_SCAN_FWD", i.fwd, 1);
    setenv("MAMBASEQ_SCAN_BWD", i.bwd, 1);
  }
  ~ImplScope() {
    unsetenv("MAMBASEQ_SCAN_FWD");
    unsetenv("MAMBASEQ_SCAN_BWD");
  }
};

void run_case(const Case& c, DType dt) {
  const std::string ctx = describe(c, dt);
  std::printf("  %s\n", ctx.c_str());
  Rng rng(test::test_seed() ^ (uint64_t)(c.len * 131 + c.dim * 7 + c.state + (dt == DType::bf16 ? 1000003 : 0)));
  Inputs in = make_inputs(c, dt, rng);
  const Shape bdl{c.batch, c.dim, c.len};

  // The CPU reference, once.
  Tensor out_ref = Tensor::empty(bdl), last_ref = Tensor::empty(state_shape(c));
  SelectiveScanSaved saved_ref;
  cpu::selective_scan_forward(in.ref, out_ref, last_ref, &saved_ref);
  Tensor dout_host = test::rand_normal(bdl, rng);
  Tensor dout_ref, dout;
  make_act(dout_host, dt, c.strided, 1, dout_ref, dout);
  SelectiveScanGrads gr;
  auto ref_grad = [&](const Tensor& like, Tensor& r, bool accumulated) {
    if (like.defined()) r = accumulated ? test::rand_normal(like.shape(), rng) : Tensor::empty(like.shape());
  };
  ref_grad(in.ref.u, gr.du, false);
  ref_grad(in.ref.delta, gr.ddelta, false);
  ref_grad(in.ref.z, gr.dz, false);
  ref_grad(in.ref.B, gr.dB, false);
  ref_grad(in.ref.C, gr.dC, false);
  ref_grad(in.ref.A, gr.dA, true);
  ref_grad(in.ref.D, gr.dD, true);
  ref_grad(in.ref.delta_bias, gr.ddelta_bias, true);
  const Tensor dA0 = gr.dA.clone(), dD0 = gr.dD.defined() ? gr.dD.clone() : Tensor(),
               db0 = gr.ddelta_bias.defined() ? gr.ddelta_bias.clone() : Tensor();
  cpu::selective_scan_backward(in.ref, saved_ref, dout_ref, gr);
  // Accumulated: compare increments (result - initial value). Parameter gradients are f32 sums over
  // B*L terms whatever the input dtype, so they keep the f32 tolerance up to bf16 output rounding.
  auto increment = [](const Tensor& after, const Tensor& before) {
    Tensor a = host(after), r = Tensor::empty(a.shape());
    for (int64_t i = 0; i < a.numel(); ++i) r.set_item(i, a.item(i) - before.item(i));
    return r;
  };
  const Tensor dA_inc = increment(gr.dA, dA0);
  const Tensor dD_inc = c.D ? increment(gr.dD, dD0) : Tensor();
  const Tensor db_inc = c.bias ? increment(gr.ddelta_bias, db0) : Tensor();

  for (const Impl& impl : kImpls) {
    const ImplScope scope(impl);
    const std::string ictx = ctx + " fwd=" + impl.fwd + " bwd=" + impl.bwd;
    std::printf("   fwd=%s bwd=%s\n", impl.fwd, impl.bwd);
    // Forward.
    Tensor out = Tensor::empty(bdl, dt, Device::cuda), last = Tensor::empty(state_shape(c), DType::f32, Device::cuda);
    test::poison(out);
    test::poison(last);
    SelectiveScanSaved saved;
    selective_scan_forward(in.dev, out, last, &saved);
    expect_close("out", host(out), out_ref, dt, ictx);
    expect_close("last_state", host(last), last_ref, dt, ictx);

    // Backward: overwritten gradients start as NaN, accumulated ones from the reference's initial values.
    SelectiveScanGrads gd;
    auto dev_grad = [&](const Tensor& like_dev, const Tensor& init, Tensor& d, bool accumulated) {
      if (!like_dev.defined()) return;
      if (accumulated) {
        d = init.to(Device::cuda);
      } else {
        d = Tensor::empty(like_dev.shape(), like_dev.dtype(), Device::cuda);
        test::poison(d);
      }
    };
    dev_grad(in.dev.u, Tensor(), gd.du, false);
    dev_grad(in.dev.delta, Tensor(), gd.ddelta, false);
    dev_grad(in.dev.z, Tensor(), gd.dz, false);
    dev_grad(in.dev.B, Tensor(), gd.dB, false);
    dev_grad(in.dev.C, Tensor(), gd.dC, false);
    dev_grad(in.dev.A, dA0, gd.dA, true);
    dev_grad(in.dev.D, dD0, gd.dD, true);
    dev_grad(in.dev.delta_bias, db0, gd.ddelta_bias, true);
    selective_scan_backward(in.dev, saved, dout, gd);
    expect_close("du", host(gd.du), gr.du, dt, ictx);
    expect_close("ddelta", host(gd.ddelta), gr.ddelta, dt, ictx);
    if (c.z) expect_close("dz", host(gd.dz), gr.dz, dt, ictx);
    expect_close("dB", host(gd.dB), gr.dB, dt, ictx);
    expect_close("dC", host(gd.dC), gr.dC, dt, ictx);
    expect_close("dA", increment(gd.dA, dA0), dA_inc, dt, ictx);
    if (c.D) expect_close("dD", increment(gd.dD, dD0), dD_inc, dt, ictx);
    if (c.bias) expect_close("ddelta_bias", increment(gd.ddelta_bias, db0), db_inc, dt, ictx);

    // The saved states, read through the contract's (B, D, n_chunks, N) view of their chunk-major
    // storage, are the CPU's states at the CPU's (longer) chunk starts.
    const int64_t per_cpu_chunk = saved_ref.chunk_len / saved.chunk_len;
    ASSERT_EQ(saved_ref.chunk_len % saved.chunk_len, 0) << ictx;
    for (int64_t k = 0; k < saved_ref.chunk_states.size(2); ++k)
      expect_close("chunk_states", host(saved.chunk_states.select(2, k * per_cpu_chunk)),
                   saved_ref.chunk_states.select(2, k).contiguous(), dt, ictx + " chunk " + std::to_string(k));
    // The same states in another layout (made contiguous) give the same activation gradients.
    SelectiveScanSaved moved{saved.chunk_states.contiguous(), saved.chunk_len};
    SelectiveScanGrads g2 = gd;
    g2.du = Tensor::empty(gd.du.shape(), dt, Device::cuda);
    test::poison(g2.du);
    selective_scan_backward(in.dev, moved, dout, g2);
    expect_close("du (contiguous saved states)", host(g2.du), gr.du, dt, ictx);
  }
}

std::vector<Case> cases() {
  std::vector<Case> v;
  auto add = [&](Case c) { v.push_back(c); };
  // batch, dim, len, state, groups, complex, z, D, bias, softplus, h0, strided
  add({2, 70, 100, 16, 1, false, true, true, true, true, true, false});     // D not a multiple of 64, h0
  add({1, 130, 2049, 16, 2, false, false, true, false, true, false, true}); // G = 2 (65 per group), strided
  add({3, 64, 1, 16, 1, false, true, true, true, true, true, false});       // L = 1
  add({2, 8, 7, 4, 4, false, true, false, true, false, false, false});      // N = 4, 2 channels per group
  add({1, 96, 5000, 8, 3, false, true, true, true, true, true, false});     // N = 8, G = 3
  add({2, 65, 333, 16, 1, false, false, false, false, false, false, false}); // plain scan
  add({2, 70, 4098, 16, 1, false, true, true, true, true, true, false});   // rows 8-byte (f32) / 4-byte (bf16) aligned
  add({1, 64, 70000, 16, 1, false, true, true, true, true, true, false});   // long L, many segments
  // Grids of a fraction of a wave (on an H100): the split forward with 2 local segments per main one
  // (B=4, D=4096), the split backward with 2 local segments per main one (B=4, D=1024).
  add({4, 4096, 300, 16, 1, false, true, true, true, true, true, false});
  add({4, 1024, 1000, 16, 1, false, true, true, true, true, false, false});
  add({64, 1024, 64, 16, 1, false, true, true, true, true, false, false});  // many channels: one segment
  add({1, 5, 1000, 3, 1, false, true, true, true, true, true, false});      // N = 3 (padded to 4)
  add({2, 70, 100, 8, 1, true, true, true, true, true, true, false});       // complex, h0
  add({1, 64, 5000, 16, 2, true, true, true, true, true, false, false});    // complex, G = 2
  add({1, 32, 70000, 4, 1, true, false, true, false, true, false, false});  // complex, long L
  add({2, 33, 7, 16, 1, true, true, false, true, false, true, false});      // complex, tiny L
  return v;
}

class CudaScanTest : public ::testing::TestWithParam<DType> {};

TEST_P(CudaScanTest, ForwardAndBackwardMatchCpu) {
  MS_SKIP_WITHOUT_GPU();
  for (const Case& c : cases()) {
    run_case(c, GetParam());
    if (HasFailure()) break;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaScanTest, ::testing::Values(DType::f32, DType::bf16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Forward over L1 steps, then K recurrent steps from its last_state, equals the forward over L1 + K;
// and a forward continued from initial_state = last_state of the first part equals it too.
TEST(CudaScan, StepsAndContinuationMatchLongerForward) {
  MS_SKIP_WITHOUT_GPU();
  for (bool cplx : {false, true}) {
    Rng rng(test::test_seed() + cplx);
    const Case c{2, 70, 300, 16, 2, cplx, true, true, true, true, true, false};
    const int64_t L1 = 200, K = c.len - L1;
    Inputs in = make_inputs(c, DType::f32, rng);
    const SelectiveScanInputs& full = in.dev;
    Tensor out = Tensor::empty({c.batch, c.dim, c.len}, DType::f32, Device::cuda);
    Tensor last = Tensor::empty(state_shape(c), DType::f32, Device::cuda);
    selective_scan_forward(full, out, last, nullptr);

    auto part = [&](int64_t t0, int64_t t1) {
      SelectiveScanInputs p = full;
      const int bc_t = cplx ? 4 : 3;
      p.u = full.u.slice(2, t0, t1);
      p.delta = full.delta.slice(2, t0, t1);
      p.z = full.z.slice(2, t0, t1);
      p.B = full.B.slice(bc_t, t0, t1);
      p.C = full.C.slice(bc_t, t0, t1);
      return p;
    };
    SelectiveScanInputs first = part(0, L1);
    Tensor out1 = Tensor::empty({c.batch, c.dim, L1}, DType::f32, Device::cuda);
    Tensor state = Tensor::empty(state_shape(c), DType::f32, Device::cuda);
    test::poison(state);
    selective_scan_forward(first, out1, state, nullptr);

    // Continuation through the parallel scan.
    SelectiveScanInputs second = part(L1, c.len);
    second.initial_state = state.clone();
    Tensor out2 = Tensor::empty({c.batch, c.dim, K}, DType::f32, Device::cuda);
    Tensor last2 = Tensor::empty(state_shape(c), DType::f32, Device::cuda);
    selective_scan_forward(second, out2, last2, nullptr);
    const double e_cont = test::rel_l2_error(out2.contiguous(), out.slice(2, L1, c.len).contiguous());
    EXPECT_LT(e_cont, 1e-5) << "continuation, complex=" << cplx;
    EXPECT_LT(test::rel_l2_error(last2, last), 1e-5) << "continuation last_state, complex=" << cplx;

    // Continuation through single steps.
    double worst = 0;
    Tensor y = Tensor::empty({c.batch, c.dim}, DType::f32, Device::cuda);
    for (int64_t t = L1; t < c.len; ++t) {
      auto col = [&](const Tensor& x) { return x.select(x.ndim() - 1, t); };
      test::poison(y);
      selective_state_update(state, col(full.u), col(full.delta), full.A, col(full.B), col(full.C), full.D,
                             col(full.z), full.delta_bias, full.delta_softplus, y);
      worst = std::max(worst, test::rel_l2_error(y, out.select(2, t).contiguous()));
    }
    std::printf("  complex=%d continuation %.2e, steps worst %.2e, final state %.2e\n", cplx, e_cont, worst,
                test::rel_l2_error(state, last));
    EXPECT_LT(worst, 1e-5) << "steps, complex=" << cplx;
    EXPECT_LT(test::rel_l2_error(state, last), 1e-5) << "steps final state, complex=" << cplx;
  }
}

// The recurrent step against the CPU twin, f32 and bf16 activations.
TEST(CudaScan, StateUpdateMatchesCpu) {
  MS_SKIP_WITHOUT_GPU();
  for (DType dt : {DType::f32, DType::bf16}) {
    for (bool cplx : {false, true}) {
      Rng rng(test::test_seed() + cplx + (dt == DType::bf16 ? 2 : 0));
      const int64_t Bn = 3, D = 70, N = 16, G = 2;
      auto act = [&](const Shape& s, double lo, double hi, Tensor& r, Tensor& d) {
        Tensor x = test::rand_uniform(s, rng, lo, hi).to(dt);
        r = x.to(DType::f32);
        d = x.to(Device::cuda);
      };
      Tensor x_r, x_d, dt_r, dt_d, z_r, z_d, B_r, B_d, C_r, C_d;
      act({Bn, D}, -2, 2, x_r, x_d);
      act({Bn, D}, -3, 0, dt_r, dt_d);
      act({Bn, D}, -2, 2, z_r, z_d);
      const Shape bc = cplx ? Shape{Bn, G, N, 2} : Shape{Bn, G, N};
      act(bc, -1, 1, B_r, B_d);
      act(bc, -1, 1, C_r, C_d);
      Tensor A = cplx ? test::rand_uniform({D, N, 2}, rng, -1.5, -0.2) : test::rand_uniform({D, N}, rng, -2, -0.1);
      Tensor Dv = test::rand_normal({D}, rng), bias = test::rand_uniform({D}, rng, -1, 0.5);
      Tensor st = test::rand_normal(cplx ? Shape{Bn, D, N, 2} : Shape{Bn, D, N}, rng);
      Tensor st_d = st.to(Device::cuda), out_r = Tensor::empty({Bn, D}), out_d = Tensor::empty({Bn, D}, dt, Device::cuda);
      test::poison(out_d);
      cpu::selective_state_update(st, x_r, dt_r, A, B_r, C_r, Dv, z_r, bias, true, out_r);
      selective_state_update(st_d, x_d, dt_d, A.to(Device::cuda), B_d, C_d, Dv.to(Device::cuda), z_d,
                             bias.to(Device::cuda), true, out_d);
      const double tol = dt == DType::f32 ? 1e-5 : 1e-2;
      EXPECT_LT(test::rel_l2_error(host(out_d), out_r), tol) << dtype_name(dt) << " complex=" << cplx;
      EXPECT_LT(test::rel_l2_error(st_d, st), 1e-5) << dtype_name(dt) << " complex=" << cplx;
    }
  }
}

// Wrong saved states are refused with a clear message.
TEST(CudaScan, BackwardRefusesForeignSavedStates) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test::test_seed());
  const Case c{1, 8, 40, 4, 1, false, true, true, true, true, false, false};
  Inputs in = make_inputs(c, DType::f32, rng);
  SelectiveScanSaved saved;
  saved.chunk_len = 256;
  saved.chunk_states = Tensor::zeros({1, 8, 1, 4}, DType::f32, Device::cuda);
  SelectiveScanGrads g;
  const Shape bdl{1, 8, 40};
  Tensor dout = Tensor::zeros(bdl, DType::f32, Device::cuda);
  g.du = Tensor::empty(bdl, DType::f32, Device::cuda);
  g.ddelta = Tensor::empty(bdl, DType::f32, Device::cuda);
  g.dz = Tensor::empty(bdl, DType::f32, Device::cuda);
  g.dA = Tensor::zeros({8, 4}, DType::f32, Device::cuda);
  g.dB = Tensor::empty({1, 1, 4, 40}, DType::f32, Device::cuda);
  g.dC = Tensor::empty({1, 1, 4, 40}, DType::f32, Device::cuda);
  try {
    selective_scan_backward(in.dev, saved, dout, g);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("saved chunk states"), std::string::npos) << e.what();
  }
}

// A kernel choice the scan cannot honour names the variable and what is wrong.
TEST(CudaScan, BadKernelChoiceIsAnError) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test::test_seed());
  const Case c{1, 8, 40, 4, 1, false, true, true, true, true, false, false};
  Inputs in = make_inputs(c, DType::f32, rng);
  Tensor out = Tensor::empty({1, 8, 40}, DType::f32, Device::cuda);
  for (const char* bad : {"sliced:0", "sliced:x", "sliced:", "lanes:2", "split"}) {
    const Impl impl{bad, "auto"};
    const ImplScope scope(impl);
    try {
      selective_scan_forward(in.dev, out, Tensor(), nullptr);
      ADD_FAILURE() << "MAMBASEQ_SCAN_FWD=" << bad << " was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("MAMBASEQ_SCAN_FWD="), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace ms
