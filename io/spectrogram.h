// Log-magnitude spectrograms of generated audio, written as PNG images (low frequencies at the bottom,
// time left to right, an "inferno"-like colormap from black through red to pale yellow).
// STFT: periodic Hann window of n_fft samples, frames centred at t * hop (zero padding past both ends),
// radix-2 FFT; magnitude in dB, 20 log10 |X|; the image shows the top range_db below the loudest bin.
#pragma once
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

namespace ms {

struct SpectrogramOptions {
  int n_fft = 512;        // a power of two
  int hop = 128;
  double range_db = 80;   // dynamic range shown
  int max_width = 4096;   // longer audio: each column shows the maximum over several frames
};

// In-place radix-2 FFT (forward, no scaling); the size must be a power of two.
void fft_radix2(std::vector<std::complex<double>>& a);

struct Spectrogram {
  int64_t frames = 0;
  int bins = 0;           // n_fft / 2 + 1
  std::vector<float> db;  // (frames, bins), 20 log10(|X| + 1e-12)
};
Spectrogram stft_db(const float* x, int64_t n, int n_fft = 512, int hop = 128);

// The spectrogram image as RGB bytes (height = n_fft/2 + 1 rows, row 0 the highest frequency).
std::vector<uint8_t> spectrogram_rgb(const Spectrogram& s, const SpectrogramOptions& options, int* width, int* height);
void write_spectrogram_png(const std::string& path, const float* x, int64_t n, const SpectrogramOptions& options = {});
inline void write_spectrogram_png(const std::string& path, const std::vector<float>& x,
                                  const SpectrogramOptions& options = {}) {
  write_spectrogram_png(path, x.data(), static_cast<int64_t>(x.size()), options);
}

}  // namespace ms
