// Audio pretraining end to end on tiny generated WAV fixtures: exact resume, the window warmup, held-out
// coverage, both model kinds, and the one-line errors for bad input.
#include <filesystem>
#include <fstream>
#include <set>

#include "io/checkpoint.h"
#include "pipelines/audio_data.h"
#include "pipelines/audio_pretrain.h"
#include "tests/pipelines/test_audio_fixtures.h"
#include "tests/test_util.h"

namespace ms {
namespace {

// test::temp_dir() wipes the test's folder on every call: take it once, here.
struct Fixture {
  std::string dir, root;
  explicit Fixture(Rng& rng, int64_t n = 600) : dir(test::temp_dir()), root(dir + "/data") {
    test::write_music(root + "/train", 3, n, 16000, rng);
    test::write_music(root + "/valid", 2, n / 2 + 7, 16000, rng);
  }
};

RunRequest request(const std::string& data_root, const std::string& out, std::vector<std::string> extra = {},
                   bool resume = false) {
  RunRequest r;
  r.sets = test::tiny_pretrain_sets(data_root);
  r.sets.insert(r.sets.end(), extra.begin(), extra.end());
  r.out = out;
  r.resume = resume;
  r.quiet = true;
  return r;
}

using ms::test::error_of;

TEST(AudioPretrain, StopAndResumeEqualsUninterruptedRun) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  const std::string out = fx.dir;
  AudioPretrainResult full = run_audio_pretrain(request(fx.root, out + "/full"));
  ASSERT_EQ(full.train_losses.size(), 6u);
  AudioPretrainResult first = run_audio_pretrain(request(fx.root, out + "/split", {"train.stop_after=3"}));
  ASSERT_EQ(first.train_losses.size(), 3u);
  AudioPretrainResult second = run_audio_pretrain(request(fx.root, out + "/split", {}, /*resume=*/true));
  ASSERT_EQ(second.train_losses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(first.train_losses[i], full.train_losses[i]) << "step " << i + 1;
    EXPECT_EQ(second.train_losses[i], full.train_losses[3 + i]) << "step " << 4 + i;
  }
  Checkpoint a = read_checkpoint(out + "/full/last.h5"), b = read_checkpoint(out + "/split/last.h5");
  ASSERT_EQ(a.params.size(), b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i)
    EXPECT_EQ(test::rel_l2_error(a.params[i].second, b.params[i].second), 0.0) << a.params[i].first;
  ASSERT_EQ(full.evals.size(), 1u);
  ASSERT_EQ(second.evals.size(), 1u);
  EXPECT_EQ(full.evals[0].loss, second.evals[0].loss);
  // metrics.jsonl of the resumed run has at most one train row per step (the stop at step 3 adds one),
  // and every logging step of the uninterrupted run.
  std::ifstream m(out + "/split/metrics.jsonl");
  std::multiset<int> steps;
  for (std::string line; std::getline(m, line);)
    if (line.find("\"split\":\"train\"") != std::string::npos) steps.insert(std::stoi(line.substr(line.find(':') + 1)));
  for (int s : {2, 4, 6}) EXPECT_EQ(steps.count(s), 1u) << "step " << s;
  for (int s : steps) EXPECT_EQ(steps.count(s), 1u) << "step " << s << " logged twice";
}

TEST(AudioPretrain, DataParallelRequestsFailClearlyWithoutGpus) {
  Rng rng(test::test_seed());
  Fixture fx(rng, 300);
  // More than one GPU needs CUDA: on a CPU run (CPU build, or no GPU visible) a one-line error, nothing
  // launched and no run folder written.
  const std::string e = error_of([&] {
    run_audio_pretrain(request(fx.root, fx.dir + "/dp", {"train.gpus=2", "train.device=cpu"}));
  });
  EXPECT_NE(e.find("train.gpus = 2 needs CUDA"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(fx.dir + "/dp"));
  const std::string zero = error_of([&] { run_audio_pretrain(request(fx.root, fx.dir + "/dp0", {"train.gpus=0"})); });
  EXPECT_NE(zero.find("train.gpus"), std::string::npos) << zero;
  // A worker whose group size disagrees with the config refuses to start.
  setenv("MAMBASEQ_DP_RANK", "0", 1);
  setenv("MAMBASEQ_DP_WORLD", "1", 1);
  const std::string mismatch =
      error_of([&] { run_audio_pretrain(request(fx.root, fx.dir + "/dp1", {"train.gpus=1", "train.device=cpu"})); });
  setenv("MAMBASEQ_DP_WORLD", "3", 1);
  const std::string bad_rank = error_of([&] { run_audio_pretrain(request(fx.root, fx.dir + "/dp3")); });
  unsetenv("MAMBASEQ_DP_RANK");
  unsetenv("MAMBASEQ_DP_WORLD");
  EXPECT_EQ(mismatch, "");  // a group of one is a plain run
  EXPECT_NE(bad_rank.find("MAMBASEQ_DP_ID_FILE"), std::string::npos) << bad_rank;
  // The workers' command line is the request as `mambaseq pretrain` flags, with the run folder.
  RunRequest r;
  r.config_path = "configs/piano_unet.toml";
  r.sets = {"train.gpus=4", "data.window=131072"};
  r.resume = true;
  std::vector<std::string> cmd = audio_pretrain_worker_command(r, "runs/x");
  ASSERT_FALSE(cmd.empty());
  cmd.erase(cmd.begin());  // argv[0]: this binary
  EXPECT_EQ(cmd, (std::vector<std::string>{"pretrain", "-c", "configs/piano_unet.toml", "--set", "train.gpus=4", "--set",
                                           "data.window=131072", "--resume", "--out", "runs/x"}));
}

TEST(AudioPretrain, WindowWarmupKeepsTokensPerStepAndResumesExactly) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  const std::string out = fx.dir;
  // window 64, warmup 16 -> 32 -> 64 every 2 steps: rows 8, 4, 2 (batch_size 2 x 64 tokens per step).
  const std::vector<std::string> warm{"data.warmup_start=16", "data.warmup_stage_steps=2"};
  RunRequest r = request(fx.root, out + "/full", warm);
  const AudioPretrainConfig cfg = load_audio_config(r);
  const SeqLenSchedule sched = audio_window_schedule(cfg.data);
  const int64_t want[6] = {16, 16, 32, 32, 64, 64};
  for (int64_t step = 0; step < 6; ++step) {
    EXPECT_EQ(seq_len_at(sched, step), want[step]) << "step " << step;
    EXPECT_EQ(audio_rows_at(cfg.data, 2, want[step]) * want[step], 2 * 64) << "step " << step;
  }
  AudioPretrainResult full = run_audio_pretrain(r);
  ASSERT_EQ(full.train_losses.size(), 6u);
  // Not the run without warmup (whose first steps see 64-token windows).
  AudioPretrainResult plain = run_audio_pretrain(request(fx.root, out + "/plain"));
  EXPECT_NE(full.train_losses[0], plain.train_losses[0]);
  // Stopped inside the warmup (after step 3, window 32) and resumed: the same losses.
  std::vector<std::string> stop = warm;
  stop.push_back("train.stop_after=3");
  AudioPretrainResult first = run_audio_pretrain(request(fx.root, out + "/split", stop));
  AudioPretrainResult second = run_audio_pretrain(request(fx.root, out + "/split", warm, /*resume=*/true));
  ASSERT_EQ(first.train_losses.size(), 3u);
  ASSERT_EQ(second.train_losses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(first.train_losses[i], full.train_losses[i]) << "step " << i + 1;
    EXPECT_EQ(second.train_losses[i], full.train_losses[3 + i]) << "step " << 4 + i;
  }
}

TEST(AudioPretrain, HeldOutScoresEveryValidSampleOnceAndLossFalls) {
  Rng rng(test::test_seed());
  Fixture fx(rng, 2000);
  AudioPretrainResult r =
      run_audio_pretrain(request(fx.root, fx.dir + "/run", {"train.steps=40", "train.batch_size=4"}));
  ASSERT_EQ(r.evals.size(), 1u);
  // Two valid files of 1007 samples: every sample is a target once (the start token is never one).
  EXPECT_EQ(r.evals[0].targets, 2 * 1007);
  EXPECT_NEAR(r.evals[0].bits_per_sample, r.evals[0].loss / std::log(2.0), 1e-12);
  double early = 0, late = 0;
  for (int i = 0; i < 5; ++i) early += r.train_losses[static_cast<size_t>(i)], late += r.train_losses[35 + static_cast<size_t>(i)];
  EXPECT_LT(late, early - 0.5) << "the tones should be learnable: loss " << early / 5 << " -> " << late / 5;
  EXPECT_LT(r.evals[0].bits_per_sample, 8.0);  // better than uniform over 256 tokens
}

TEST(AudioPretrain, HeldOutWindowsCoverTheSpanOnce) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  test::write_music(dir, 3, 1000 + static_cast<int64_t>(rng.next_u64() % 500), 16000, rng);
  AudioDatasetOptions o;
  o.window = 48;
  AudioDataset ds(list_audio_files(dir), o);
  for (int64_t span : {int64_t{0}, int64_t{300}, int64_t{5000}}) {
    std::vector<std::set<int64_t>> seen(static_cast<size_t>(ds.num_files()));
    for (const AudioWindow& w : heldout_windows(ds, span)) {
      ASSERT_LE(w.length, 49);
      for (int64_t k = 1; k < w.length; ++k)
        EXPECT_TRUE(seen[static_cast<size_t>(w.file)].insert(w.offset + k).second) << "target scored twice";
    }
    for (int64_t f = 0; f < ds.num_files(); ++f) {
      const int64_t samples = ds.stream_length(f) - 1;
      const int64_t want = span > 0 ? std::min(span, samples) : samples;
      EXPECT_EQ(static_cast<int64_t>(seen[static_cast<size_t>(f)].size()), want) << "span " << span;
    }
  }
}

