// Helpers for the audio tests: external reference tools (sox, numpy) and fixtures written with libsndfile.
#pragma once
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "kernels/random.h"

namespace ms::test {

inline bool have_command(const std::string& cmd) {
  return std::system(("command -v " + cmd + " >/dev/null 2>&1").c_str()) == 0;
}

inline bool have_numpy() {
  return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

// Runs a shell command and returns its standard output (binary); *ok tells whether it exited with 0.
inline std::string run_capture(const std::string& cmd, bool* ok = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    if (ok) *ok = false;
    return out;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  if (ok) *ok = rc == 0;
  return out;
}

template <class T>
std::vector<T> bytes_as(const std::string& s) {
  std::vector<T> v(s.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), s.data(), v.size() * sizeof(T));
  return v;
}

// The file's samples as sox decodes them: signed integers of `bits` (16 or 32) bits, interleaved.
template <class T>
std::vector<T> sox_raw(const std::string& path, const std::string& effects = "") {
  bool ok = false;
  const std::string cmd = "sox -D '" + path + "' -t raw -e signed -b " + std::to_string(8 * sizeof(T)) + " - " + effects;
  std::string out = run_capture(cmd + " 2>/dev/null", &ok);
  EXPECT_TRUE(ok) << cmd;
  return bytes_as<T>(out);
}

// Writes interleaved samples in [-1, 1] with libsndfile in any format (e.g. SF_FORMAT_WAV | SF_FORMAT_PCM_24).
inline void write_sndfile(const std::string& path, int format, int channels, int rate, const std::vector<double>& x) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << path << ": " << sf_strerror(nullptr);
  if ((format & SF_FORMAT_SUBMASK) == SF_FORMAT_VORBIS) {
    double q = 0.9;  // vorbis quality
    sf_command(f, SFC_SET_VBR_ENCODING_QUALITY, &q, sizeof q);
  }
  const sf_count_t frames = static_cast<sf_count_t>(x.size()) / channels;
  EXPECT_EQ(sf_writef_double(f, x.data(), frames), frames);
  sf_close(f);
}

// A test signal: a logarithmic sine sweep plus white noise, peak below 0.9, `channels` interleaved
// channels that differ (noise is per channel).
inline std::vector<double> sweep_and_noise(int64_t frames, int channels, int rate, Rng& rng) {
  std::vector<double> x(static_cast<size_t>(frames * channels));
  const double f0 = 60, f1 = 0.45 * rate, T = static_cast<double>(frames) / rate;
  const double k = std::log(f1 / f0);
  for (int64_t i = 0; i < frames; ++i) {
    const double t = static_cast<double>(i) / rate;
    const double phase = 2 * M_PI * f0 * T / k * (std::exp(t / T * k) - 1);
    for (int c = 0; c < channels; ++c)
      x[static_cast<size_t>(i * channels + c)] = 0.5 * std::sin(phase + c) + 0.3 * rng.uniform(-1, 1);
  }
  return x;
}

// Signal-to-noise ratio in dB of `test` against `ref` over [from, to).
inline double snr_db(const std::vector<float>& test, const std::vector<double>& ref, size_t from, size_t to) {
  double s = 0, e = 0;
  for (size_t i = from; i < to; ++i) {
    s += ref[i] * ref[i];
    e += (test[i] - ref[i]) * (test[i] - ref[i]);
  }
  return 10 * std::log10(s / std::max(e, 1e-300));
}

}  // namespace ms::test
