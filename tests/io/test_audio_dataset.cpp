// Audio data sets: listing, splits, the decoded cache, deterministic windows, and the token CLI functions.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "io/audio_dataset.h"
#include "io/audio_tokens.h"
#include "tests/io/test_audio_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace ms {
namespace {

using ms::test::error_of;

std::vector<float> noise(int64_t n, Rng& rng, double amp = 0.5) {
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = static_cast<float>(rng.uniform(-amp, amp));
  return x;
}

// A small tree: two classes in folders, one file at 22.05 kHz, stereo, a FLAC, and files to be ignored.
struct Fixture {
  std::string root;
  std::map<std::string, int64_t> samples;  // relative path -> samples at 16 kHz
  explicit Fixture(Rng& rng) : root(test::temp_dir() + "/data") {
    fs::create_directories(root + "/cat/deeper");
    fs::create_directories(root + "/dog");
    auto add16 = [&](const std::string& rel, int64_t n) {
      write_wav16(root + "/" + rel, noise(n, rng), 16000);
      samples[rel] = n;
    };
    add16("cat/a.wav", 1000);
    add16("cat/b.WAV", 300);
    add16("cat/deeper/c.wav", 2500);
    add16("dog/d.wav", 4000);
    write_wav16(root + "/dog/e.wav", noise(2205, rng), 22050);  // resampled to 1600
    samples["dog/e.wav"] = 1600;
    std::vector<double> st(2 * 700);
    for (auto& v : st) v = rng.uniform(-0.5, 0.5);
    test::write_sndfile(root + "/dog/f.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 2, 16000, st);
    samples["dog/f.flac"] = 700;
    std::ofstream(root + "/dog/readme.txt") << "not audio";
    std::ofstream(root + "/cat/notes.md") << "not audio";
  }
  std::vector<std::string> rel_sorted() const {
    std::vector<std::string> r;
    for (const auto& [k, v] : samples) r.push_back(k);
    std::sort(r.begin(), r.end());
    return r;
  }
};

TEST(AudioFiles, RecursiveSortedScanAndFileLists) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  const std::vector<std::string> files = list_audio_files(fx.root);
  std::vector<std::string> rel;
  for (const auto& f : files) rel.push_back(fs::path(f).lexically_relative(fx.root).generic_string());
  EXPECT_EQ(rel, fx.rel_sorted());  // sorted by relative path, extensions case-insensitive, others ignored
  EXPECT_EQ(list_audio_files(fx.root), files);  // stable

  const std::string list = fx.root + "/../list.txt";
  std::ofstream(list) << "# a comment\ndata/dog/d.wav\n\n  data/cat/a.wav  \n" << fx.root << "/dog/f.flac\n";
  const std::vector<std::string> listed = resolve_audio_files(list);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_TRUE(fs::equivalent(listed[0], fx.root + "/dog/d.wav"));
  EXPECT_TRUE(fs::equivalent(listed[1], fx.root + "/cat/a.wav"));

