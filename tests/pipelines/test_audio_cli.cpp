// The audio commands through the built binary: `data tokens` against an independent mu-law / linear
// formula, `data detokenize` round trips, bad audio input at the command line (one line on stderr, exit 1,
// the file named), and the routing of pretrain / eval between the audio and DNA pipelines.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/audio.h"
#include "tests/pipelines/cli_runner.h"
#include "tests/pipelines/test_audio_fixtures.h"

namespace ms {
namespace {

std::vector<int> parse_lines(const std::string& text) {
  std::vector<int> v;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) v.push_back(std::stoi(line));
  return v;
}

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// A minimal PCM WAV written byte by byte (so the tests can make 8-bit files and odd rates without libsndfile).
void write_raw_wav(const std::string& path, int rate, int bits, const std::vector<int>& samples) {
  const uint32_t bytes_per = static_cast<uint32_t>(bits / 8), data = static_cast<uint32_t>(samples.size()) * bytes_per;
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  f << "RIFF";
  u32(36 + data);
  f << "WAVEfmt ";
  u32(16);
  u16(1);
  u16(1);
  u32(static_cast<uint32_t>(rate));
  u32(static_cast<uint32_t>(rate) * bytes_per);
  u16(static_cast<uint16_t>(bytes_per));
  u16(static_cast<uint16_t>(bits));
  f << "data";
  u32(data);
  for (int s : samples) {
    if (bits == 8) {
      const uint8_t b = static_cast<uint8_t>(s);
      f.write(reinterpret_cast<const char*>(&b), 1);
    } else {
      u16(static_cast<uint16_t>(static_cast<int16_t>(s)));
    }
  }
}

// Independent references (not io/'s code): torchaudio's mu_law_encoding rounding, and the top byte.
int mulaw_ref(int s) {
  const double x = s / 32768.0, mu = 255.0;
  const double y = (x < 0 ? -1.0 : 1.0) * std::log1p(mu * std::fabs(x)) / std::log1p(mu);
  return static_cast<int>((y + 1) / 2 * mu + 0.5);
}
int linear_ref(int s) { return (s + 32768) >> 8; }

TEST(AudioCli, DataTokensMatchAnIndependentMulawAndLinearEncoding) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  std::vector<int> pcm(777);
  for (int& s : pcm) s = static_cast<int>(rng.next_u64() % 65536) - 32768;
  pcm[0] = -32768, pcm[1] = 32767, pcm[2] = 0, pcm[3] = -1, pcm[4] = 1;
  write_raw_wav(dir + "/x.wav", 16000, 16, pcm);
  for (const char* q : {"--mulaw", "--linear"}) {
    test::CliResult r = test::run_mambaseq({"data", "tokens", dir + "/x.wav", q}, 60, dir);
    ASSERT_EQ(r.status, 0) << r.err;
    const std::vector<int> got = parse_lines(r.out);
    ASSERT_EQ(got.size(), pcm.size()) << q;
    int bad = 0;
    for (size_t i = 0; i < pcm.size(); ++i) {
      const int want = std::strcmp(q, "--mulaw") == 0 ? mulaw_ref(pcm[i]) : linear_ref(pcm[i]);
      if (got[i] != want && bad++ < 5) ADD_FAILURE() << q << " sample " << i << " (" << pcm[i] << "): " << got[i] << " != " << want;
    }
    EXPECT_EQ(bad, 0) << q;
  }
  // Default is mu-law; both flags at once is a usage error.
  test::CliResult def = test::run_mambaseq({"data", "tokens", dir + "/x.wav"}, 60, dir);
  EXPECT_EQ(parse_lines(def.out).at(5), mulaw_ref(pcm[5]));
  EXPECT_EQ(test::run_mambaseq({"data", "tokens", dir + "/x.wav", "--mulaw", "--linear"}, 60, dir).status, 2);
}

TEST(AudioCli, DetokenizeThenTokenizeIsTheIdentity) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  std::vector<int> tokens(500);
  for (int& t : tokens) t = static_cast<int>(rng.next_u64() % 256);
  for (const char* q : {"--mulaw", "--linear"}) {
    {
      std::ofstream f(dir + "/t.txt");
      for (int t : tokens) f << t << "\n";
    }
    test::CliResult d = test::run_mambaseq({"data", "detokenize", dir + "/t.txt", dir + "/t.wav", q}, 60, dir);
    ASSERT_EQ(d.status, 0) << d.err;
    test::CliResult r = test::run_mambaseq({"data", "tokens", dir + "/t.wav", q}, 60, dir);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(parse_lines(r.out), tokens) << q;
  }
  // A token that does not fit 8 bits names its line.
  std::ofstream(dir + "/bad.txt") << "12\n300\n";
  test::CliResult bad = test::run_mambaseq({"data", "detokenize", dir + "/bad.txt", dir + "/b.wav"}, 60, dir);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("bad.txt"), std::string::npos) << bad.err;
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
}

