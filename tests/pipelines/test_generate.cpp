// Generation from a tiny trained audio model: valid WAVs and PNGs of the right size, determinism for a
// fixed seed, prompts, greedy decoding consistent with the parallel forward, and one-line errors.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/audio.h"
#include "io/audio_dataset.h"
#include "io/audio_tokens.h"
#include "io/checkpoint.h"
#include "io/spectrogram.h"
#include "pipelines/audio_pretrain.h"
#include "pipelines/generate.h"
#include "tests/pipelines/cli_runner.h"
#include "tests/pipelines/test_audio_fixtures.h"

namespace ms {
namespace {

// A trained tiny model (a few steps) in `dir`/run; returns the checkpoint path.
std::string train_tiny(const std::string& dir, Rng& rng, const std::string& kind = "unet") {
  test::write_music(dir + "/data/train", 2, 400, 16000, rng);
  test::write_music(dir + "/data/valid", 1, 200, 16000, rng);
  RunRequest r;
  r.sets = test::tiny_pretrain_sets(dir + "/data", kind);
  r.sets.push_back("train.steps=3");
  r.out = dir + "/run";
  r.quiet = true;
  run_audio_pretrain(r);
  return dir + "/run/last.h5";
}

RunRequest gen_request(const std::string& ckpt, const std::string& out, std::vector<std::string> sets) {
  RunRequest r;
  r.ckpt = ckpt;
  r.out = out;
  r.sets = std::move(sets);
  r.quiet = true;
  return r;
}

// Width and height from a PNG's IHDR chunk.
std::pair<int, int> png_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string b(24, '\0');
  in.read(b.data(), 24);
  EXPECT_EQ(b.substr(1, 3), "PNG") << path;
  auto be32 = [&](size_t o) {
    return (static_cast<unsigned char>(b[o]) << 24) | (static_cast<unsigned char>(b[o + 1]) << 16) |
           (static_cast<unsigned char>(b[o + 2]) << 8) | static_cast<unsigned char>(b[o + 3]);
  };
  return {static_cast<int>(be32(16)), static_cast<int>(be32(20))};
}

TEST(Generate, WritesValidWavsAndPngsDeterministically) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  const std::string ckpt = train_tiny(dir, rng);
  const std::vector<std::string> sets{"sample.n_samples=3", "sample.batch=2", "sample.seconds=0.05",
                                      "sample.seed=" + std::to_string(rng.next_u64() % 1000)};
  GenerateResult a = run_generate(gen_request(ckpt, dir + "/a", sets));
  GenerateResult b = run_generate(gen_request(ckpt, dir + "/b", sets));
  ASSERT_EQ(a.files.size(), 3u);
  ASSERT_EQ(a.tokens.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.tokens[i], b.tokens[i]) << "sample " << i << ": the same seed must give the same audio";
    ASSERT_EQ(a.tokens[i].size(), 800u);
    Audio wav = read_audio(a.files[i].wav);
    EXPECT_EQ(wav.sample_rate, 16000);
    EXPECT_EQ(wav.source.encoding, "PCM_16");
    ASSERT_EQ(wav.samples.size(), 800u);
    // The WAV holds exactly the dequantized tokens (16-bit rounding aside).
    std::vector<float> want = dequantize(a.tokens[i], Quantization::mulaw, 8);
    for (size_t t = 0; t < want.size(); ++t) ASSERT_NEAR(wav.samples[t], want[t], 1.0 / 32768) << t;
    auto [w, h] = png_size(a.files[i].png);
    EXPECT_EQ(w, (800 + 127) / 128);
    EXPECT_EQ(h, 257);
    EXPECT_EQ(test::slurp(a.files[i].wav), test::slurp(b.files[i].wav));
  }
  EXPECT_NE(a.tokens[0], a.tokens[1]) << "rows of a batch draw different random numbers";
  GenerateResult c = run_generate(gen_request(ckpt, dir + "/c", {"sample.n_samples=1", "sample.seconds=0.05", "sample.seed=12345"}));
  EXPECT_NE(c.tokens[0], a.tokens[0]) << "another seed gives other audio";
  const std::string report = test::slurp(a.report_path);
  EXPECT_NE(report.find("generated samples/s"), std::string::npos);
  EXPECT_NE(report.find("sample_002.wav"), std::string::npos);
  EXPECT_NE(report.find("near-silent (< -50 dBFS): "), std::string::npos);
  for (size_t i = 0; i < 3; ++i) {
    const std::vector<float> x = dequantize(a.tokens[i], Quantization::mulaw, 8);
    EXPECT_DOUBLE_EQ(a.files[i].level_dbfs, rms_dbfs(x));
    EXPECT_DOUBLE_EQ(a.files[i].silent_share, silent_frame_share(x, 1600));
  }
  EXPECT_GT(a.samples_per_second, 0);
  // Reference levels: both training clips (fewer than n_samples = 3), quantized and cut to the 800
  // generated samples.
  ASSERT_TRUE(a.reference.has_value()) << a.reference_note;
  EXPECT_EQ(a.reference->clips, 2);
  const std::vector<std::string> train = list_audio_files(dir + "/data/train");
  ASSERT_EQ(train.size(), 2u);
  std::vector<double> levels, silent;
  for (const std::string& f : train) {
    std::vector<int32_t> t = audio_to_tokens(f);
    if (t.size() > 800) t.resize(800);  // longer clips are cut to the generated length, shorter ones kept
    const std::vector<float> x = dequantize(t, Quantization::mulaw, 8);
    levels.push_back(rms_dbfs(x));
    silent.push_back(silent_frame_share(x, 1600));
  }
  const LevelSummary want = summarize_levels(levels, silent);
  EXPECT_DOUBLE_EQ(a.reference->lo, want.lo);
  EXPECT_DOUBLE_EQ(a.reference->hi, want.hi);
  EXPECT_DOUBLE_EQ(a.reference->median, want.median);
  EXPECT_DOUBLE_EQ(a.reference->silent_share, want.silent_share);
  EXPECT_NE(report.find("Training clips for comparison (2 of `" + dir + "/data/train`"), std::string::npos) << report;
  // Without the training data here the report says so instead.
  GenerateResult d = run_generate(gen_request(ckpt, dir + "/d", {"sample.n_samples=1", "sample.seconds=0.05",
                                                                 "data.train=" + dir + "/moved_away"}));
  EXPECT_FALSE(d.reference.has_value());
  EXPECT_NE(test::slurp(d.report_path).find("no reference levels: data.train \"" + dir + "/moved_away\" does not exist"),
            std::string::npos);
}

