// Audio decoding and encoding against sox (an independent decoder), and every bad-input error.
#include <filesystem>
#include <fstream>

#include "io/audio.h"
#include "tests/io/test_audio_util.h"
#include "tests/test_util.h"

namespace ms {
namespace {

#define SKIP_WITHOUT_SOX() \
  if (!test::have_command("sox")) GTEST_SKIP() << "sox is not installed (scripts/install-deps.sh installs it)"

using ms::test::error_of;

TEST(AudioIO, Decoded16BitWavEqualsSoxRawSampleForSample) {
  SKIP_WITHOUT_SOX();
  const std::string dir = test::temp_dir();
  Rng rng(test::test_seed());
  // One fixture made by sox itself, one by libsndfile with random content.
  const std::string synth = dir + "/synth.wav", noise = dir + "/noise.wav";
  ASSERT_EQ(std::system(("sox -D -n -r 16000 -b 16 -c 1 " + synth + " synth 0.7 sine 40-7900 vol 0.8").c_str()), 0);
  test::write_sndfile(noise, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 16000, test::sweep_and_noise(12345, 1, 16000, rng));
  for (const std::string& path : {synth, noise}) {
    const Audio a = read_audio(path);
    const std::vector<int16_t> ref = test::sox_raw<int16_t>(path);
    ASSERT_EQ(a.samples.size(), ref.size()) << path;
    ASSERT_GT(ref.size(), 10000u);
    EXPECT_EQ(a.sample_rate, 16000);
    EXPECT_EQ(a.source.bits, 16);
    EXPECT_EQ(a.source.encoding, "PCM_16");
    EXPECT_EQ(a.source.container, "WAV");
    int64_t mismatches = 0;
    for (size_t i = 0; i < ref.size(); ++i) mismatches += a.samples[i] * 32768.0f != static_cast<float>(ref[i]);
    EXPECT_EQ(mismatches, 0) << path;
    EXPECT_EQ(to_pcm16(a.samples), ref) << path;
  }
}

TEST(AudioIO, StereoIsMixedToTheMeanOfItsChannels) {
  SKIP_WITHOUT_SOX();
  const std::string path = test::temp_dir() + "/stereo.wav";
  Rng rng(test::test_seed());
  test::write_sndfile(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, 16000, test::sweep_and_noise(5000, 2, 16000, rng));
  const std::vector<int16_t> ref = test::sox_raw<int16_t>(path);  // interleaved L R
  const Audio a = read_audio(path);
  ASSERT_EQ(a.samples.size() * 2, ref.size());
  EXPECT_EQ(a.source.channels, 2);
  for (size_t i = 0; i < a.samples.size(); ++i)
    ASSERT_EQ(a.samples[i], (ref[2 * i] + ref[2 * i + 1]) / 65536.0f) << "frame " << i;
}

// 8/24/32-bit integer, float and FLAC files decode to what sox decodes (as 32-bit signed integers).
TEST(AudioIO, EverySampleFormatAgreesWithSox) {
  SKIP_WITHOUT_SOX();
  const std::string dir = test::temp_dir();
  Rng rng(test::test_seed());
  struct Case {
    const char* name;
    int format;
    int bits;
    double tol;  // in units of full scale
  } cases[] = {
      {"u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 8, 0},    {"s24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 24, 0},
      {"s32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 32, 1e-7}, {"f32.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0, 1e-7},
      {"s16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16, 0}, {"s24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 24, 0},
      {"s16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16, 0},
  };
  for (const Case& c : cases) {
    const std::string path = dir + "/" + c.name;
    test::write_sndfile(path, c.format, 1, 16000, test::sweep_and_noise(7000, 1, 16000, rng));
    const Audio a = read_audio(path);
    EXPECT_EQ(a.source.bits, c.bits) << c.name;
    const std::vector<int32_t> ref = test::sox_raw<int32_t>(path);
    ASSERT_EQ(a.samples.size(), ref.size()) << c.name;
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(a.samples[i]) - ref[i] / 2147483648.0));
    EXPECT_LE(worst, c.tol) << c.name;
  }
}

TEST(AudioIO, OggVorbisDecodesLikeSox) {
  SKIP_WITHOUT_SOX();
  const std::string path = test::temp_dir() + "/tone.ogg";
  std::vector<double> x(16000 * 2);
  for (size_t i = 0; i < x.size(); i += 2) x[i] = x[i + 1] = 0.5 * std::sin(2 * M_PI * 440 * (i / 2) / 16000.0);
  test::write_sndfile(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, 2, 16000, x);
  const Audio a = read_audio(path);
  EXPECT_EQ(a.source.container, "OGG");
  EXPECT_EQ(a.source.bits, 0);
  const std::vector<int32_t> ref = test::sox_raw<int32_t>(path, "remix -");
  ASSERT_EQ(a.samples.size(), ref.size());
  ASSERT_EQ(a.samples.size(), 16000u);
  // Same libvorbis decoder, but sox decodes Vorbis to 16-bit integers: allow one 16-bit step.
  double worst = 0, energy = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a.samples[i]) - ref[i] / 2147483648.0));
    energy += a.samples[i] * a.samples[i];
  }
  EXPECT_LE(worst, 1.0 / 32768);
  EXPECT_NEAR(std::sqrt(energy / 16000), 0.5 / std::sqrt(2.0), 0.02);  // the tone survived the codec
}

