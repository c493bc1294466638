// Tiny audio fixtures for the audio pipeline tests: folders of short 16-bit WAV files (tones with random
// pitch, phase, level and a little noise), written with io/audio.h, and small configs that train in seconds.
#pragma once
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "io/audio.h"
#include "kernels/random.h"
#include "tests/test_util.h"

namespace ms::test {

// A tone at `hz` (with a random phase and level, a decaying envelope and light noise), `n` samples at `rate`.
inline std::vector<float> tone(double hz, int64_t n, int rate, Rng& rng) {
  const double phase = rng.uniform() * 6.283185307179586, level = 0.2 + 0.5 * rng.uniform();
  const double decay = 1.0 + 4.0 * rng.uniform();
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    const double s = static_cast<double>(t) / rate;
    x[static_cast<size_t>(t)] = static_cast<float>(level * std::exp(-decay * s) * std::sin(6.283185307179586 * hz * s + phase) +
                                                   0.01 * (2 * rng.uniform() - 1));
  }
  return x;
}

// `count` files of `n` samples under dir/<class>/ for every (class, pitch) pair, pitches jittered by +-3%.
inline void write_tone_classes(const std::string& dir, const std::vector<std::pair<std::string, double>>& classes,
                               int count, int64_t n, int rate, Rng& rng) {
  for (const auto& [name, hz] : classes) {
    std::filesystem::create_directories(dir + "/" + name);
    for (int i = 0; i < count; ++i) {
      const double f = hz * (0.97 + 0.06 * rng.uniform());
      write_wav16(dir + "/" + name + "/c" + std::to_string(i) + ".wav", tone(f, n, rate, rng), rate);
    }
  }
}

// A folder of `files` WAV files of `n` samples (a melody of tones) for pretraining tests.
inline void write_music(const std::string& dir, int files, int64_t n, int rate, Rng& rng) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < files; ++i) {
    std::vector<float> x;
    while (static_cast<int64_t>(x.size()) < n) {
      std::vector<float> note = tone(220.0 * std::pow(2.0, static_cast<double>(rng.next_u64() % 12) / 12.0), 200, rate, rng);
      x.insert(x.end(), note.begin(), note.end());
    }
    x.resize(static_cast<size_t>(n));
    write_wav16(dir + "/m" + std::to_string(i) + ".wav", x, rate);
  }
}

// --set overrides of a tiny audio pretraining run on folders train/ and valid/ under `root`.
inline std::vector<std::string> tiny_pretrain_sets(const std::string& root, const std::string& kind = "unet") {
  return {"name=tiny",
          "data.train=" + root + "/train",
          "data.valid=" + root + "/valid",
          "data.window=64",
          "data.eval_batch=2",
          "model.kind=" + kind,
          "model.d_model=8",
          "model.n_layer=1",
          "model.d_state=4",
          "model.pool=[2, 2]",
          "train.steps=6",
          "train.batch_size=2",
          "train.log_every=2",
          "train.ckpt_every=2",
          "train.device=cpu",
          "train.threads=2",
          "optim.warmup=2",
          "optim.lr=3e-3"};
}

}  // namespace ms::test