  std::ofstream(list, std::ios::app) << "data/dog/missing.wav\n";
  const std::string msg = error_of([&] { read_audio_file_list(list); });
  EXPECT_NE(msg.find("list.txt:6: no such audio file 'data/dog/missing.wav'"), std::string::npos) << msg;
  fs::create_directories(fx.root + "/../empty");
  EXPECT_NE(error_of([&] { list_audio_files(fx.root + "/../empty"); }).find("no audio files"), std::string::npos);
  EXPECT_NE(error_of([&] { resolve_audio_files(fx.root + "/nope"); }).find("no such audio folder"), std::string::npos);
}

TEST(AudioFiles, SplitIsDisjointDeterministicAndIndependentOfOrderAndLocation) {
  std::vector<std::string> a, b;
  for (int i = 0; i < 200; ++i) {
    a.push_back("/x/data/piece" + std::to_string(i) + ".wav");
    b.push_back("/elsewhere/data/piece" + std::to_string(i) + ".wav");
  }
  SplitFractions fr{0.1, 0.15, 7};
  const FileSplit s = split_files(a, fr, "/x/data");
  EXPECT_EQ(s.valid.size(), 20u);
  EXPECT_EQ(s.test.size(), 30u);
  EXPECT_EQ(s.train.size(), 150u);
  std::set<std::string> all;
  for (const auto* part : {&s.train, &s.valid, &s.test}) all.insert(part->begin(), part->end());
  EXPECT_EQ(all.size(), 200u);  // disjoint and complete
  std::vector<std::string> shuffled = a;
  std::reverse(shuffled.begin(), shuffled.end());
  const FileSplit s2 = split_files(shuffled, fr, "/x/data");
  EXPECT_EQ(s2.test, s.test);
  EXPECT_EQ(s2.valid, s.valid);
  const FileSplit moved = split_files(b, fr, "/elsewhere/data");
  for (size_t i = 0; i < s.test.size(); ++i)
    EXPECT_EQ(fs::path(moved.test[i]).filename(), fs::path(s.test[i]).filename());
  fr.seed = 8;
  EXPECT_NE(split_files(a, fr, "/x/data").test, s.test);
  // Small sets: a split asked for is never empty; impossible splits are errors.
  const FileSplit small = split_files({"/q/1.wav", "/q/2.wav", "/q/3.wav"}, {0.05, 0.05, 0});
  EXPECT_EQ(small.train.size() + small.valid.size() + small.test.size(), 3u);
  EXPECT_EQ(small.test.size(), 1u);
  EXPECT_THROW(split_files({"/q/1.wav", "/q/2.wav"}, {0.3, 0.3, 0}), Error);
  EXPECT_THROW(split_files(a, {0.6, 0.5, 0}), Error);
  EXPECT_THROW(split_files({"/q/1.wav", "/q/1.wav", "/q/2.wav"}, {0, 0, 0}), Error);
}

TEST(AudioDataset, CacheTokensAndWindowsAreDeterministic) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  AudioDatasetOptions opt;
  opt.window = 512;
  opt.threads = 2;
  const AudioDataset ds(list_audio_files(fx.root), opt);
  ASSERT_EQ(ds.num_files(), 6);
  int64_t total = 0;
  for (int64_t i = 0; i < ds.num_files(); ++i) {
    const std::string rel = fs::path(ds.path(i)).lexically_relative(fx.root).generic_string();
    EXPECT_EQ(static_cast<int64_t>(ds.pcm(i).size()), fx.samples.at(rel)) << rel;
    total += fx.samples.at(rel);
    // The stream is the silence token, then the file's tokens exactly as `data tokens` prints them.
    const Tensor t = ds.file_tokens(i);
    ASSERT_EQ(t.numel(), fx.samples.at(rel) + 1);
    EXPECT_EQ(t.data<int32_t>()[0], 128);
    const std::vector<int32_t> cli = audio_to_tokens(ds.path(i));
    EXPECT_TRUE(std::equal(cli.begin(), cli.end(), t.data<int32_t>() + 1)) << rel;
  }
  EXPECT_EQ(ds.total_samples(), total);

  const AudioBatch b1 = ds.batch(42, 17, 8), b2 = ds.batch(42, 17, 8), b3 = ds.batch(42, 18, 8);
  EXPECT_EQ(b1.tokens.shape(), (Shape{8, 513}));
  EXPECT_EQ(b1.tokens.dtype(), DType::i32);
  EXPECT_TRUE(std::equal(b1.tokens.data<int32_t>(), b1.tokens.data<int32_t>() + 8 * 513, b2.tokens.data<int32_t>()));
  EXPECT_FALSE(std::equal(b1.tokens.data<int32_t>(), b1.tokens.data<int32_t>() + 8 * 513, b3.tokens.data<int32_t>()));
  // Row b of a batch depends on (seed, step, b) only: a bigger batch starts with the same rows.
  const AudioBatch b4 = ds.batch(42, 17, 3);
  EXPECT_TRUE(std::equal(b4.tokens.data<int32_t>(), b4.tokens.data<int32_t>() + 3 * 513, b1.tokens.data<int32_t>()));
  // A second data set decoded from the same files gives the same batches.
  const AudioDataset again(list_audio_files(fx.root), opt);
  const AudioBatch b5 = again.batch(42, 17, 8);
  EXPECT_TRUE(std::equal(b1.tokens.data<int32_t>(), b1.tokens.data<int32_t>() + 8 * 513, b5.tokens.data<int32_t>()));
  // Every row is what its window says.
  for (int64_t b = 0; b < 8; ++b) {
    const AudioWindow& w = b1.windows[static_cast<size_t>(b)];
    const Tensor whole = ds.file_tokens(w.file);
    EXPECT_EQ(b1.lengths[static_cast<size_t>(b)], w.length);
    for (int64_t k = 0; k < 513; ++k) {
      const int32_t want = k < w.length ? whole.data<int32_t>()[w.offset + k] : 128;
      ASSERT_EQ(b1.tokens.data<int32_t>()[b * 513 + k], want) << "row " << b << " position " << k;
    }
  }
  // A shorter window (sequence-length warmup): rows of 129 tokens, the starts of the full rows.
  const AudioBatch s1 = ds.batch(42, 17, 8, 128);
  ASSERT_EQ(s1.tokens.shape(), (Shape{8, 129}));
  for (int64_t b = 0; b < 8; ++b) {
    EXPECT_EQ(s1.windows[static_cast<size_t>(b)].offset, b1.windows[static_cast<size_t>(b)].offset);
    EXPECT_EQ(s1.lengths[static_cast<size_t>(b)], std::min<int64_t>(b1.lengths[static_cast<size_t>(b)], 129));
    EXPECT_TRUE(std::equal(s1.tokens.data<int32_t>() + b * 129, s1.tokens.data<int32_t>() + (b + 1) * 129,
                           b1.tokens.data<int32_t>() + b * 513))
        << "row " << b;
  }
  EXPECT_THROW(ds.batch(42, 17, 8, 513), Error);  // longer than the dataset's window
  // A data-parallel rank's share: rows first_row .. first_row + n of the whole step's batch, at any window.
  for (const int64_t len : {int64_t{0}, int64_t{128}}) {
    const AudioBatch whole = ds.batch(42, 17, 8, len), share = ds.batch(42, 17, 3, len, 5);
    const int64_t W = whole.tokens.size(1);
    ASSERT_EQ(share.tokens.shape(), (Shape{3, W}));
    EXPECT_TRUE(std::equal(share.tokens.data<int32_t>(), share.tokens.data<int32_t>() + 3 * W,
                           whole.tokens.data<int32_t>() + 5 * W))
        << "window " << len;
    for (size_t b = 0; b < 3; ++b) EXPECT_EQ(share.windows[b].offset, whole.windows[5 + b].offset);
  }
}

