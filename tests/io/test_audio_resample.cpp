// Resampling with libsamplerate, checked against the exact band-limited signal and against sox's `rate`.
#include "io/audio.h"
#include "io/resample.h"
#include "tests/io/test_audio_util.h"
#include "tests/test_util.h"

namespace ms {
namespace {

// A band-limited test signal: a few sines below `fmax` with random frequencies, phases and amplitudes;
// evaluated exactly at any rate.
struct Tones {
  std::vector<double> f, a, p;
  Tones(Rng& rng, double fmax, int count = 6) {
    for (int i = 0; i < count; ++i) {
      f.push_back(rng.uniform(50, fmax));
      a.push_back(rng.uniform(0.05, 0.15));
      p.push_back(rng.uniform(0, 2 * M_PI));
    }
  }
  std::vector<double> at(int rate, int64_t n) const {
    std::vector<double> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      for (size_t k = 0; k < f.size(); ++k) x[static_cast<size_t>(i)] += a[k] * std::sin(2 * M_PI * f[k] * i / rate + p[k]);
    return x;
  }
};

// Edges are skipped: the signal starts and stops abruptly there, which no band-limited resampler keeps.
constexpr size_t kEdge = 800;  // 50 ms at 16 kHz

TEST(AudioResample, MatchesTheExactSignalAtEveryCommonRate) {
  Rng rng(test::test_seed());
  for (int from : {8000, 11025, 22050, 24000, 32000, 44100, 48000, 96000}) {
    const Tones tones(rng, std::min(0.45 * from, 7200.0));
    const int64_t n = from / 2;  // 0.5 s
    const std::vector<double> in = tones.at(from, n);
    const std::vector<float> inf(in.begin(), in.end());
    const std::vector<float> out = resample(inf, from, 16000);
    ASSERT_EQ(static_cast<int64_t>(out.size()), std::llround(n * 16000.0 / from)) << from;
    const std::vector<double> exact = tones.at(16000, static_cast<int64_t>(out.size()));
    const double snr = test::snr_db(out, exact, kEdge, out.size() - kEdge);
    EXPECT_GT(snr, 100) << from << " Hz -> 16000 Hz";  // measured 135-150 dB
    RecordProperty("snr_db_from_" + std::to_string(from), std::to_string(snr));
  }
}

TEST(AudioResample, AgreesWithSoxRate) {
  if (!test::have_command("sox")) GTEST_SKIP() << "sox is not installed (scripts/install-deps.sh installs it)";
  const std::string dir = test::temp_dir();
  Rng rng(test::test_seed());
  for (int from : {8000, 22050, 44100, 48000}) {
    const Tones tones(rng, std::min(0.45 * from, 7200.0));
    const std::string in = dir + "/in" + std::to_string(from) + ".wav";
    const std::string ref = dir + "/sox" + std::to_string(from) + ".wav";
    test::write_sndfile(in, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, from, tones.at(from, from * 3 / 4));
    const std::string cmd = "sox -V1 -D '" + in + "' -e floating-point -b 32 '" + ref + "' rate -v 16000";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const Audio ours = read_audio(in);  // resampled to 16 kHz by read_audio, best quality
    AudioReadOptions keep;
    keep.sample_rate = 0;
    const Audio theirs = read_audio(ref, keep);
    ASSERT_EQ(theirs.sample_rate, 16000);
    ASSERT_EQ(ours.samples.size(), theirs.samples.size()) << from;
    const std::vector<double> sox_d(theirs.samples.begin(), theirs.samples.end());
    const double snr = test::snr_db(ours.samples, sox_d, kEdge, ours.samples.size() - kEdge);
    EXPECT_GT(snr, 70) << from << " Hz: ours vs sox rate -v";  // stated tolerance; measured 90-140 dB
    RecordProperty("snr_vs_sox_from_" + std::to_string(from), std::to_string(snr));
  }
}

TEST(AudioResample, LengthsAndQualities) {
  Rng rng(test::test_seed());
  const std::vector<float> x = [&] {
    std::vector<float> v(4410);
    for (auto& s : v) s = static_cast<float>(rng.uniform(-0.5, 0.5));
    return v;
  }();
  for (const char* q : {"best", "medium", "fastest", "linear", "zero_order_hold"}) {
    const std::vector<float> y = resample(x, 44100, 16000, parse_resample_quality(q));
    EXPECT_EQ(y.size(), 1600u) << q;
  }
  EXPECT_EQ(resample(x, 16000, 16000), x);
  EXPECT_TRUE(resample(std::vector<float>{}, 44100, 16000).empty());
  EXPECT_THROW(parse_resample_quality("great"), Error);
  EXPECT_THROW(resample(x, 1000, 300000), Error);  // beyond libsamplerate's 256x
}

}  // namespace
}  // namespace ms
