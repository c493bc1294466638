#include "tests/test_util.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "kernels/memory.h"

namespace ms::test {

uint64_t test_seed() {
  uint64_t base = 0x5eed;
  if (const char* env = std::getenv("MAMBASEQ_TEST_SEED")) base = std::strtoull(env, nullptr, 10);
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "none";
  uint64_t h = 1469598103934665603ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return mix64(h ^ base);
}

Tensor rand_uniform(const Shape& shape, Rng& rng, double lo, double hi, DType dt) {
  Tensor t = Tensor::empty(shape, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.uniform(lo, hi);
  return t.to(dt);
}

Tensor rand_normal(const Shape& shape, Rng& rng, double std, DType dt) {
  Tensor t = Tensor::empty(shape, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std * rng.normal();
  return t.to(dt);
}

Tensor rand_ints(const Shape& shape, Rng& rng, int64_t lo, int64_t hi) {
  Tensor t = Tensor::empty(shape, DType::i32);
  int32_t* p = t.data<int32_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<int32_t>(lo + static_cast<int64_t>(rng.below(hi - lo)));
  return t;
}

static Tensor host_f64(const Tensor& t) { return t.to(Device::cpu).to(DType::f64).contiguous(); }

double rel_l2_error(const Tensor& a, const Tensor& b) {
  MS_CHECK(a.shape() == b.shape(), "rel_l2_error: shapes ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  Tensor ha = host_f64(a), hb = host_f64(b);
  const double *pa = ha.data<double>(), *pb = hb.data<double>();
  double num = 0, den = 0;
  for (int64_t i = 0; i < ha.numel(); ++i) {
    num += (pa[i] - pb[i]) * (pa[i] - pb[i]);
    den += pb[i] * pb[i];
  }
  if (std::isnan(num)) return std::numeric_limits<double>::infinity();
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

double max_rel_error(const Tensor& a, const Tensor& b, double floor) {
  MS_CHECK(a.shape() == b.shape(), "max_rel_error: shapes ", shape_str(a.shape()), " vs ", shape_str(b.shape()));
  Tensor ha = host_f64(a), hb = host_f64(b);
  const double *pa = ha.data<double>(), *pb = hb.data<double>();
  const int64_t n = ha.numel();
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += pb[i] * pb[i];
  const double scale = floor * (n ? std::sqrt(ss / n) : 0.0) + 1e-30;
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(pa[i]) || !std::isfinite(pb[i])) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, std::abs(pa[i] - pb[i]) / (std::abs(pb[i]) + scale));
  }
  return worst;
}

bool has_nan(const Tensor& t) {
  Tensor h = host_f64(t);
  const double* p = h.data<double>();
  for (int64_t i = 0; i < h.numel(); ++i)
    if (std::isnan(p[i])) return true;
  return false;
}

void poison(const Tensor& t) {
  if (is_floating(t.dtype())) t.fill_(std::numeric_limits<double>::quiet_NaN());
  else t.fill_(-12345);
}

double dot(const Tensor& a, const Tensor& b) {
  Tensor ha = host_f64(a), hb = host_f64(b);
  MS_CHECK(ha.numel() == hb.numel(), "dot: sizes differ");
  const double *pa = ha.data<double>(), *pb = hb.data<double>();
  double s = 0;
  for (int64_t i = 0; i < ha.numel(); ++i) s += pa[i] * pb[i];
  return s;
}

double grad_check(const std::function<double()>& loss, const Tensor& x, const Tensor& analytic, Rng& rng,
                  double eps, int max_checks, double atol) {
  MS_CHECK(x.dtype() == DType::f64 && x.device() == Device::cpu && x.is_contiguous(),
           "grad_check needs a contiguous f64 CPU tensor, got ", x.describe());
  MS_CHECK(analytic.numel() == x.numel(), "grad_check: analytic gradient has ", analytic.numel(), " elements, x has ",
           x.numel());
  Tensor ana = host_f64(analytic);
  double* px = x.data<double>();
  const int64_t n = x.numel();
  // Elements much smaller than the gradient's typical size are judged against that size: their finite
  // differences are dominated by the loss's rounding noise.
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += ana.data<double>()[i] * ana.data<double>()[i];
  atol = std::max(atol, 1e-3 * std::sqrt(ss / std::max<int64_t>(n, 1)));
  const bool all = n <= max_checks;
  const int64_t count = all ? n : max_checks;
  double worst = 0;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t i = all ? k : static_cast<int64_t>(rng.below(n));
    const double orig = px[i];
    px[i] = orig + eps;
    const double lp = loss();
    px[i] = orig - eps;
    const double lm = loss();
    px[i] = orig;
    const double num = (lp - lm) / (2 * eps);
    const double a = ana.data<double>()[i];
    const double err = std::abs(num - a) / std::max({std::abs(num), std::abs(a), atol});
    if (!std::isfinite(err)) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, err);
  }
  return worst;
}

bool gpu_available() { return cuda_available(); }

std::string source_dir() {
#ifdef MAMBASEQ_SOURCE_DIR
  return MAMBASEQ_SOURCE_DIR;
#else
  return ".";
#endif
}

std::string temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "_" + info->name() : "test";
  auto dir = std::filesystem::temp_directory_path() / "mambaseq_tests" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace ms::test
