#include "io/audio.h"

#include <sndfile.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kernels/check.h"

namespace ms {
namespace {

struct SndCloser {
  SNDFILE* f = nullptr;
  ~SndCloser() {
    if (f) sf_close(f);
  }
};

// The first bytes of the file name its container: an unreadable file that starts like a WAV/FLAC/OGG is a
// corrupt one, anything else is a format we do not read.
std::string sniff_container(const std::string& path) {
  char head[12] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(head, sizeof head);
  const auto n = in.gcount();
  if (n >= 12 && (!std::memcmp(head, "RIFF", 4) || !std::memcmp(head, "RIFX", 4) || !std::memcmp(head, "RF64", 4)) &&
      !std::memcmp(head + 8, "WAVE", 4))
    return "WAV";
  if (n >= 4 && n < 12 && !std::memcmp(head, "RIFF", 4)) return "WAV";  // cut short inside the RIFF header
  if (n >= 4 && !std::memcmp(head, "fLaC", 4)) return "FLAC";
  if (n >= 4 && !std::memcmp(head, "OggS", 4)) return "OGG";
  if (n >= 12 && !std::memcmp(head, "FORM", 4) && (!std::memcmp(head + 8, "AIFF", 4) || !std::memcmp(head + 8, "AIFC", 4)))
    return "AIFF";
  return "";
}

std::string format_name(int format, bool major) {
  if (!major) {
    switch (format & SF_FORMAT_SUBMASK) {  // short names (libsndfile's are long descriptions)
      case SF_FORMAT_PCM_S8: return "PCM_S8";
      case SF_FORMAT_PCM_U8: return "PCM_U8";
      case SF_FORMAT_PCM_16: return "PCM_16";
      case SF_FORMAT_PCM_24: return "PCM_24";
      case SF_FORMAT_PCM_32: return "PCM_32";
      case SF_FORMAT_FLOAT: return "FLOAT";
      case SF_FORMAT_DOUBLE: return "DOUBLE";
      case SF_FORMAT_ULAW: return "ULAW";
      case SF_FORMAT_ALAW: return "ALAW";
      case SF_FORMAT_VORBIS: return "VORBIS";
      case SF_FORMAT_OPUS: return "OPUS";
      default: break;
    }
  }
  SF_FORMAT_INFO fi{};
  fi.format = major ? (format & SF_FORMAT_TYPEMASK) : (format & SF_FORMAT_SUBMASK);
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name) {
    std::string s = fi.name;
    if (major) s = s.substr(0, s.find(' '));  // "WAV (Microsoft)" -> "WAV"
    return s;
  }
  return "format " + std::to_string(format);
}

int pcm_bits(int format) {
  switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_ULAW:
    case SF_FORMAT_ALAW: return 8;
    case SF_FORMAT_PCM_16: return 16;
    case SF_FORMAT_PCM_24: return 24;
    case SF_FORMAT_PCM_32: return 32;
    default: return 0;
  }
}

// Opens for reading with every failure turned into a one-line reason.
SNDFILE* open_for_read(const std::string& path, SF_INFO& info) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) MS_FAIL(path, ": no such audio file");
  if (std::filesystem::is_directory(path, ec)) MS_FAIL(path, ": is a directory, not an audio file");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) MS_FAIL(path, ": cannot read (", ec.message(), ")");
  if (size == 0) MS_FAIL(path, ": zero-length file (0 bytes), not audio; re-create or remove it");
  std::memset(&info, 0, sizeof info);
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f) return f;
  const int code = sf_error(nullptr);
  const std::string why = sf_strerror(nullptr);
  const std::string container = sniff_container(path);
  if (!container.empty() || code == SF_ERR_MALFORMED_FILE)
    MS_FAIL(path, ": corrupt ", container.empty() ? "audio" : container, " header (libsndfile: ", why,
            "); re-encode the file, e.g. with sox");
  if (code == SF_ERR_UNSUPPORTED_ENCODING)
    MS_FAIL(path, ": unsupported audio encoding (libsndfile: ", why, "); convert it to 16-bit PCM WAV with sox");
  if (code == SF_ERR_SYSTEM) MS_FAIL(path, ": cannot open (", why, ")");
  MS_FAIL(path, ": unsupported format, not a WAV, FLAC or OGG audio file (libsndfile: ", why,
          "); convert it with sox to WAV or FLAC");
}