TEST(Generate, SilentFrameShareAndLevelSummary) {
  Rng rng(test::test_seed());
  // Frames of 1600 samples: silence, a tone, the mu-law silence token's level, noise, one loud sample.
  std::vector<float> x(5 * 1600, 0.0f);
  const std::vector<float> tone = test::tone(440, 1600, 16000, rng);
  std::copy(tone.begin(), tone.end(), x.begin() + 1600);
  const std::vector<float> quiet = dequantize(std::vector<int32_t>(1600, silence_token(Quantization::mulaw, 8)),
                                              Quantization::mulaw, 8);
  std::copy(quiet.begin(), quiet.end(), x.begin() + 2 * 1600);
  for (int64_t t = 3 * 1600; t < 4 * 1600; ++t) x[static_cast<size_t>(t)] = static_cast<float>(rng.uniform() - 0.5);
  x[4 * 1600 + 7] = 0.5f;  // RMS of the frame 0.5 / 40: -38 dBFS, not silent
  EXPECT_DOUBLE_EQ(silent_frame_share(x, 1600), 2.0 / 5);
  // A trailing partial frame is left out; a clip shorter than a frame is one frame.
  x.resize(5 * 1600 + 900, 0.0f);
  EXPECT_DOUBLE_EQ(silent_frame_share(x, 1600), 2.0 / 5);
  EXPECT_DOUBLE_EQ(silent_frame_share(std::vector<float>(100, 0.0f), 1600), 1.0);
  EXPECT_DOUBLE_EQ(silent_frame_share(std::vector<float>(tone.begin(), tone.begin() + 100), 1600), 0.0);
  EXPECT_THROW(silent_frame_share(x, 0), Error);

  const LevelSummary odd = summarize_levels({-10, -30, -20}, {0.5, 0.0, 1.0});
  EXPECT_EQ(odd.clips, 3);
  EXPECT_DOUBLE_EQ(odd.lo, -30);
  EXPECT_DOUBLE_EQ(odd.hi, -10);
  EXPECT_DOUBLE_EQ(odd.median, -20);
  EXPECT_DOUBLE_EQ(odd.silent_share, 0.5);
  EXPECT_DOUBLE_EQ(summarize_levels({-12, -8, -40, -20}, {0, 0, 0, 0.2}).median, -16);
  EXPECT_EQ(summarize_levels({}, {}).clips, 0);
  EXPECT_THROW(summarize_levels({-1}, {}), Error);
}

