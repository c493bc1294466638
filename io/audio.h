// Waveform files through libsndfile: read any format it knows (WAV, FLAC, OGG/Vorbis, AIFF, ...) in any
// sample format (8/16/24/32-bit integer, float, double, mu/A-law), mix every channel down to mono (the
// mean), bring the rate to the target with libsamplerate or refuse, and write 16-bit PCM WAV.
// Samples are floats with full scale [-1, 1): a 16-bit value s reads as s / 32768 exactly.
// Every failure is an ms::Error whose one-line message names the file and what to do.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/resample.h"

namespace ms {

struct AudioInfo {
  std::string path;
  std::string container;  // "WAV", "FLAC", "OGG", ... (libsndfile's major format name)
  std::string encoding;   // "PCM_16", "PCM_U8", "FLOAT", "VORBIS", ...
  int bits = 0;           // 8, 16, 24 or 32 for integer PCM (and 8 for mu/A-law); 0 for float and lossy codecs
  bool is_float = false;  // FLOAT or DOUBLE samples
  int channels = 0;
  int sample_rate = 0;
  int64_t frames = 0;     // as the header says
};

struct AudioReadOptions {
  int sample_rate = 16000;  // target rate; 0 keeps the file's own rate
  bool resample = true;     // false: a file at another rate is an error (config key data.resample)
  ResampleQuality quality = ResampleQuality::best;
  // 0 accepts any sample format. 16 (or 8, 24, 32) asks for integer PCM of exactly that width, so that the
  // decoded values are the stored ones bit for bit; anything else (e.g. an 8-bit file when 16 was asked
  // for) is the "bit depth mismatch" error.
  int require_bits = 0;
};

struct Audio {
  std::vector<float> samples;  // mono
  int sample_rate = 0;
  AudioInfo source;            // what the file held before mixing and resampling
  double seconds() const { return sample_rate ? static_cast<double>(samples.size()) / sample_rate : 0.0; }
};

// Header only; errors as read_audio.
AudioInfo probe_audio(const std::string& path);
Audio read_audio(const std::string& path, const AudioReadOptions& options = {});

// Round to nearest and clip to [-32768, 32767] (x * 32768).
std::vector<int16_t> to_pcm16(const float* x, int64_t n);
inline std::vector<int16_t> to_pcm16(const std::vector<float>& x) {
  return to_pcm16(x.data(), static_cast<int64_t>(x.size()));
}

// Mono 16-bit PCM WAV. Float input is converted with to_pcm16.
void write_wav16(const std::string& path, const int16_t* samples, int64_t n, int sample_rate);
void write_wav16(const std::string& path, const float* samples, int64_t n, int sample_rate);
inline void write_wav16(const std::string& path, const std::vector<float>& x, int sample_rate) {
  write_wav16(path, x.data(), static_cast<int64_t>(x.size()), sample_rate);
}
inline void write_wav16(const std::string& path, const std::vector<int16_t>& x, int sample_rate) {
  write_wav16(path, x.data(), static_cast<int64_t>(x.size()), sample_rate);
}

}  // namespace ms