TEST(AudioDataset, WindowStartsAreUniformOverTheAudio) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  AudioDatasetOptions opt;
  opt.window = 256;
  const AudioDataset ds(list_audio_files(fx.root), opt);
  std::vector<int64_t> hits(static_cast<size_t>(ds.num_files()));
  int64_t starts_total = 0;
  std::vector<int64_t> starts(static_cast<size_t>(ds.num_files()));
  for (int64_t f = 0; f < ds.num_files(); ++f) starts_total += starts[static_cast<size_t>(f)] = ds.stream_length(f) - 256;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    const AudioWindow w = ds.sample_window(5, static_cast<uint64_t>(i / 10), i % 10);
    ASSERT_EQ(w.length, 257);
    ASSERT_LE(w.offset + w.length, ds.stream_length(w.file));
    ++hits[static_cast<size_t>(w.file)];
  }
  for (int64_t f = 0; f < ds.num_files(); ++f) {
    const double p = static_cast<double>(starts[static_cast<size_t>(f)]) / starts_total;
    EXPECT_NEAR(hits[static_cast<size_t>(f)] / static_cast<double>(draws), p, 5 * std::sqrt(p * (1 - p) / draws) + 1e-3);
  }
}

TEST(AudioDataset, ShortFilesArePaddedOrSkipped) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  AudioDatasetOptions opt;
  // Every file is shorter than the window: each is one padded window, so draws are uniform over files.
  opt.window = 5000;
  const AudioDataset padded(list_audio_files(fx.root), opt);
  EXPECT_EQ(padded.skipped_files(), 0);
  std::set<int64_t> seen;
  for (uint64_t step = 0; step < 50; ++step) {
    const AudioBatch b = padded.batch(1, step, 4);
    for (int64_t r = 0; r < 4; ++r) {
      const AudioWindow& w = b.windows[static_cast<size_t>(r)];
      seen.insert(w.file);
      EXPECT_EQ(w.offset, 0);
      EXPECT_EQ(b.lengths[static_cast<size_t>(r)], padded.stream_length(w.file));
      for (int64_t k = w.length; k < 5001; ++k) ASSERT_EQ(b.tokens.data<int32_t>()[r * 5001 + k], padded.silence());
    }
  }
  EXPECT_EQ(seen.size(), 6u);

  opt.window = 1500;  // files of 300, 700 and 1000 samples are short
  opt.short_files = parse_short_file_policy("skip");
  const AudioDataset skipping(list_audio_files(fx.root), opt);
  EXPECT_EQ(skipping.skipped_files(), 3);
  for (uint64_t step = 0; step < 200; ++step) {
    const AudioWindow w = skipping.sample_window(1, step, 0);
    ASSERT_GE(skipping.stream_length(w.file), 1501);
    ASSERT_EQ(w.length, 1501);
  }
  opt.window = 100000;
  const std::string msg = error_of([&] { AudioDataset(list_audio_files(fx.root), opt); });
  EXPECT_NE(msg.find("shorter than one window"), std::string::npos) << msg;
  opt.window = (int64_t{1} << 20) + 1;
  EXPECT_NE(error_of([&] { AudioDataset(list_audio_files(fx.root), opt); }).find("2^20"), std::string::npos);
  EXPECT_THROW(parse_short_file_policy("truncate"), Error);
}

