#include "io/spectrogram.h"

#include <algorithm>
#include <cmath>

#include "io/spectrogram_png.h"
#include "kernels/check.h"

namespace ms {

void fft_radix2(std::vector<std::complex<double>>& a) {
  const size_t n = a.size();
  MS_CHECK(n >= 1 && (n & (n - 1)) == 0, "fft_radix2: size ", n, " is not a power of two");
  for (size_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  const double pi = 3.14159265358979323846;
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len / 2;
    for (size_t k = 0; k < half; ++k) {
      // Twiddles computed directly (not by repeated multiplication) to keep errors at rounding level.
      const std::complex<double> w = std::polar(1.0, -2.0 * pi * static_cast<double>(k) / static_cast<double>(len));
      for (size_t i = k; i < n; i += len) {
        const std::complex<double> u = a[i], v = a[i + half] * w;
        a[i] = u + v;
        a[i + half] = u - v;
      }
    }
  }
}

Spectrogram stft_db(const float* x, int64_t n, int n_fft, int hop) {
  MS_CHECK(n_fft >= 2 && (n_fft & (n_fft - 1)) == 0, "spectrogram: n_fft = ", n_fft, " must be a power of two");
  MS_CHECK(hop >= 1, "spectrogram: hop = ", hop);
  Spectrogram s;
  s.bins = n_fft / 2 + 1;
  s.frames = std::max<int64_t>(1, (n + hop - 1) / hop);
  s.db.resize(static_cast<size_t>(s.frames) * static_cast<size_t>(s.bins));
  const double pi = 3.14159265358979323846;
  std::vector<double> window(static_cast<size_t>(n_fft));
  for (int i = 0; i < n_fft; ++i) window[static_cast<size_t>(i)] = 0.5 - 0.5 * std::cos(2 * pi * i / n_fft);
  std::vector<std::complex<double>> buf(static_cast<size_t>(n_fft));
  for (int64_t t = 0; t < s.frames; ++t) {
    const int64_t start = t * hop - n_fft / 2;
    for (int i = 0; i < n_fft; ++i) {
      const int64_t k = start + i;
      const double v = (k >= 0 && k < n) ? static_cast<double>(x[k]) : 0.0;
      buf[static_cast<size_t>(i)] = {v * window[static_cast<size_t>(i)], 0.0};
    }
    fft_radix2(buf);
    for (int b = 0; b < s.bins; ++b)
      s.db[static_cast<size_t>(t * s.bins + b)] = static_cast<float>(20.0 * std::log10(std::abs(buf[static_cast<size_t>(b)]) + 1e-12));
  }
  return s;
}

namespace {

// Colour stops of a perceptually ordered black -> purple -> red -> orange -> pale yellow ramp.
void colormap(double t, uint8_t* rgb) {
  static const double stops[][4] = {
      {0.00, 0, 0, 4},       {0.15, 31, 12, 72},   {0.30, 85, 15, 109},  {0.45, 136, 34, 106},
      {0.60, 186, 54, 85},   {0.75, 227, 89, 51},  {0.88, 249, 140, 10}, {1.00, 252, 255, 164}};
  t = std::clamp(t, 0.0, 1.0);
  size_t i = 0;
  while (i + 2 < std::size(stops) && t > stops[i + 1][0]) ++i;
  const double* a = stops[i];
  const double* b = stops[i + 1];
  const double f = (t - a[0]) / (b[0] - a[0]);
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<uint8_t>(std::lround(a[c + 1] + f * (b[c + 1] - a[c + 1])));
}

}  // namespace

std::vector<uint8_t> spectrogram_rgb(const Spectrogram& s, const SpectrogramOptions& opt, int* width, int* height) {
  MS_CHECK(opt.range_db > 0 && opt.max_width >= 1, "spectrogram: range_db and max_width must be positive");
  const int64_t W = std::min<int64_t>(s.frames, opt.max_width);
  const int H = s.bins;
  float top = -1e30f;
  for (float v : s.db) top = std::max(top, v);
  std::vector<uint8_t> rgb(static_cast<size_t>(W) * static_cast<size_t>(H) * 3);
  for (int64_t c = 0; c < W; ++c) {
    const int64_t f0 = c * s.frames / W, f1 = std::max(f0 + 1, (c + 1) * s.frames / W);
    for (int b = 0; b < H; ++b) {
      float v = -1e30f;
      for (int64_t f = f0; f < f1; ++f) v = std::max(v, s.db[static_cast<size_t>(f * s.bins + b)]);
      const double t = (v - (top - opt.range_db)) / opt.range_db;
      const int row = H - 1 - b;  // low frequencies at the bottom
      colormap(t, &rgb[(static_cast<size_t>(row) * static_cast<size_t>(W) + static_cast<size_t>(c)) * 3]);
    }
  }
  *width = static_cast<int>(W);
  *height = H;
  return rgb;
}

void write_spectrogram_png(const std::string& path, const float* x, int64_t n, const SpectrogramOptions& opt) {
  const Spectrogram s = stft_db(x, n, opt.n_fft, opt.hop);
  int w = 0, h = 0;
  const std::vector<uint8_t> rgb = spectrogram_rgb(s, opt, &w, &h);
  write_png_rgb(path, w, h, rgb);
}

}  // namespace ms