TEST(AudioIO, WrittenWavIs16BitPcmThatSoxReadsBack) {
  SKIP_WITHOUT_SOX();
  const std::string path = test::temp_dir() + "/out.wav";
  Rng rng(test::test_seed());
  std::vector<float> x(9001);
  for (auto& v : x) v = static_cast<float>(rng.uniform(-1.2, 1.2));  // some clip
  x[0] = 1.0f;
  x[1] = -1.0f;
  write_wav16(path, x, 16000);
  const AudioInfo info = probe_audio(path);
  EXPECT_EQ(info.container, "WAV");
  EXPECT_EQ(info.encoding, "PCM_16");
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.sample_rate, 16000);
  EXPECT_EQ(info.frames, 9001);
  const std::vector<int16_t> ref = test::sox_raw<int16_t>(path);
  const std::vector<int16_t> pcm = to_pcm16(x);
  EXPECT_EQ(ref, pcm);
  EXPECT_EQ(pcm[0], 32767);
  EXPECT_EQ(pcm[1], -32768);
  for (size_t i = 2; i < x.size(); ++i)
    ASSERT_LE(std::abs(pcm[i] - std::clamp(x[i] * 32768.0, -32768.0, 32767.0)), 0.5) << i;
  const std::string info_out = test::run_capture("soxi '" + path + "' 2>&1");
  EXPECT_NE(info_out.find("16-bit Signed Integer PCM"), std::string::npos) << info_out;
}

// ---- bad input: each error is one line naming the file and what to do ----

TEST(AudioIOErrors, UnsupportedFormat) {
  const std::string dir = test::temp_dir();
  const std::string path = dir + "/notes.wav";
  std::ofstream(path) << "these are not audio samples, just text pretending to be a .wav file\n";
  const std::string msg = error_of([&] { read_audio(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("unsupported format"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(AudioIOErrors, CorruptHeader) {
  const std::string dir = test::temp_dir();
  const std::string good = dir + "/good.wav";
  std::vector<float> x(1000, 0.25f);
  write_wav16(good, x, 16000);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(bytes.substr(12, 4), "fmt ");
  // (a) the header cut inside the fmt chunk; (b) a fmt chunk claiming 0 channels; (c) FLAC magic, garbage after.
  const std::string cut = dir + "/cut.wav", zero_ch = dir + "/zero_channels.wav", flac = dir + "/bad.flac";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, 30);
  std::string z = bytes;
  z[22] = 0;
  z[23] = 0;
  std::ofstream(zero_ch, std::ios::binary) << z;
  std::ofstream(flac, std::ios::binary) << "fLaC" << std::string(200, '\x7f');
  for (const std::string& path : {cut, zero_ch, flac}) {
    const std::string msg = error_of([&] { read_audio(path); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
  }
}

TEST(AudioIOErrors, ZeroLengthFileAndEmptyAudio) {
  const std::string dir = test::temp_dir();
  const std::string empty = dir + "/empty.wav";
  std::ofstream(empty).close();
  std::string msg = error_of([&] { read_audio(empty); });
  EXPECT_NE(msg.find(empty), std::string::npos) << msg;
  EXPECT_NE(msg.find("zero-length"), std::string::npos) << msg;
  // A well-formed header with no frames.
  const std::string noframes = dir + "/noframes.wav";
  write_wav16(noframes, std::vector<float>{}, 16000);
  msg = error_of([&] { read_audio(noframes); });
  EXPECT_NE(msg.find("no audio samples"), std::string::npos) << msg;
  msg = error_of([&] { read_audio(dir + "/missing.wav"); });
  EXPECT_NE(msg.find("no such audio file"), std::string::npos) << msg;
}

TEST(AudioIOErrors, WrongRateWithResamplingOff) {
  const std::string path = test::temp_dir() + "/voice22k.wav";
  write_wav16(path, std::vector<float>(2205, 0.1f), 22050);
  AudioReadOptions opt;
  opt.resample = false;
  const std::string msg = error_of([&] { read_audio(path, opt); });
  for (const char* part : {"22050 Hz", "16000 Hz", "resampling is turned off", "data.resample = true"})
    EXPECT_NE(msg.find(part), std::string::npos) << part << " not in: " << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  opt.resample = true;
  EXPECT_EQ(read_audio(path, opt).samples.size(), 1600u);  // the same file with resampling on
  opt.sample_rate = 0;                                       // or keeping the file's rate
  EXPECT_EQ(read_audio(path, opt).sample_rate, 22050);
}

TEST(AudioIOErrors, BitDepthMismatch) {
  const std::string dir = test::temp_dir();
  const std::string u8 = dir + "/eight.wav", s16 = dir + "/sixteen.wav";
  std::vector<double> x(800, 0.3);
  test::write_sndfile(u8, SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1, 16000, x);
  test::write_sndfile(s16, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 16000, x);
  AudioReadOptions opt;
  opt.require_bits = 16;
  const std::string msg = error_of([&] { read_audio(u8, opt); });
  for (const char* part : {"bit depth mismatch", "8-bit", "16-bit", "PCM_U8"})
    EXPECT_NE(msg.find(part), std::string::npos) << part << " not in: " << msg;
  EXPECT_EQ(read_audio(s16, opt).samples.size(), 800u);
  opt.require_bits = 0;  // any bit depth is accepted by default
  EXPECT_EQ(read_audio(u8, opt).samples.size(), 800u);
}

}  // namespace
}  // namespace ms
