// Spectrogram PNGs: the FFT against a direct DFT, the STFT peak of a tone, and the PNG decoded back.
#include <zlib.h>

#include <fstream>

#include "io/spectrogram.h"
#include "io/spectrogram_png.h"
#include "tests/io/test_audio_util.h"
#include "tests/test_util.h"

namespace ms {
namespace {

TEST(AudioSpectrogram, FftMatchesDirectDft) {
  Rng rng(test::test_seed());
  for (size_t n : {1u, 2u, 8u, 64u, 512u}) {
    std::vector<std::complex<double>> a(n);
    for (auto& v : a) v = {rng.normal(), rng.normal()};
    std::vector<std::complex<double>> ref(n);
    for (size_t k = 0; k < n; ++k)
      for (size_t j = 0; j < n; ++j)
        ref[k] += a[j] * std::polar(1.0, -2 * M_PI * static_cast<double>((j * k) % n) / static_cast<double>(n));
    fft_radix2(a);
    double err = 0, norm = 0;
    for (size_t k = 0; k < n; ++k) err += std::norm(a[k] - ref[k]), norm += std::norm(ref[k]);
    EXPECT_LT(std::sqrt(err / norm), 1e-12) << n;
  }
  std::vector<std::complex<double>> bad(12);
  EXPECT_THROW(fft_radix2(bad), Error);
}

TEST(AudioSpectrogram, ToneLandsInItsBin) {
  Rng rng(test::test_seed());
  const double f = rng.uniform(500, 7000);
  std::vector<float> x(16000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * f * i / 16000));
  const Spectrogram s = stft_db(x.data(), static_cast<int64_t>(x.size()), 512, 128);
  EXPECT_EQ(s.bins, 257);
  EXPECT_EQ(s.frames, 125);
  const int64_t t = s.frames / 2;
  int best = 0;
  for (int b = 1; b < s.bins; ++b)
    if (s.db[static_cast<size_t>(t * s.bins + b)] > s.db[static_cast<size_t>(t * s.bins + best)]) best = b;
  EXPECT_NEAR(best, f / 16000 * 512, 0.51);
  // Hann window gain: a full-scale-0.5 sine peaks near 20 log10(0.5 * 512 / 4) = 36 dB (within scalloping loss).
  EXPECT_NEAR(s.db[static_cast<size_t>(t * s.bins + best)], 20 * std::log10(0.5 * 512 / 4), 1.5);
}

// Reads back our PNG: signature, chunk CRCs, IHDR, and the inflated scanlines (filter 0).
std::vector<uint8_t> decode_png(const std::string& path, int* w, int* h) {
  std::ifstream in(path, std::ios::binary);
  const std::string png(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto u32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  std::string idat;
  size_t at = 8;
  bool ended = false;
  while (at + 12 <= png.size()) {
    const uint32_t len = u32(at);
    const std::string type = png.substr(at + 4, 4);
    const uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(png.data() + at + 4), len + 4));
    EXPECT_EQ(crc, u32(at + 8 + len)) << type;
    if (type == "IHDR") {
      *w = static_cast<int>(u32(at + 8));
      *h = static_cast<int>(u32(at + 12));
      EXPECT_EQ(png[at + 16], 8);  // bit depth
      EXPECT_EQ(png[at + 17], 2);  // RGB
    } else if (type == "IDAT") {
      idat += png.substr(at + 8, len);
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + len;
  }
  EXPECT_TRUE(ended);
  std::vector<uint8_t> raw(static_cast<size_t>(*h) * (static_cast<size_t>(*w) * 3 + 1));
  uLongf rawlen = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &rawlen, reinterpret_cast<const Bytef*>(idat.data()), idat.size()), Z_OK);
  EXPECT_EQ(rawlen, raw.size());
  std::vector<uint8_t> rgb;
  for (int y = 0; y < *h; ++y) {
    const uint8_t* row = raw.data() + static_cast<size_t>(y) * (static_cast<size_t>(*w) * 3 + 1);
    EXPECT_EQ(row[0], 0);
    rgb.insert(rgb.end(), row + 1, row + 1 + static_cast<size_t>(*w) * 3);
  }
  return rgb;
}

TEST(AudioSpectrogram, PngHoldsTheImage) {
  Rng rng(test::test_seed());
  std::vector<float> x(20000);
  for (size_t i = 0; i < x.size(); ++i)  // a rising chirp plus a little noise
    x[i] = static_cast<float>(0.6 * std::sin(2 * M_PI * (200 + 0.18 * i) * i / 16000) + 0.01 * rng.uniform(-1, 1));
  const std::string path = test::temp_dir() + "/spec.png";
  SpectrogramOptions opt;
  write_spectrogram_png(path, x, opt);
  int w = 0, h = 0;
  const std::vector<uint8_t> rgb = decode_png(path, &w, &h);
  int ew = 0, eh = 0;
  const std::vector<uint8_t> expect = spectrogram_rgb(stft_db(x.data(), 20000, 512, 128), opt, &ew, &eh);
  EXPECT_EQ(w, 157);
  EXPECT_EQ(h, 257);
  EXPECT_EQ(ew, w);
  EXPECT_EQ(rgb, expect);
  // Longer audio is folded into max_width columns.
  opt.max_width = 50;
  write_spectrogram_png(path, x, opt);
  decode_png(path, &w, &h);
  EXPECT_EQ(w, 50);
  EXPECT_THROW(write_png_rgb(path, 2, 2, std::vector<uint8_t>(5)), Error);
}

}  // namespace
}  // namespace ms