AudioInfo make_info(const std::string& path, const SF_INFO& sf) {
  AudioInfo info;
  info.path = path;
  info.container = format_name(sf.format, true);
  info.encoding = format_name(sf.format, false);
  info.bits = pcm_bits(sf.format);
  const int sub = sf.format & SF_FORMAT_SUBMASK;
  info.is_float = sub == SF_FORMAT_FLOAT || sub == SF_FORMAT_DOUBLE;
  info.channels = sf.channels;
  info.sample_rate = sf.samplerate;
  info.frames = sf.frames;
  return info;
}

}  // namespace

AudioInfo probe_audio(const std::string& path) {
  SF_INFO sf;
  SndCloser f{open_for_read(path, sf)};
  return make_info(path, sf);
}

Audio read_audio(const std::string& path, const AudioReadOptions& opt) {
  SF_INFO sf;
  SndCloser f{open_for_read(path, sf)};
  Audio audio;
  audio.source = make_info(path, sf);
  const AudioInfo& info = audio.source;
  if (info.channels < 1 || info.sample_rate < 1)
    MS_FAIL(path, ": corrupt ", info.container, " header (", info.channels, " channels at ", info.sample_rate, " Hz)");
  if (opt.require_bits != 0 && (info.bits != opt.require_bits || info.encoding == "ULAW" || info.encoding == "ALAW")) {
    MS_FAIL(path, ": bit depth mismatch: the file holds ",
            info.bits ? std::to_string(info.bits) + "-bit " : std::string(), info.encoding, " samples, but ",
            opt.require_bits, "-bit integer PCM was required (convert with `sox IN -b ", opt.require_bits,
            " OUT.wav`, or accept any sample format)");
  }
  const int target = opt.sample_rate > 0 ? opt.sample_rate : info.sample_rate;
  if (target != info.sample_rate && !opt.resample)
    MS_FAIL(path, ": sample rate is ", info.sample_rate, " Hz, expected ", target,
            " Hz, and resampling is turned off; turn it on (data.resample = true) or convert the file with `sox IN -r ",
            target, " OUT.wav`");

  // Read in blocks as double (exact for every integer width) and average the channels.
  const int ch = info.channels;
  std::vector<double> block(static_cast<size_t>(ch) * 65536);
  std::vector<float> mono;
  if (info.frames > 0 && info.frames < (int64_t{1} << 34)) mono.reserve(static_cast<size_t>(info.frames));
  for (;;) {
    const sf_count_t got = sf_readf_double(f.f, block.data(), 65536);
    if (got <= 0) break;
    for (sf_count_t i = 0; i < got; ++i) {
      double s = 0;
      for (int c = 0; c < ch; ++c) s += block[static_cast<size_t>(i) * ch + c];
      mono.push_back(static_cast<float>(ch == 1 ? s : s / ch));
    }
  }
  if (sf_error(f.f) != SF_ERR_NO_ERROR)
    MS_FAIL(path, ": read error after ", mono.size(), " frames (libsndfile: ", sf_strerror(f.f), ")");
  if (mono.empty())
    MS_FAIL(path, ": holds no audio samples (", info.container, " header with 0 frames)");

  if (target != info.sample_rate) {
    audio.samples = resample(mono, info.sample_rate, target, opt.quality);
  } else {
    audio.samples = std::move(mono);
  }
  audio.sample_rate = target;
  return audio;
}

std::vector<int16_t> to_pcm16(const float* x, int64_t n) {
  std::vector<int16_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double v = std::nearbyint(static_cast<double>(x[i]) * 32768.0);
    if (!(v >= -32768.0)) v = -32768.0;  // NaN too
    if (v > 32767.0) v = 32767.0;
    out[static_cast<size_t>(i)] = static_cast<int16_t>(v);
  }
  return out;
}

void write_wav16(const std::string& path, const int16_t* samples, int64_t n, int sample_rate) {
  MS_CHECK(sample_rate > 0, "write_wav16: sample rate ", sample_rate);
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SndCloser f{sf_open(path.c_str(), SFM_WRITE, &info)};
  if (!f.f) MS_FAIL(path, ": cannot write WAV (", sf_strerror(nullptr), ")");
  const sf_count_t wrote = sf_writef_short(f.f, samples, n);
  if (wrote != n) MS_FAIL(path, ": short write, ", wrote, " of ", n, " samples (", sf_strerror(f.f), ")");
}

void write_wav16(const std::string& path, const float* samples, int64_t n, int sample_rate) {
  const std::vector<int16_t> pcm = to_pcm16(samples, n);
  write_wav16(path, pcm.data(), n, sample_rate);
}

}  // namespace ms