TEST(AudioCli, BadAudioFilesGiveOneLineErrors) {
  const std::string dir = test::temp_dir();
  std::ofstream(dir + "/text.wav") << "not audio at all, just some words in a file named .wav\n";
  std::ofstream(dir + "/empty.wav").close();
  write_raw_wav(dir + "/good.wav", 16000, 16, std::vector<int>(100, 1000));
  {
    std::ifstream in(dir + "/good.wav", std::ios::binary);
    std::string b((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(dir + "/cut.wav", std::ios::binary) << b.substr(0, 30);
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"text.wav", "unsupported format"}, {"empty.wav", "zero-length"}, {"cut.wav", "corrupt"}, {"missing.wav", "no such"}};
  for (const auto& [file, what] : cases) {
    test::CliResult r = test::run_mambaseq({"data", "tokens", dir + "/" + file}, 60, dir);
    EXPECT_EQ(r.status, 1) << file;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << file << ": " << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << file;
  }
}

// Pretraining on folders of files that break the config's rules: the error names the file and the key.
TEST(AudioCli, PretrainRefusesWrongRateAndBitDepthByConfig) {
  const std::string dir = test::temp_dir();
  std::filesystem::create_directories(dir + "/rate/train");
  std::filesystem::create_directories(dir + "/bits/train");
  std::vector<int> s16(3000), s8(3000);
  for (size_t i = 0; i < s16.size(); ++i) {
    s16[i] = static_cast<int>(8000 * std::sin(0.05 * static_cast<double>(i)));
    s8[i] = 128 + static_cast<int>(60 * std::sin(0.05 * static_cast<double>(i)));
  }
  write_raw_wav(dir + "/rate/train/r22k.wav", 22050, 16, s16);
  write_raw_wav(dir + "/bits/train/u8.wav", 16000, 8, s8);
  auto pretrain = [&](const std::string& root, const std::string& extra) {
    std::vector<std::string> args{"pretrain", "--out", dir + "/run"};
    std::vector<std::string> sets = test::tiny_pretrain_sets(root);
    sets.push_back("data.train=" + root + "/train");
    sets.push_back("data.valid=" + root + "/train");
    sets.push_back("train.steps=1");
    sets.push_back(extra);
    std::ofstream(dir + "/audio.toml") << "domain = \"audio\"\n";
    args.insert(args.end(), {"-c", dir + "/audio.toml"});
    for (const std::string& s : sets) args.insert(args.end(), {"--set", s});
    return test::run_mambaseq(args, 60, dir);
  };
  test::CliResult rate = pretrain(dir + "/rate", "data.resample=false");
  EXPECT_EQ(rate.status, 1);
  for (const char* part : {"r22k.wav", "22050 Hz", "resample"}) EXPECT_NE(rate.err.find(part), std::string::npos) << part << ": " << rate.err;
  EXPECT_EQ(count_lines(rate.err), 1) << rate.err;
  test::CliResult bits = pretrain(dir + "/bits", "data.source_bits=16");
  EXPECT_EQ(bits.status, 1);
  for (const char* part : {"u8.wav", "8", "16"}) EXPECT_NE(bits.err.find(part), std::string::npos) << part << ": " << bits.err;
  EXPECT_EQ(count_lines(bits.err), 1) << bits.err;
  // With resampling on (the default) the 22.05 kHz file trains.
  test::CliResult ok = pretrain(dir + "/rate", "data.resample=true");
  EXPECT_EQ(ok.status, 0) << ok.err;
}

// pretrain and eval send audio configs and checkpoints to the audio pipeline, anything else to DNA's.
TEST(AudioCli, PretrainAndEvalRouteByDomain) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  test::write_music(dir + "/data/train", 2, 400, 16000, rng);
  test::write_music(dir + "/data/valid", 1, 300, 16000, rng);
  std::ofstream(dir + "/audio.toml") << "domain = \"audio\"\nname = \"tiny\"\n";
  std::vector<std::string> args{"pretrain", "-c", dir + "/audio.toml", "--out", dir + "/run"};
  for (const std::string& s : test::tiny_pretrain_sets(dir + "/data")) args.insert(args.end(), {"--set", s});
  args.insert(args.end(), {"--set", "train.steps=2"});
  test::CliResult p = test::run_mambaseq(args, 60, dir);
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_NE(p.out.find("bits/sample"), std::string::npos) << p.out;
  // eval of the audio checkpoint, with its own config: held-out bits per sample.
  test::CliResult e = test::run_mambaseq({"eval", "--ckpt", dir + "/run/last.h5", "--out", dir + "/eval"}, 60, dir);
  ASSERT_EQ(e.status, 0) << e.err;
  EXPECT_NE(e.out.find("valid: "), std::string::npos) << e.out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/eval/metrics.jsonl"));
  // A config without domain = "audio" is a DNA config: the DNA pipeline reports its missing FASTA.
  std::ofstream(dir + "/dna.toml") << "name = \"d\"\n[data]\nfasta = [\"" << dir << "/none.fa.gz\"]\n";
  test::CliResult d = test::run_mambaseq({"pretrain", "-c", dir + "/dna.toml", "--out", dir + "/dna"}, 60, dir);
  EXPECT_EQ(d.status, 1);
  EXPECT_NE(d.err.find("none.fa.gz"), std::string::npos) << d.err;
  EXPECT_EQ(d.err.find("bits/sample"), std::string::npos) << d.err;
}