// Held-out rows are cut to the batch's longest window (a short span costs its own length): the losses are
// those of rows padded to the full training window, since the model is causal.
TEST(AudioPretrain, ShortHeldOutSpansCostTheirLengthAndScoreTheSame) {
  Rng rng(test::test_seed());
  Fixture fx(rng, 900);
  const AudioPretrainConfig cfg = cfg::parse<AudioPretrainConfig>("domain = \"audio\"\n", "(test)", test::tiny_pretrain_sets(fx.root));
  const AudioModel model = make_audio_model(cfg.model, 256, Device::cpu);
  AudioDatasetOptions o;
  o.window = 64;
  AudioDataset ds(list_audio_files(fx.root + "/valid"), o);
  for (int64_t span : {int64_t{10}, int64_t{37}, int64_t{0}}) {
    const std::vector<AudioWindow> windows = heldout_windows(ds, span);
    const AudioEval e = evaluate_audio(model, ds, windows, 2, 0, "valid");
    double loss_sum = 0;
    int64_t n = 0;
    for (size_t first = 0; first < windows.size(); first += 2) {
      const std::vector<AudioWindow> rows(windows.begin() + static_cast<std::ptrdiff_t>(first),
                                          windows.begin() + static_cast<std::ptrdiff_t>(std::min(windows.size(), first + 2)));
      const AudioBatch full = ds.make_batch(rows);  // rows of the whole window, 65 tokens
      ASSERT_EQ(full.tokens.size(1), 65);
      const TokenBatch tb = window_inputs_targets(full);
      const LossResult r = audio_loss(model, tb.inputs, tb.targets);
      loss_sum += r.loss_sum;
      n += r.n_valid;
    }
    EXPECT_EQ(e.targets, n) << "span " << span;
    EXPECT_NEAR(e.loss, loss_sum / static_cast<double>(n), 1e-6 * std::abs(e.loss)) << "span " << span;
  }
  EXPECT_THROW(ds.make_batch(heldout_windows(ds, 10), 66), Error);  // wider than the training row
}

