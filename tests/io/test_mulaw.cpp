// Quantization: mu-law against an independent numpy implementation, linear, round-trip bounds.
#include <fstream>

#include "io/mulaw.h"
#include "io/quantize.h"
#include "tests/io/test_audio_util.h"
#include "tests/test_util.h"

namespace ms {
namespace {

// numpy's version of torchaudio.functional.mu_law_encoding / mu_law_decoding (float64), written from the
// formulas, reading float64 samples and writing int64 tokens and float64 decodings.
const char* kNumpyMuLaw = R"(
import sys, numpy as np
d = sys.argv[1]
x = np.fromfile(d + "/x.f64", dtype=np.float64)
for bits in map(int, sys.argv[2:]):
    mu = 2.0 ** bits - 1
    x_mu = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    tok = ((x_mu + 1) / 2 * mu + 0.5).astype(np.int64)
    tok.tofile(d + "/tok%d.i64" % bits)
    t = np.arange(2 ** bits, dtype=np.float64)
    y = (t / mu) * 2 - 1
    dec = np.sign(y) * (np.exp(np.abs(y) * np.log1p(mu)) - 1) / mu
    dec.tofile(d + "/dec%d.f64" % bits)
)";

TEST(MuLaw, TokensEqualNumpyOnEvery16BitValueAndRandomFloats) {
  if (!test::have_numpy())
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not installed (scripts/install-deps.sh installs python3-numpy)";
  const std::string dir = test::temp_dir();
  Rng rng(test::test_seed());
  std::vector<double> x;
  for (int s = -32768; s < 32768; ++s) x.push_back(s / 32768.0);  // every 16-bit PCM sample
  for (int i = 0; i < 20000; ++i) x.push_back(static_cast<float>(rng.uniform(-1, 1)));  // float32 samples
  for (int i = 0; i < 2000; ++i) x.push_back(static_cast<float>(rng.uniform(-1e-3, 1e-3)));
  for (double v : {-1.0, 1.0, 0.0, 1e-9, -1e-9, 0.999999, -0.999999}) x.push_back(v);
  {
    std::ofstream out(dir + "/x.f64", std::ios::binary);
    out.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(double)));
  }
  std::ofstream(dir + "/mulaw.py") << kNumpyMuLaw;
  const std::string cmd = "/usr/bin/python3 " + dir + "/mulaw.py " + dir + " 8 10";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (int bits : {8, 10}) {
    std::ifstream tin(dir + "/tok" + std::to_string(bits) + ".i64", std::ios::binary);
    std::ifstream din(dir + "/dec" + std::to_string(bits) + ".f64", std::ios::binary);
    const auto tok = test::bytes_as<int64_t>(std::string(std::istreambuf_iterator<char>(tin), {}));
    const auto dec = test::bytes_as<double>(std::string(std::istreambuf_iterator<char>(din), {}));
    ASSERT_EQ(tok.size(), x.size());
    ASSERT_EQ(dec.size(), size_t{1} << bits);
    int64_t mismatches = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const int32_t ours = mulaw_encode(x[i], bits);
      if (ours != tok[i] && ++mismatches < 5) ADD_FAILURE() << "x = " << x[i] << ": ours " << ours << ", numpy " << tok[i];
    }
    EXPECT_EQ(mismatches, 0) << bits << " bits";
    for (size_t t = 0; t < dec.size(); ++t)
      ASSERT_NEAR(mulaw_decode(static_cast<int32_t>(t), bits), dec[t], 1e-14) << "token " << t;
  }
}

