// End-to-end training through the synth pipeline: an interrupted run resumed from its checkpoint gives the
// same losses and parameters as an uninterrupted one (bit for bit, on the CPU).
#include <filesystem>

#include "io/checkpoint.h"
#include "pipelines/synthetic.h"
#include "tests/test_util.h"

namespace ms {
namespace {

std::vector<std::string> tiny_config() {
  return {"task.kind=induction_heads", "task.train_length=32", "task.eval_lengths=[32]", "task.eval_tokens=256",
          "model.d_model=16", "model.n_layer=2", "model.d_state=4", "train.steps=20", "train.batch_size=4",
          "train.log_every=5", "train.ckpt_every=5", "optim.warmup=3", "train.device=cpu", "train.threads=2"};
}

RunRequest request(const std::string& dir, std::vector<std::string> extra, bool resume = false) {
  RunRequest r;
  r.sets = tiny_config();
  r.sets.insert(r.sets.end(), extra.begin(), extra.end());
  r.out = dir;
  r.resume = resume;
  r.quiet = true;
  return r;
}

TEST(SynthResume, StopAndResumeEqualsUninterruptedRun) {
  const std::string root = test::temp_dir();
  SynthResult full = run_synth(request(root + "/full", {}));
  ASSERT_EQ(full.train_losses.size(), 20u);

  SynthResult first = run_synth(request(root + "/split", {"train.stop_after=10"}));
  ASSERT_EQ(first.train_losses.size(), 10u);
  SynthResult second = run_synth(request(root + "/split", {}, /*resume=*/true));
  ASSERT_EQ(second.train_losses.size(), 10u);

  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(first.train_losses[i], full.train_losses[i]) << "step " << i + 1;
    EXPECT_EQ(second.train_losses[i], full.train_losses[10 + i]) << "step " << 11 + i;
  }
  Checkpoint a = read_checkpoint(root + "/full/last.h5"), b = read_checkpoint(root + "/split/last.h5");
  EXPECT_EQ(a.step, 20);
  EXPECT_EQ(b.step, 20);
  ASSERT_EQ(a.params.size(), b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i) {
    EXPECT_EQ(a.params[i].first, b.params[i].first);
    EXPECT_EQ(test::rel_l2_error(a.params[i].second, b.params[i].second), 0.0) << a.params[i].first;
  }
  for (size_t i = 0; i < a.optim.size(); ++i)
    EXPECT_EQ(test::rel_l2_error(a.optim[i].second, b.optim[i].second), 0.0) << a.optim[i].first;
  // The training loss fell over the 20 steps (the run does learn something).
  EXPECT_LT(full.train_losses.back(), full.train_losses.front());
}

TEST(SynthResume, FreshRunRefusesAFolderWithACheckpoint) {
  const std::string dir = test::temp_dir() + "/run";
  run_synth(request(dir, {"train.steps=2"}));
  EXPECT_THROW(run_synth(request(dir, {"train.steps=2"})), Error);
}

TEST(SynthResume, CheckpointOfAnotherModelShapeIsRefusedWithItsName) {
  const std::string dir = test::temp_dir() + "/run";
  run_synth(request(dir, {"train.steps=2"}));
  try {
    run_synth(request(dir, {"train.steps=4", "model.d_model=24"}, /*resume=*/true));
    FAIL() << "resuming with another d_model should fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expects"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("backbone."), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ms