TEST(AudioPretrain, MambaLmKindTrainsAndResumes) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  const std::string out = fx.dir;
  auto sets = [](std::vector<std::string> extra) {
    std::vector<std::string> s{"model.kind=lm", "model.n_layer=2", "data.window=50"};
    s.insert(s.end(), extra.begin(), extra.end());
    return s;
  };
  AudioPretrainResult full = run_audio_pretrain(request(fx.root, out + "/full", sets({})));
  run_audio_pretrain(request(fx.root, out + "/split", sets({"train.stop_after=4"})));
  AudioPretrainResult rest = run_audio_pretrain(request(fx.root, out + "/split", sets({}), true));
  ASSERT_EQ(rest.train_losses.size(), 2u);
  EXPECT_EQ(rest.train_losses[1], full.train_losses[5]);
  EXPECT_NE(full.model_describe.find("MambaLM"), std::string::npos);
}

TEST(AudioPretrain, BadInputsGiveOneLineErrors) {
  Rng rng(test::test_seed());
  Fixture fx(rng);
  const std::string out = fx.dir;
  // Window not a multiple of the pooling.
  std::string e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/a", {"data.window=63"})); });
  EXPECT_NE(e.find("data.window = 63 must be a multiple of 4"), std::string::npos) << e;
  // A warmup that cannot work: not a multiple of the pooling, longer than the window, no stage length.
  e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/a", {"data.warmup_start=30", "data.warmup_stage_steps=2"})); });
  EXPECT_NE(e.find("data.warmup_start = 30 must be a multiple of 4"), std::string::npos) << e;
  e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/a", {"data.warmup_start=128", "data.warmup_stage_steps=2"})); });
  EXPECT_NE(e.find("data.warmup_start = 128 is longer than data.window = 64"), std::string::npos) << e;
  e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/a", {"data.warmup_start=16"})); });
  EXPECT_NE(e.find("needs data.warmup_stage_steps >= 1"), std::string::npos) << e;
  // Missing data folder.
  e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/b", {"data.train=" + out + "/nowhere"})); });
  EXPECT_NE(e.find("no such folder"), std::string::npos) << e;
  // A file at 8 kHz with resampling off.
  write_wav16(fx.root + "/valid/slow.wav", test::tone(440, 800, 8000, rng), 8000);
  e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/c", {"data.resample=false"})); });
  EXPECT_NE(e.find("slow.wav: sample rate is 8000 Hz, expected 16000 Hz, and resampling is turned off"), std::string::npos) << e;
  std::filesystem::remove(fx.root + "/valid/slow.wav");
  // An unsupported format.
  std::ofstream(fx.root + "/train/notes.wav") << "these are not audio samples, just text\n";
  e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/d")); });
  EXPECT_NE(e.find("notes.wav: unsupported format"), std::string::npos) << e;
  std::filesystem::remove(fx.root + "/train/notes.wav");
  // Resuming with another model shape names the tensor.
  run_audio_pretrain(request(fx.root, out + "/e", {"train.steps=2"}));
  e = error_of([&] { run_audio_pretrain(request(fx.root, out + "/e", {"train.steps=4", "model.d_model=12"}, true)); });
  EXPECT_NE(e.find("the model expects"), std::string::npos) << e;
  for (const std::string& msg : {e}) EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(AudioPretrain, IsAudioConfigReadsTheDomainKey) {
  const std::string dir = test::temp_dir();
  std::ofstream(dir + "/a.toml") << "domain = \"audio\"\nname = \"x\"\n[data]\nwindow = 64\n";
  std::ofstream(dir + "/b.toml") << "name = \"dna\"\n[data]\ndomain = \"audio\"\n";
  std::ofstream(dir + "/c.toml") << "domain = \"audio\n";  // syntax error
  EXPECT_TRUE(is_audio_config(dir + "/a.toml"));
  EXPECT_FALSE(is_audio_config(dir + "/b.toml"));
  EXPECT_FALSE(is_audio_config(dir + "/c.toml"));
  EXPECT_FALSE(is_audio_config(dir + "/missing.toml"));
  for (const char* f : {"piano_unet_small.toml", "piano_unet.toml", "digits_unet_small.toml", "digits_classifier.toml"})
    EXPECT_TRUE(is_audio_config(test::source_dir() + "/configs/" + f)) << f;
}

}  // namespace
}  // namespace ms