TEST(MuLaw, RangeMonotonicityAndFixedPoints) {
  EXPECT_EQ(mulaw_encode(-1.0), 0);
  EXPECT_EQ(mulaw_encode(1.0), 255);
  EXPECT_EQ(mulaw_encode(32767 / 32768.0), 255);
  EXPECT_EQ(mulaw_encode(0.0), 128);
  EXPECT_EQ(silence_token(Quantization::mulaw), 128);
  EXPECT_EQ(silence_token(Quantization::linear), 128);
  EXPECT_EQ(mulaw_encode(-7.0), 0);  // clipped
  EXPECT_EQ(mulaw_encode(3.0), 255);
  int32_t prev = -1;
  for (int s = -32768; s < 32768; ++s) {
    const int32_t t = mulaw_encode(s / 32768.0);
    ASSERT_GE(t, prev) << s;
    ASSERT_LE(t, 255);
    prev = t;
  }
  // Decoding is odd-symmetric about the middle: token t and 255 - t decode to opposite values.
  for (int t = 0; t < 256; ++t) ASSERT_NEAR(mulaw_decode(t), -mulaw_decode(255 - t), 1e-15);
}

// Mu-law: the companded value is rounded to the nearest of mu + 1 levels (error <= 1/mu in [-1, 1]
// companded units), so the sample error is at most 1/mu times the slope of the expansion,
// ln(1+mu)/mu * (1 + mu|x|), at the larger of the two magnitudes. Linear: half a bin, 2^-bits.
TEST(Quantize, RoundTripErrorBounds) {
  Rng rng(test::test_seed());
  for (int bits : {8, 12, 16}) {
    const double mu = (1 << bits) - 1;
    std::vector<float> x(50000);
    for (auto& v : x) v = static_cast<float>(rng.uniform(-1, 1) * std::pow(rng.uniform(), 3));  // many small values
    x[0] = -1.0f;
    x[1] = 0.99999f;
    const std::vector<float> m = dequantize(quantize(x, Quantization::mulaw, bits), Quantization::mulaw, bits);
    const std::vector<float> l = dequantize(quantize(x, Quantization::linear, bits), Quantization::linear, bits);
    double worst_mu = 0, worst_lin = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double big = std::max(std::abs(x[i]), std::abs(m[i]));
      const double bound = std::log1p(mu) / mu * (1 + mu * big) / mu;
      worst_mu = std::max(worst_mu, std::abs(m[i] - x[i]) / bound);
      worst_lin = std::max(worst_lin, std::abs(l[i] - x[i]) / std::ldexp(1.0, -bits));
    }
    EXPECT_LE(worst_mu, 1.0 + 1e-4) << bits << " bits";
    EXPECT_LE(worst_lin, 1.0 + 1e-4) << bits << " bits";
    EXPECT_GT(worst_mu, 0.3) << "bound far from tight: the test would not see a rounding bug";
  }
}

TEST(Quantize, LinearIsTheTopBitsOf16BitPcm) {
  const std::vector<int32_t> table = pcm16_token_table(Quantization::linear, 8);
  for (int s = -32768; s < 32768; ++s) ASSERT_EQ(table[s + 32768], (s + 32768) >> 8) << s;
  const std::vector<int32_t> mt = pcm16_token_table(Quantization::mulaw, 8);
  for (int s = -32768; s < 32768; s += 7) ASSERT_EQ(mt[s + 32768], mulaw_encode(s / 32768.0)) << s;
  EXPECT_NEAR(dequantize_token(0, Quantization::linear), -1 + 1.0 / 256, 1e-15);
  EXPECT_NEAR(dequantize_token(255, Quantization::linear), 1 - 1.0 / 256, 1e-15);
}

TEST(Quantize, ErrorsAndNames) {
  EXPECT_EQ(parse_quantization("mulaw"), Quantization::mulaw);
  EXPECT_EQ(parse_quantization("mu-law"), Quantization::mulaw);
  EXPECT_EQ(parse_quantization("linear"), Quantization::linear);
  EXPECT_THROW(parse_quantization("alaw"), Error);
  EXPECT_THROW(check_quantization_bits(17), Error);
  EXPECT_THROW(check_quantization_bits(1), Error);
  const std::vector<int32_t> bad = {0, 128, 256};
  try {
    dequantize(bad, Quantization::mulaw, 8);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 256 at position 2 is outside 0..255"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ms