// eval of a digit-classifier checkpoint (routed by its head.* tensors): per-split accuracy and tables;
// --set points a split at other clips, and a missing folder is a one-line error naming it.
TEST(AudioCli, EvalScoresADigitClassifierCheckpoint) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  const std::vector<std::pair<std::string, double>> classes = {{"low", 300}, {"high", 3000}};
  test::write_tone_classes(dir + "/data/train", classes, 6, 256, 16000, rng);
  test::write_tone_classes(dir + "/data/valid", classes, 2, 256, 16000, rng);
  std::ofstream(dir + "/cls.toml") << "domain = \"audio\"\ntask = \"classify\"\nname = \"cls\"\n";
  std::vector<std::string> args{"finetune", "-c", dir + "/cls.toml", "--out", dir + "/run"};
  for (const std::string& s : {"data.train=" + dir + "/data/train", "data.valid=" + dir + "/data/valid",
                              std::string("data.test="), std::string("data.real_test="), std::string("data.window=256"),
                              std::string("model.d_model=8"), std::string("model.n_layer=1"),
                              std::string("model.d_state=4"), std::string("train.steps=3"),
                              std::string("train.batch_size=4"), std::string("train.device=cpu")})
    args.insert(args.end(), {"--set", s});
  test::CliResult f = test::run_mambaseq(args, 120, dir);
  ASSERT_EQ(f.status, 0) << f.err;
  test::CliResult e = test::run_mambaseq(
      {"eval", "--ckpt", dir + "/run/last.h5", "--out", dir + "/eval", "--set", "data.test=" + dir + "/data/train"}, 60, dir);
  ASSERT_EQ(e.status, 0) << e.err;
  for (const char* part : {"valid", "test", "accuracy"}) EXPECT_NE(e.out.find(part), std::string::npos) << part << ": " << e.out;
  for (const char* f : {"metrics.jsonl", "confusion_valid.tsv", "confusion_test.tsv", "per_class.tsv", "per_group.tsv"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/eval/" + f)) << f;
  std::ifstream metrics(dir + "/eval/metrics.jsonl");
  std::string line;
  int rows = 0;
  while (std::getline(metrics, line)) rows += line.find("\"accuracy\"") != std::string::npos;
  EXPECT_EQ(rows, 2);  // valid and test
  test::CliResult bad = test::run_mambaseq(
      {"eval", "--ckpt", dir + "/run/last.h5", "--out", dir + "/eval2", "--set", "data.valid=" + dir + "/nowhere"}, 60, dir);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(dir + "/nowhere"), std::string::npos) << bad.err;
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
  // A misspelt --set key is reported as such, not as "not a classifier checkpoint".
  test::CliResult typo = test::run_mambaseq(
      {"eval", "--ckpt", dir + "/run/last.h5", "--out", dir + "/eval3", "--set", "data.tets=x"}, 60, dir);
  EXPECT_EQ(typo.status, 1);
  EXPECT_NE(typo.err.find("data.tets"), std::string::npos) << typo.err;
  EXPECT_EQ(typo.err.find("not a digit classifier"), std::string::npos) << typo.err;
}

}  // namespace
}  // namespace ms
