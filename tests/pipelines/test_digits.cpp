// The digit-classifier pipeline on tiny fixtures: three "digits" that are tones of distinct pitch,
// <split>/<class>/*.wav as scripts/prepare-audio.sh lays out the spoken digits. A tiny UNet classifier
// must separate the held-out clips, write its confusion tables, resume exactly, and score clips.
#include <filesystem>
#include <fstream>

#include "io/checkpoint.h"
#include "pipelines/digits.h"
#include "tests/pipelines/test_audio_fixtures.h"

namespace ms {
namespace {

const std::vector<std::pair<std::string, double>> kClasses = {{"low", 300}, {"mid", 1200}, {"high", 4000}};
constexpr int64_t kClip = 512;

RunRequest classifier_request(const std::string& dir, std::vector<std::string> extra = {}, bool resume = false) {
  RunRequest r;
  r.sets = {"name=tiny_digits",
            "data.train=" + dir + "/data/train",
            "data.valid=" + dir + "/data/valid",
            "data.test=" + dir + "/data/test",
            "data.test_speakers=" + dir + "/data/test",
            "data.real_test=",
            "data.window=" + std::to_string(kClip),
            "data.eval_batch=8",
            "data.shift=64",
            "data.gain_db=6",
            "data.speed=0.1",
            "model.d_model=16",
            "model.n_layer=1",
            "model.d_state=4",
            "model.pool=[4, 4]",
            "train.steps=200",
            "train.batch_size=8",
            "train.log_every=10",
            "train.eval_every=0",
            "train.ckpt_every=20",
            "train.device=cpu",
            "train.threads=2",
            "optim.warmup=5",
            "optim.lr=1e-2"};
  r.sets.insert(r.sets.end(), extra.begin(), extra.end());
  r.out = dir + "/run";
  r.resume = resume;
  r.quiet = true;
  return r;
}

void write_splits(const std::string& dir, Rng& rng) {
  test::write_tone_classes(dir + "/data/train", kClasses, 30, kClip, 16000, rng);
  test::write_tone_classes(dir + "/data/valid", kClasses, 3, kClip, 16000, rng);
  test::write_tone_classes(dir + "/data/test", kClasses, 3, kClip, 16000, rng);
}

TEST(Digits, TinyClassifierSeparatesHeldOutTonesAndScoresClips) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  write_splits(dir, rng);
  DigitsResult r = run_digit_classifier(classifier_request(dir));
  ASSERT_EQ(r.classes.size(), 3u);
  ASSERT_EQ(r.evals.size(), 3u);  // valid, test, test_speakers (no real_test)
  EXPECT_EQ(r.evals[2].split, "test_speakers");
  for (const ClassifierEval& e : r.evals) {
    EXPECT_EQ(e.n, 9) << e.split;
    EXPECT_GE(e.accuracy, 8.0 / 9.0) << e.split << " (chance is 1/3)";
    int64_t total = 0;
    for (const auto& row : e.confusion)
      for (int64_t c : row) total += c;
    EXPECT_EQ(total, e.n) << e.split;
  }
  EXPECT_LT(r.train_losses.back(), r.train_losses.front());
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/confusion_test.tsv"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/per_class.tsv"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/run/per_group.tsv"));
  for (const ClassifierEval& e : r.evals) {  // fixture files c<i>.wav: one group per file index
    int64_t clips = 0, correct = 0;
    for (const auto& [g, nc] : e.groups) {
      clips += nc.first;
      correct += nc.second;
    }
    EXPECT_EQ(e.groups.size(), 3u) << e.split;
    EXPECT_EQ(clips, e.n) << e.split;
    EXPECT_EQ(correct, e.correct) << e.split;
  }

