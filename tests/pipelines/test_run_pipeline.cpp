// `mambaseq run FILE`: stages run in order in their own folders, ${NAME} passes an earlier stage's folder,
// --resume skips finished stages, and a bad pipeline file or a failing stage is one line naming it.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/pipelines/cli_runner.h"
#include "tests/pipelines/test_audio_fixtures.h"

namespace ms {
namespace {

int count_lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// A pretrain stage (tiny audio UNet) and an eval stage of its checkpoint.
std::string two_stage_pipeline(const std::string& dir, const std::string& eval_ckpt = "${train}/last.h5") {
  std::ofstream(dir + "/audio.toml") << "domain = \"audio\"\n";
  std::ostringstream f;
  f << "name = \"tiny_pipeline\"\n[[stage]]\nname = \"train\"\ncommand = \"pretrain\"\nconfig = \"" << dir
    << "/audio.toml\"\nset = [";
  for (const std::string& s : test::tiny_pretrain_sets(dir + "/data")) f << "\"" << s << "\", ";
  f << "]\n[[stage]]\ncommand = \"eval\"\nckpt = \"" << eval_ckpt << "\"\n";
  const std::string path = dir + "/pipeline.toml";
  std::ofstream(path) << f.str();
  return path;
}

TEST(RunPipeline, StagesRunInOrderAndResumeSkipsFinishedOnes) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  test::write_music(dir + "/data/train", 2, 400, 16000, rng);
  test::write_music(dir + "/data/valid", 1, 300, 16000, rng);
  const std::string file = two_stage_pipeline(dir);
  test::CliResult r = test::run_mambaseq({"run", file, "--out", dir + "/p"}, 120, dir);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("[stage 1/2] pretrain train"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[stage 2/2] eval 2_eval"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/p/train/last.h5"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/p/2_eval/metrics.jsonl"));  // the eval stage read ${train}'s checkpoint
  EXPECT_TRUE(std::filesystem::exists(dir + "/p/train/stage_done"));
  const std::string summary = test::slurp(dir + "/p/pipeline.tsv");
  EXPECT_EQ(count_lines(summary), 3) << summary;
  EXPECT_NE(summary.find("train\tpretrain\tdone\t"), std::string::npos) << summary;
  EXPECT_NE(summary.find("2_eval\teval\tdone\t"), std::string::npos) << summary;

  // --resume: both stages are done; nothing runs again (the checkpoint is untouched).
  const auto stamp = std::filesystem::last_write_time(dir + "/p/train/last.h5");
  test::CliResult again = test::run_mambaseq({"run", file, "--out", dir + "/p", "--resume"}, 60, dir);
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("[stage 1/2] pretrain train: done earlier"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("[stage 2/2] eval 2_eval: done earlier"), std::string::npos) << again.out;
  EXPECT_EQ(std::filesystem::last_write_time(dir + "/p/train/last.h5"), stamp);

  // An unfinished eval stage runs again under --resume while the finished pretrain stage is skipped.
  std::filesystem::remove(dir + "/p/2_eval/stage_done");
  test::CliResult partial = test::run_mambaseq({"run", file, "--out", dir + "/p", "--resume"}, 60, dir);
  ASSERT_EQ(partial.status, 0) << partial.err;
  EXPECT_NE(partial.out.find("[stage 2/2] eval 2_eval -> "), std::string::npos) << partial.out;
  EXPECT_EQ(std::filesystem::last_write_time(dir + "/p/train/last.h5"), stamp);
}

TEST(RunPipeline, BadFilesAndFailingStagesAreOneLineErrors) {
  Rng rng(test::test_seed());
  const std::string dir = test::temp_dir();
  test::write_music(dir + "/data/train", 2, 400, 16000, rng);
  test::write_music(dir + "/data/valid", 1, 300, 16000, rng);
  auto expect_error = [&](const std::string& text, std::vector<std::string> parts) {
    const std::string path = dir + "/bad.toml";
    std::ofstream(path) << text;
    test::CliResult r = test::run_mambaseq({"run", path, "--out", dir + "/bad"}, 60, dir);
    EXPECT_EQ(r.status, 1) << text;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    for (const std::string& p : parts) EXPECT_NE(r.err.find(p), std::string::npos) << p << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/bad/pipeline.tsv")) << "nothing may run: " << text;
  };
  expect_error("name = \"x\"\n", {"bad.toml", "no [[stage]]"});
  expect_error("[[stage]]\ncommand = \"train\"\nconfig = \"c.toml\"\n", {"bad.toml", "stage.0.command", "pretrain"});
  expect_error("[[stage]]\ncommand = \"pretrain\"\nconfig = \"" + dir + "/none.toml\"\n", {"stage 1", "none.toml"});
  expect_error("[[stage]]\ncommand = \"eval\"\nckpt = \"${later}/last.h5\"\n", {"stage 1", "${later}", "no earlier stage"});
  expect_error("[[stage]]\ncommand = \"eval\"\nckpt = \"" + dir + "/none.h5\"\n", {"stage 1", "none.h5"});
  expect_error("[[stage]]\ncommand = \"pretrain\"\nconfig = \"" + dir + "/data\"\nsteps = 3\n", {"bad.toml", "steps"});
  // A stage config's bad key fails before any stage runs, not when its stage starts.
  std::ofstream(dir + "/audio.toml") << "domain = \"audio\"\n";
  expect_error("[[stage]]\ncommand = \"pretrain\"\nconfig = \"" + dir + "/audio.toml\"\nset = [\"train.stepz=3\"]\n",
               {"stage 1", "train.stepz", "train.steps"});

  // A stage that fails at run time stops the pipeline with its error; pipeline.tsv says which.
  std::ofstream(dir + "/broken.h5") << "not an HDF5 file";
  const std::string file = two_stage_pipeline(dir, dir + "/broken.h5");
  test::CliResult r = test::run_mambaseq({"run", file, "--out", dir + "/p"}, 120, dir);
  EXPECT_EQ(r.status, 1);
  // stderr also holds the first stage's progress lines; the error is its one last line.
  const size_t at = r.err.find("mambaseq: error: ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const std::string error = r.err.substr(at);
  EXPECT_EQ(count_lines(error), 1) << r.err;
  for (const char* part : {"stage 2/2", "2_eval", "failed", "broken.h5"}) EXPECT_NE(error.find(part), std::string::npos) << part << ": " << error;
  const std::string summary = test::slurp(dir + "/p/pipeline.tsv");
  EXPECT_NE(summary.find("train\tpretrain\tdone"), std::string::npos) << summary;
  EXPECT_NE(summary.find("2_eval\teval\tfailed"), std::string::npos) << summary;
}

// The shipped pipeline files pass every check (commands, configs and their --set values) and print the
// command line of each stage. Run from a copy of configs/, as their paths are relative to the repository.
TEST(RunPipeline, ShippedPipelinesCheckCleanly) {
  const std::string dir = test::temp_dir();
  std::filesystem::copy(test::source_dir() + "/configs", dir + "/configs", std::filesystem::copy_options::recursive);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/configs/pipelines")) {
    if (e.path().extension() != ".toml") continue;
    ++files;
    test::CliResult r = test::run_mambaseq({"run", "configs/pipelines/" + e.path().filename().string(), "--dry-run"}, 60, dir);
    EXPECT_EQ(r.status, 0) << e.path() << ": " << r.err;
    EXPECT_NE(r.out.find("[stage 1/"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("dry run"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir + "/runs")) << "a dry run writes nothing";
  }
  EXPECT_GE(files, 3);
}

// Every shipped config parses with its command's config type (unknown keys, wrong types and ranges
// would fail): one dry-run pipeline with a stage per config. A config added without a line here fails.
TEST(RunPipeline, EveryShippedConfigParsesForItsCommand) {
  const std::map<std::string, std::string> command_of = {
      {"digits_classifier.toml", "finetune"}, {"digits_classifier_small.toml", "finetune"},
      {"digits_unet.toml", "pretrain"},       {"digits_unet_small.toml", "pretrain"},
      {"dna_pretrain.toml", "pretrain"},      {"dna_pretrain_saureus.toml", "pretrain"},
      {"dna_pretrain_small.toml", "pretrain"}, {"induction_heads.toml", "synth"},
      {"piano_unet.toml", "pretrain"},        {"piano_unet_small.toml", "pretrain"},
      {"selective_copying.toml", "synth"},    {"selective_copying_cpu.toml", "synth"},
      {"species_classify.toml", "finetune"},  {"strain_classify.toml", "finetune"}};
  const std::string dir = test::temp_dir();
  std::filesystem::copy(test::source_dir() + "/configs", dir + "/configs", std::filesystem::copy_options::recursive);
  std::ostringstream f;
  int stages = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/configs")) {
    if (e.path().extension() != ".toml") continue;
    const std::string name = e.path().filename().string();
    auto it = command_of.find(name);
    ASSERT_NE(it, command_of.end()) << "configs/" << name << ": add its command to this test";
    f << "[[stage]]\nname = \"" << e.path().stem().string() << "\"\ncommand = \"" << it->second
      << "\"\nconfig = \"configs/" << name << "\"\n";
    ++stages;
  }
  EXPECT_EQ(stages, static_cast<int>(command_of.size()));
  std::ofstream(dir + "/all.toml") << f.str();
  test::CliResult r = test::run_mambaseq({"run", "all.toml", "--dry-run"}, 60, dir);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("[stage " + std::to_string(stages) + "/" + std::to_string(stages) + "]"), std::string::npos) << r.out;
  // The check is real: the same pipeline with a misspelt key in every stage fails on the first stage.
  test::CliResult bad = test::run_mambaseq({"run", "all.toml", "--dry-run", "--set", "train.stepz=1"}, 60, dir);
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("train.stepz"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ms