TEST(Generate, RmsLevelInDbfs) {
  EXPECT_NEAR(rms_dbfs(std::vector<float>{1, -1, 1, -1}), 0.0, 1e-9);
  EXPECT_NEAR(rms_dbfs(std::vector<float>{0.5f, -0.5f}), 20 * std::log10(0.5), 1e-9);
  std::vector<float> sine(16000);
  for (size_t t = 0; t < sine.size(); ++t) sine[t] = static_cast<float>(0.25 * std::sin(2 * M_PI * 440 * t / 16000.0));
  EXPECT_NEAR(rms_dbfs(sine), 20 * std::log10(0.25 / std::sqrt(2.0)), 1e-3);
  EXPECT_EQ(rms_dbfs(std::vector<float>(100, 0.0f)), -120);
  EXPECT_EQ(rms_dbfs({}), -120);
  // The mu-law silence token decodes to a near-silent clip.
  const std::vector<int32_t> quiet(800, silence_token(Quantization::mulaw, 8));
  EXPECT_LT(rms_dbfs(dequantize(quiet, Quantization::mulaw, 8)), kNearSilenceDbfs);
}

// Greedy sampling through prefill + steps must pick the argmax of the parallel forward's logits over the same
// sequence (prompt + generated tokens): the step loop and the prompt handling agree with training.
void check_greedy_matches_parallel(const std::string& kind) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  const std::string ckpt = train_tiny(dir, rng, kind);
  const std::string prompt = dir + "/prompt.wav";
  const int64_t Lp = 37 + static_cast<int64_t>(rng.next_u64() % 20);
  write_wav16(prompt, test::tone(330, Lp, 16000, rng), 16000);
  GenerateResult g = run_generate(gen_request(
      ckpt, dir + "/g",
      {"sample.n_samples=2", "sample.batch=2", "sample.seconds=0.004", "sample.temperature=0", "sample.prompt=" + prompt}));
  ASSERT_EQ(g.tokens[0], g.tokens[1]);
  // The WAV starts with the prompt.
  Audio wav = read_audio(g.files[0].wav);
  ASSERT_EQ(static_cast<int64_t>(wav.samples.size()), Lp + 64);
  std::vector<int32_t> ptok = audio_to_tokens(prompt);
  EXPECT_EQ(g.files[0].prompt_samples, Lp);

  AudioPretrainConfig cfg = cfg::parse<AudioPretrainConfig>(read_checkpoint_config(ckpt), "ckpt");
  AudioModel model = make_audio_model(cfg.model, 256, Device::cpu);
  Checkpoint ck = read_checkpoint(ckpt);
  restore_tensors(ckpt, "parameter", ck.params, named_values(model.params()));
  std::vector<int32_t> seq{silence_token(Quantization::mulaw)};
  seq.insert(seq.end(), ptok.begin(), ptok.end());
  seq.insert(seq.end(), g.tokens[0].begin(), g.tokens[0].end());
  const int64_t n = static_cast<int64_t>(seq.size()) - 1, P = model.length_multiple();
  const int64_t L = (n + P - 1) / P * P;
  Tensor ids = Tensor::full({1, L}, 0, DType::i32);
  std::copy(seq.begin(), seq.end() - 1, ids.data<int32_t>());
  Tensor logits = model.kind == AudioModelKind::unet ? unet_logits(model.unet, ids) : lm_logits(model.lm, ids);
  const int64_t V = logits.size(2);
  int mismatches = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const int64_t pos = 1 + Lp - 1 + i;  // logits at position pos predict seq[pos + 1] = generated token i
    const float* row = logits.data<float>() + pos * V;
    const int64_t best = std::max_element(row, row + V) - row;
    mismatches += best != g.tokens[0][static_cast<size_t>(i)];
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Generate, GreedyUnetMatchesParallelArgmax) { check_greedy_matches_parallel("unet"); }
TEST(Generate, GreedyLmMatchesParallelArgmax) { check_greedy_matches_parallel("lm"); }

