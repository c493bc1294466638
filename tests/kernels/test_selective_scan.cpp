// CPU selective scan: forward against an independent O(L^2) closed form, backward against finite
// differences (f64), chunked continuation, the recurrent step, and accumulation semantics.
#include <cmath>
#include <complex>

#include "kernels/selective_scan.h"
#include "tests/test_util.h"

namespace ms {
namespace {

struct ScanCase {
  int64_t batch = 2, dim = 4, len = 37, state = 3, groups = 1;
  bool complex = false, use_z = true, use_D = true, use_bias = true, softplus = true, use_h0 = false;
};

struct ScanData {
  SelectiveScanInputs in;
  ScanCase c;
};

ScanData make_inputs(const ScanCase& c, Rng& rng, DType dt) {
  ScanData s;
  s.c = c;
  const Shape bdl{c.batch, c.dim, c.len};
  s.in.u = test::rand_normal(bdl, rng, 1.0, dt);
  // Raw delta around softplus^-1 of 0.05..0.5 so decays stay moderate; without softplus keep it positive.
  s.in.delta = c.softplus ? test::rand_uniform(bdl, rng, -3.0, 0.0, dt) : test::rand_uniform(bdl, rng, 0.01, 0.5, dt);
  if (c.complex) {
    Tensor A = Tensor::empty({c.dim, c.state, 2}, dt);
    for (int64_t d = 0; d < c.dim; ++d)
      for (int64_t n = 0; n < c.state; ++n) {
        A.set_item((d * c.state + n) * 2, -rng.uniform(0.2, 1.5));
        A.set_item((d * c.state + n) * 2 + 1, rng.uniform(-4, 4));
      }
    s.in.A = A;
    s.in.B = test::rand_normal({c.batch, c.groups, c.state, 2, c.len}, rng, 1.0, dt);
    s.in.C = test::rand_normal({c.batch, c.groups, c.state, 2, c.len}, rng, 1.0, dt);
  } else {
    s.in.A = test::rand_uniform({c.dim, c.state}, rng, -2.0, -0.1, dt);
    s.in.B = test::rand_normal({c.batch, c.groups, c.state, c.len}, rng, 1.0, dt);
    s.in.C = test::rand_normal({c.batch, c.groups, c.state, c.len}, rng, 1.0, dt);
  }
  if (c.use_D) s.in.D = test::rand_normal({c.dim}, rng, 1.0, dt);
  if (c.use_z) s.in.z = test::rand_normal(bdl, rng, 1.0, dt);
  if (c.use_bias) s.in.delta_bias = test::rand_uniform({c.dim}, rng, -1.0, 0.5, dt);
  s.in.delta_softplus = c.softplus;
  if (c.use_h0)
    s.in.initial_state = test::rand_normal(c.complex ? Shape{c.batch, c.dim, c.state, 2} : Shape{c.batch, c.dim, c.state},
                                           rng, 1.0, dt);
  return s;
}

Shape state_shape(const ScanCase& c) {
  return c.complex ? Shape{c.batch, c.dim, c.state, 2} : Shape{c.batch, c.dim, c.state};
}

// Closed form, independent of the recurrence: h_t = sum_{s<=t} exp(A (S_t - S_s)) dt_s B_s u_s
// + exp(A S_t) h0 with S_t the running sum of dt.
Tensor reference_forward(const SelectiveScanInputs& in, const ScanCase& c) {
  using cd = std::complex<double>;
  Tensor out = Tensor::empty({c.batch, c.dim, c.len}, DType::f64);
  const int64_t per = c.dim / c.groups;
  auto bc = [&](const Tensor& t, int64_t b, int64_t g, int64_t n, int64_t s) {
    if (!c.complex) return cd(t.item(((b * c.groups + g) * c.state + n) * c.len + s), 0);
    const int64_t base = (((b * c.groups + g) * c.state + n) * 2) * c.len;
    return cd(t.item(base + s), t.item(base + c.len + s));
  };
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t d = 0; d < c.dim; ++d) {
      const int64_t g = d / per;
      std::vector<double> dt(c.len), S(c.len);
      double run = 0;
      for (int64_t t = 0; t < c.len; ++t) {
        double x = in.delta.item((b * c.dim + d) * c.len + t) + (c.use_bias ? in.delta_bias.item(d) : 0.0);
        dt[t] = c.softplus ? std::log1p(std::exp(x)) : x;
        run += dt[t];
        S[t] = run;
      }
      for (int64_t t = 0; t < c.len; ++t) {
        const double ut = in.u.item((b * c.dim + d) * c.len + t);
        double y = c.use_D ? in.D.item(d) * ut : 0.0;
        for (int64_t n = 0; n < c.state; ++n) {
          cd a = c.complex ? cd(in.A.item((d * c.state + n) * 2), in.A.item((d * c.state + n) * 2 + 1))
                           : cd(in.A.item(d * c.state + n), 0);
          cd h = 0;
          for (int64_t s = 0; s <= t; ++s)
            h += std::exp(a * (S[t] - S[s])) * dt[s] * bc(in.B, b, g, n, s) * in.u.item((b * c.dim + d) * c.len + s);
          if (c.use_h0) {
            cd h0 = c.complex ? cd(in.initial_state.item(((b * c.dim + d) * c.state + n) * 2),
                                   in.initial_state.item(((b * c.dim + d) * c.state + n) * 2 + 1))
                              : cd(in.initial_state.item((b * c.dim + d) * c.state + n), 0);
            h += std::exp(a * S[t]) * h0;
          }
          y += (c.complex ? 2.0 : 1.0) * (bc(in.C, b, g, n, t) * h).real();
        }
        if (c.use_z) {
          const double z = in.z.item((b * c.dim + d) * c.len + t);
          y *= z / (1 + std::exp(-z));
        }
        out.set_item((b * c.dim + d) * c.len + t, y);
      }
    }
  return out;
}

class ScanForward : public ::testing::TestWithParam<ScanCase> {};

TEST_P(ScanForward, MatchesClosedFormInF32AndF64) {
  Rng rng(test::test_seed());
  const ScanCase c = GetParam();
  for (DType dt : {DType::f64, DType::f32}) {
    ScanData s = make_inputs(c, rng, dt);
    Tensor out = Tensor::empty({c.batch, c.dim, c.len}, dt);
    Tensor last = Tensor::empty(state_shape(c), dt);
    test::poison(out);
    test::poison(last);
    selective_scan_forward(s.in, out, last, nullptr);
    SelectiveScanInputs in64 = s.in;
    for (Tensor* t : {&in64.u, &in64.delta, &in64.A, &in64.B, &in64.C, &in64.D, &in64.z, &in64.delta_bias,
                      &in64.initial_state})
      if (t->defined()) *t = t->to(DType::f64);
    Tensor ref = reference_forward(in64, c);
    EXPECT_LT(test::max_rel_error(out, ref), dt == DType::f64 ? 1e-10 : 2e-4) << dtype_name(dt);
    EXPECT_FALSE(test::has_nan(last));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScanForward,
    ::testing::Values(ScanCase{}, ScanCase{.len = 1}, ScanCase{.batch = 1, .dim = 6, .len = 300, .groups = 3},
                      ScanCase{.complex = true}, ScanCase{.len = 290, .complex = true, .use_h0 = true},
                      ScanCase{.use_z = false, .use_D = false, .use_bias = false, .softplus = false},
                      ScanCase{.dim = 4, .groups = 2, .use_h0 = true}));

// Backward: every input's gradient against central finite differences of loss = <out, W>, in f64.
class ScanBackward : public ::testing::TestWithParam<ScanCase> {};

TEST_P(ScanBackward, GradientsMatchFiniteDifferences) {
  Rng rng(test::test_seed());
  const ScanCase c = GetParam();
  ScanData s = make_inputs(c, rng, DType::f64);
  const Shape bdl{c.batch, c.dim, c.len};
  Tensor W = test::rand_normal(bdl, rng);
  W = W.to(DType::f64);
  Tensor out = Tensor::empty(bdl, DType::f64);
  SelectiveScanSaved saved;
  selective_scan_forward(s.in, out, Tensor(), &saved);

  SelectiveScanGrads g;
  g.du = Tensor::empty(bdl, DType::f64);
  g.ddelta = Tensor::empty(bdl, DType::f64);
  g.dA = Tensor::zeros(s.in.A.shape(), DType::f64);
  g.dB = Tensor::empty(s.in.B.shape(), DType::f64);
  g.dC = Tensor::empty(s.in.C.shape(), DType::f64);
  if (c.use_z) g.dz = Tensor::empty(bdl, DType::f64);
  if (c.use_D) g.dD = Tensor::zeros({c.dim}, DType::f64);
  if (c.use_bias) g.ddelta_bias = Tensor::zeros({c.dim}, DType::f64);
  for (Tensor* t : {&g.du, &g.ddelta, &g.dB, &g.dC, &g.dz})
    if (t->defined()) test::poison(*t);
  selective_scan_backward(s.in, saved, W, g);

  auto loss = [&] {
    Tensor o = Tensor::empty(bdl, DType::f64);
    selective_scan_forward(s.in, o, Tensor(), nullptr);
    return test::dot(o, W);
  };
  struct Item { const char* name; Tensor x, grad; };
  std::vector<Item> items = {{"u", s.in.u, g.du}, {"delta", s.in.delta, g.ddelta}, {"A", s.in.A, g.dA},
                             {"B", s.in.B, g.dB}, {"C", s.in.C, g.dC}};
  if (c.use_z) items.push_back({"z", s.in.z, g.dz});
  if (c.use_D) items.push_back({"D", s.in.D, g.dD});
  if (c.use_bias) items.push_back({"delta_bias", s.in.delta_bias, g.ddelta_bias});
  for (auto& it : items) {
    EXPECT_FALSE(test::has_nan(it.grad)) << it.name;
    EXPECT_LT(test::grad_check(loss, it.x, it.grad, rng, 1e-5, 48), 2e-5) << it.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ScanBackward,
    ::testing::Values(ScanCase{}, ScanCase{.len = 1},
                      ScanCase{.batch = 1, .dim = 4, .len = 530, .state = 2, .groups = 2},  // crosses chunks
                      ScanCase{.complex = true}, ScanCase{.len = 280, .state = 2, .complex = true, .use_h0 = true},
                      ScanCase{.use_z = false, .use_D = false, .use_bias = false, .softplus = false}));

TEST(ScanCpu, ChunkedContinuationEqualsOneForward) {
  Rng rng(test::test_seed());
  for (bool cplx : {false, true}) {
    ScanCase c{.batch = 2, .dim = 3, .len = 600, .state = 4, .complex = cplx};
    ScanData s = make_inputs(c, rng, DType::f32);
    Tensor full = Tensor::empty({c.batch, c.dim, c.len}, DType::f32);
    Tensor last_full = Tensor::empty(state_shape(c), DType::f32);
    selective_scan_forward(s.in, full, last_full, nullptr);
    // Same sequence in two pieces, the second starting from the first's last state.
    const int64_t cut = 257;
    auto piece = [&](int64_t a, int64_t b) {
      SelectiveScanInputs p = s.in;
      p.u = s.in.u.slice(2, a, b);
      p.delta = s.in.delta.slice(2, a, b);
      p.z = s.in.z.slice(2, a, b);
      p.B = s.in.B.slice(-1, a, b);
      p.C = s.in.C.slice(-1, a, b);
      return p;
    };
    Tensor out = Tensor::empty({c.batch, c.dim, c.len}, DType::f32);
    Tensor mid = Tensor::empty(state_shape(c), DType::f32), last = Tensor::empty(state_shape(c), DType::f32);
    selective_scan_forward(piece(0, cut), out.slice(2, 0, cut), mid, nullptr);
    SelectiveScanInputs second = piece(cut, c.len);
    second.initial_state = mid;
    selective_scan_forward(second, out.slice(2, cut, c.len), last, nullptr);
    EXPECT_LT(test::max_rel_error(out, full), 1e-5);
    EXPECT_LT(test::max_rel_error(last, last_full), 1e-5);
  }
}

TEST(ScanCpu, StateUpdateStepsReproduceTheForward) {
  Rng rng(test::test_seed());
  for (bool cplx : {false, true}) {
    ScanCase c{.batch = 3, .dim = 4, .len = 50, .state = 5, .groups = 2, .complex = cplx};
    ScanData s = make_inputs(c, rng, DType::f32);
    Tensor full = Tensor::empty({c.batch, c.dim, c.len}, DType::f32);
    selective_scan_forward(s.in, full, Tensor(), nullptr);
    Tensor state = Tensor::zeros(state_shape(c), DType::f32);
    Tensor out = Tensor::empty({c.batch, c.dim, c.len}, DType::f32);
    for (int64_t t = 0; t < c.len; ++t) {
      Tensor y = Tensor::empty({c.batch, c.dim});
      test::poison(y);
      selective_state_update(state, s.in.u.select(2, t).contiguous(), s.in.delta.select(2, t).contiguous(), s.in.A,
                             s.in.B.select(-1, t).contiguous(), s.in.C.select(-1, t).contiguous(), s.in.D,
                             s.in.z.select(2, t).contiguous(), s.in.delta_bias, true, y);
      out.select(2, t).copy_(y);
    }
    EXPECT_LT(test::max_rel_error(out, full), 1e-5) << (cplx ? "complex" : "real");
  }
}

TEST(ScanCpu, ParameterGradientsAccumulate) {
  Rng rng(test::test_seed());
  ScanCase c;
  ScanData s = make_inputs(c, rng, DType::f64);
  const Shape bdl{c.batch, c.dim, c.len};
  Tensor out = Tensor::empty(bdl, DType::f64);
  SelectiveScanSaved saved;
  selective_scan_forward(s.in, out, Tensor(), &saved);
  Tensor dout = test::rand_normal(bdl, rng, 1.0, DType::f64);
  auto run = [&](double prefill) {
    SelectiveScanGrads g{Tensor::empty(bdl, DType::f64), Tensor::empty(bdl, DType::f64),
                         Tensor::full(s.in.A.shape(), prefill, DType::f64), Tensor::empty(s.in.B.shape(), DType::f64),
                         Tensor::empty(s.in.C.shape(), DType::f64), Tensor::full({c.dim}, prefill, DType::f64),
                         Tensor::empty(bdl, DType::f64), Tensor::full({c.dim}, prefill, DType::f64)};
    selective_scan_backward(s.in, saved, dout, g);
    return g;
  };
  SelectiveScanGrads g0 = run(0.0), g1 = run(1.5);
  for (auto [a, b] : {std::pair{g0.dA, g1.dA}, {g0.dD, g1.dD}, {g0.ddelta_bias, g1.ddelta_bias}})
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(b.item(i), a.item(i) + 1.5, 1e-12);
  EXPECT_EQ(test::rel_l2_error(g0.du, g1.du), 0.0);  // activation gradients are overwritten
}

TEST(ScanCpu, RejectsBadShapesAndDtypes) {
  Rng rng(test::test_seed());
  ScanCase c;
  ScanData s = make_inputs(c, rng, DType::f32);
  Tensor out = Tensor::empty({c.batch, c.dim, c.len});
  SelectiveScanInputs bad = s.in;
  bad.delta = Tensor::empty({c.batch, c.dim, c.len + 1});
  EXPECT_THROW(selective_scan_forward(bad, out, Tensor(), nullptr), Error);
  bad = s.in;
  bad.A = s.in.A.to(DType::f64);
  EXPECT_THROW(selective_scan_forward(bad, out, Tensor(), nullptr), Error);
  bad = s.in;
  bad.B = Tensor::empty({c.batch, 3, c.state, c.len});  // 3 groups do not divide D = 4
  bad.C = bad.B;
  EXPECT_THROW(selective_scan_forward(bad, out, Tensor(), nullptr), Error);
  EXPECT_THROW(selective_scan_forward(s.in, Tensor::empty({c.batch, c.dim, c.len}, DType::f64), Tensor(), nullptr),
               Error);
}

}  // namespace
}  // namespace ms