TEST(AudioDataset, EvalWindowsPredictEveryTokenOnceAndLabelsComeFromFolders) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  AudioDatasetOptions opt;
  opt.window = 700;
  opt.labels_from_dirs = true;
  opt.quantization = Quantization::linear;
  const AudioDataset ds(list_audio_files(fx.root), opt);
  EXPECT_EQ(ds.classes(), (std::vector<std::string>{"cat", "deeper", "dog"}));
  const std::vector<AudioWindow> ws = ds.eval_windows();
  std::vector<int64_t> targets(static_cast<size_t>(ds.num_files()));
  for (const AudioWindow& w : ws) {
    ASSERT_LE(w.length, 701);
    ASSERT_GE(w.length, 2);
    targets[static_cast<size_t>(w.file)] += w.length - 1;
  }
  for (int64_t f = 0; f < ds.num_files(); ++f)
    EXPECT_EQ(targets[static_cast<size_t>(f)], static_cast<int64_t>(ds.pcm(f).size())) << ds.path(f);
  const AudioBatch b = ds.make_batch(ws);
  for (size_t r = 0; r < ws.size(); ++r) {
    const std::string dir = fs::path(ds.path(ws[r].file)).parent_path().filename().string();
    EXPECT_EQ(ds.classes()[static_cast<size_t>(b.labels.data<int32_t>()[r])], dir);
  }
  // Linear tokens: the top byte of each cached 16-bit sample.
  const Tensor t = ds.file_tokens(0);
  for (size_t i = 0; i < ds.pcm(0).size(); ++i) ASSERT_EQ(t.data<int32_t>()[i + 1], (ds.pcm(0)[i] + 32768) >> 8);
}

TEST(AudioDataset, DecodingErrorsNameTheFile) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  AudioDatasetOptions opt;
  opt.read.resample = false;
  std::string msg = error_of([&] { AudioDataset(list_audio_files(fx.root), opt); });
  EXPECT_NE(msg.find("dog/e.wav: sample rate is 22050 Hz"), std::string::npos) << msg;
  opt.read.resample = true;
  std::ofstream(fx.root + "/cat/broken.wav") << std::string("RIFF\x10\0\0\0WAVEfmt ", 16);
  msg = error_of([&] { AudioDataset(list_audio_files(fx.root), opt); });
  EXPECT_NE(msg.find("cat/broken.wav: corrupt WAV header"), std::string::npos) << msg;
}

TEST(AudioTokens, TokensRoundTripThroughTextAndWav) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  const std::string wav = dir + "/in.wav", tok = dir + "/tokens.txt", out = dir + "/out.wav";
  write_wav16(wav, noise(3000, rng, 0.9), 16000);
  for (Quantization q : {Quantization::mulaw, Quantization::linear}) {
    TokenOptions opt;
    opt.quantization = q;
    {
      std::ofstream f(tok);
      EXPECT_EQ(write_audio_tokens(wav, f, opt), 3000);
    }
    const std::vector<int32_t> tokens = read_token_file(tok);
    EXPECT_EQ(tokens, audio_to_tokens(wav, opt));
    const Audio a = read_audio(wav);
    for (size_t i = 0; i < tokens.size(); ++i)
      ASSERT_EQ(tokens[i], quantize_sample(std::nearbyint(a.samples[i] * 32768.0) / 32768.0, q)) << i;
    EXPECT_EQ(detokenize_file(tok, out, opt), 3000);
    const Audio back = read_audio(out);
    const std::vector<float> expect = dequantize(tokens, q);
    ASSERT_EQ(back.samples.size(), expect.size());
    for (size_t i = 0; i < expect.size(); ++i) ASSERT_NEAR(back.samples[i], expect[i], 0.5 / 32768 + 1e-7) << i;
  }
}

TEST(AudioTokens, BadTokenFiles) {
  auto parse = [](const std::string& text, int bits = 8) {
    std::istringstream in(text);
    return error_of([&] { read_tokens(in, "t.txt", bits); });
  };
  std::istringstream ok("# header comment\n1\n 2 \n\n255\n");
  EXPECT_EQ(read_tokens(ok, "ok.txt"), (std::vector<int32_t>{1, 2, 255}));
  EXPECT_NE(parse("1\n2\n3000\n").find("t.txt:3: token 3000 does not fit 8-bit tokens (0..255): bit depth mismatch"),
            std::string::npos);
  EXPECT_NE(parse("1\nabc\n").find("t.txt:2: 'abc' is not an integer token"), std::string::npos);
  EXPECT_NE(parse("1\n2.5\n").find("t.txt:2:"), std::string::npos);
  EXPECT_NE(parse("-4\n").find("t.txt:1: token -4 is outside 0..255"), std::string::npos);
  EXPECT_NE(parse("\n# nothing\n").find("holds no tokens"), std::string::npos);
  std::istringstream wide("3000\n65535\n");
  EXPECT_EQ(read_tokens(wide, "w.txt", 16).size(), 2u);  // the same file read as 16-bit tokens
  EXPECT_NE(error_of([] { read_token_file("/nonexistent/tokens.txt"); }).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace ms