TEST(Generate, BadInputsGiveOneLineErrors) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  const std::string ckpt = train_tiny(dir, rng);
  auto error_of = [](const RunRequest& r) -> std::string {
    try {
      run_generate(r);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(gen_request(dir + "/none.h5", dir + "/o", {})).find("does not exist"), std::string::npos);
  // A config whose model differs from the checkpoint's.
  std::ofstream(dir + "/other.toml") << "domain = \"audio\"\n[model]\nd_model = 12\nn_layer = 1\npool = [2, 2]\n";
  RunRequest r = gen_request(ckpt, dir + "/o", {});
  r.config_path = dir + "/other.toml";
  std::string e = error_of(r);
  EXPECT_NE(e.find("must be the one the checkpoint was trained with"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  // A prompt in an unsupported format.
  std::ofstream(dir + "/bad.wav") << "not audio at all";
  e = error_of(gen_request(ckpt, dir + "/o", {"sample.prompt=" + dir + "/bad.wav"}));
  EXPECT_NE(e.find("unsupported format"), std::string::npos) << e;
  // A classifier named that does not exist.
  e = error_of(gen_request(ckpt, dir + "/o", {"sample.classifier=" + dir + "/nope.h5"}));
  EXPECT_NE(e.find("sample.classifier"), std::string::npos) << e;
}

TEST(Generate, CliWritesFilesAndReport) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  const std::string ckpt = train_tiny(dir, rng);
  test::CliResult r = test::run_mambaseq({"generate", "--ckpt", ckpt, "--out", dir + "/cli", "--set",
                                          "sample.n_samples=2", "--set", "sample.seconds=0.02"},
                                         60, dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/cli/sample_001.wav"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/cli/sample_001.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/cli/report.md"));
  EXPECT_NE(r.out.find("samples/s"), std::string::npos);
  test::CliResult missing = test::run_mambaseq({"generate", "--ckpt", dir + "/missing.h5"}, 60, dir);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("missing.h5"), std::string::npos) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
  test::CliResult no_ckpt = test::run_mambaseq({"generate"}, 60, dir);
  EXPECT_EQ(no_ckpt.status, 2) << no_ckpt.err;
}

TEST(Generate, CudaGraphReplayEqualsEagerSteps) {
  MS_SKIP_WITHOUT_GPU();
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  const std::string ckpt = train_tiny(dir, rng);
  auto run = [&](bool graph, const std::string& out) {
    return run_generate(gen_request(ckpt, out,
                                    {"train.device=cuda", "sample.n_samples=3", "sample.batch=3", "sample.seconds=0.01",
                                     std::string("sample.cuda_graph=") + (graph ? "true" : "false")}));
  };
  GenerateResult eager = run(false, dir + "/eager"), graphed = run(true, dir + "/graph");
  EXPECT_GT(graphed.timing.graphs, 0);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(eager.tokens[i], graphed.tokens[i]) << "sample " << i;
}

}  // namespace
}  // namespace ms
