// End-to-end training through the synth pipeline: an interrupted run resumed from its checkpoint gives the
// same losses and parameters as an uninterrupted one (bit for bit, on the CPU).
#include <filesystem>
#include <fstream>
#include <map>

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

// task.periodic_eval_lengths: the evaluations during training cover those lengths, the final one eval_lengths.
TEST(SynthResume, PeriodicEvaluationsUseTheirOwnLengths) {
  const std::string dir = test::temp_dir() + "/run";
  run_synth(request(dir, {"train.steps=4", "train.eval_every=2", "task.periodic_eval_lengths=[16,48]",
                          "task.eval_lengths=[32,64]"}));
  std::ifstream in(dir + "/metrics.jsonl");
  std::map<int, std::vector<int>> lengths_at_step;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"split\":\"eval\"") == std::string::npos) continue;
    const auto num = [&](const std::string& key) {
      const size_t at = line.find("\"" + key + "\":");
      return at == std::string::npos ? -1 : std::stoi(line.substr(at + key.size() + 3));
    };
    lengths_at_step[num("step")].push_back(num("length"));
  }
  EXPECT_EQ(lengths_at_step[2], (std::vector<int>{16, 48}));
  EXPECT_EQ(lengths_at_step[4], (std::vector<int>{32, 64}));
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

// The length curriculum is a function of the step: a run resumed mid-curriculum continues bit for bit, and
// the curriculum does change the batches (the losses differ from a run without it).
TEST(SynthResume, LengthCurriculumResumesExactlyAndChangesTheBatches) {
  const std::string root = test::temp_dir();
  const std::vector<std::string> curriculum{"task.warmup_length=8", "task.warmup_stage_steps=3"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), curriculum.begin(), curriculum.end());
    return extra;
  };
  SynthResult full = run_synth(request(root + "/full", with({})));
  SynthResult first = run_synth(request(root + "/split", with({"train.stop_after=7"})));
  SynthResult second = run_synth(request(root + "/split", with({}), /*resume=*/true));
  ASSERT_EQ(full.train_losses.size(), 20u);
  ASSERT_EQ(first.train_losses.size() + second.train_losses.size(), 20u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(first.train_losses[i], full.train_losses[i]) << "step " << i + 1;
  for (size_t i = 0; i < 13; ++i) EXPECT_EQ(second.train_losses[i], full.train_losses[7 + i]) << "step " << 8 + i;
  SynthResult plain = run_synth(request(root + "/plain", {}));
  EXPECT_NE(plain.train_losses[0], full.train_losses[0]);
  EXPECT_EQ(plain.train_losses.size(), full.train_losses.size());
}

TEST(SynthResume, BadCurriculumIsAnErrorNamingTheKey) {
  const std::string root = test::temp_dir();
  for (const auto& sets : std::vector<std::vector<std::string>>{
           {"task.warmup_length=64"},                                   // longer than train_length 32
           {"task.warmup_length=8"},                                    // no stage steps
           {"task.warmup_length=4", "task.warmup_stage_steps=2", "task.kind=selective_copying",
            "task.n_memorize=4", "task.train_length=32", "task.eval_lengths=[32]"}}) {  // shorter than 2 x n_memorize
    std::vector<std::string> all = sets;
    if (sets.size() == 1 && sets[0] == "task.warmup_length=64") all.push_back("task.warmup_stage_steps=2");
    try {
      run_synth(request(root + "/bad" + std::to_string(all.size()), all));
      FAIL() << "should fail: " << all[0];
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("task.warmup"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace ms