  // `mambaseq eval` of the checkpoint (its own config) repeats the final evaluation exactly.
  RunRequest ev;
  ev.ckpt = dir + "/run/last.h5";
  ev.out = dir + "/eval";
  ev.quiet = true;
  const std::vector<ClassifierEval> again = eval_digit_classifier(ev);
  ASSERT_EQ(again.size(), r.evals.size());
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].split, r.evals[i].split);
    EXPECT_EQ(again[i].n, r.evals[i].n) << again[i].split;
    EXPECT_EQ(again[i].correct, r.evals[i].correct) << again[i].split;
    EXPECT_NEAR(again[i].loss, r.evals[i].loss, 1e-9 * std::max(1.0, r.evals[i].loss)) << again[i].split;
    EXPECT_EQ(again[i].confusion, r.evals[i].confusion) << again[i].split;
    EXPECT_EQ(again[i].groups, r.evals[i].groups) << again[i].split;
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/eval/per_group.tsv"));

  // Scoring: fresh tones of each class are classified as that class with confidence; a batch of one
  // class has low class entropy, a balanced batch close to log2(3).
  std::vector<std::vector<float>> one_class, balanced;
  std::vector<int> want;
  for (int i = 0; i < 6; ++i) {
    one_class.push_back(test::tone(kClasses[1].second, kClip, 16000, rng));
    const size_t c = static_cast<size_t>(i % 3);
    balanced.push_back(test::tone(kClasses[c].second, kClip, 16000, rng));
    want.push_back(static_cast<int>(std::find(r.classes.begin(), r.classes.end(), kClasses[c].first) - r.classes.begin()));
  }
  const std::string ckpt = dir + "/run/last.h5";
  DigitScores a = score_generated_digits(ckpt, one_class, 16000), b = score_generated_digits(ckpt, balanced, 16000);
  EXPECT_EQ(b.predicted, want);
  EXPECT_GE(b.confident_share, 5.0 / 6.0);
  EXPECT_LT(a.argmax_entropy, 0.7);
  EXPECT_GT(b.argmax_entropy, 1.5);
  EXPECT_LE(b.class_entropy, std::log2(3.0) + 1e-9);
  EXPECT_LT(a.class_entropy, b.class_entropy);
  // Clips at another rate are resampled to the classifier's.
  std::vector<std::vector<float>> at8k{test::tone(kClasses[0].second, kClip / 2, 8000, rng)};
  EXPECT_EQ(score_generated_digits(ckpt, at8k, 8000).n, 1);
}

// The clip input with its augmentations, through an identity "quantization" table (token = 16-bit sample).
TEST(Digits, ClipTokensShiftScaleAndChangeSpeed) {
  std::vector<int32_t> identity(65536);
  for (int i = 0; i < 65536; ++i) identity[static_cast<size_t>(i)] = i - 32768;
  const std::vector<int16_t> pcm = {100, 200, -300, 400, 1000, -32000, 7, 8};
  const int32_t silence = 12345;
  std::vector<int32_t> out(10);
  digit_clip_tokens(pcm, 10, 2, 1.0, 1.0, identity, silence, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{silence, silence, 100, 200, -300, 400, 1000, -32000, 7, 8}));
  digit_clip_tokens(pcm, 4, 0, 2.0, 1.0, identity, silence, out.data());  // gain clamps at 16 bits
  EXPECT_EQ(std::vector<int32_t>(out.begin(), out.begin() + 4), (std::vector<int32_t>{200, 400, -600, 800}));
  digit_clip_tokens(pcm, 5, 0, 1.0, 2.0, identity, silence, out.data());  // twice as fast: every other sample
  EXPECT_EQ(std::vector<int32_t>(out.begin(), out.begin() + 5), (std::vector<int32_t>{100, -300, 1000, 7, silence}));
  digit_clip_tokens(pcm, 5, 1, 1.0, 0.5, identity, silence, out.data());  // half speed: midpoints in between
  EXPECT_EQ(std::vector<int32_t>(out.begin(), out.begin() + 5), (std::vector<int32_t>{silence, 100, 150, 200, -50}));
  digit_clip_tokens(pcm, 2, 0, 4.0, 0.5, identity, silence, out.data());
  EXPECT_EQ(out[0], 400);
  std::vector<int16_t> loud = {-32000, -32000};
  digit_clip_tokens(loud, 2, 0, 2.0, 0.75, identity, silence, out.data());
  EXPECT_EQ(out[0], -32768);
  EXPECT_EQ(speaker_group("data/sc09/test/three/en-029_m3_t4.wav"), "en-029");
  EXPECT_EQ(speaker_group("x/csmash.wav"), "csmash.wav");
}

TEST(Digits, ResumeEqualsUninterruptedRunAndBadCheckpointsAreRefused) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  write_splits(dir, rng);
  DigitsResult full = run_digit_classifier(classifier_request(dir, {"train.steps=6", "name=full"}));
  RunRequest first = classifier_request(dir, {"train.steps=6", "train.stop_after=3"});
  first.out = dir + "/split";
  run_digit_classifier(first);
  RunRequest second = classifier_request(dir, {"train.steps=6"}, /*resume=*/true);
  second.out = dir + "/split";
  DigitsResult rest = run_digit_classifier(second);
  ASSERT_EQ(rest.train_losses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(rest.train_losses[i], full.train_losses[3 + i]) << "step " << 4 + i;

  // A checkpoint that is not a classifier's cannot score clips.
  std::string msg;
  try {
    score_generated_digits(dir + "/nope.h5", {std::vector<float>(kClip, 0.f)}, 16000);
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("nope.h5"), std::string::npos) << msg;
}

}  // namespace
}  // namespace ms
