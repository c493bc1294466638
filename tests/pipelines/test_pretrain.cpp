// DNA pretraining end to end on a tiny random genome: an interrupted run resumed from its checkpoint
// gives the losses and parameters of an uninterrupted one (sequence-length warmup and prefetch threads
// included), held-out figures are consistent with the Markov baseline's, and the CLI writes what it says.
#include <cmath>
#include <filesystem>

#include "io/checkpoint.h"
#include "io/metrics.h"
#include "pipelines/pretrain.h"
#include "tests/pipelines/cli_runner.h"
#include "tests/pipelines/test_dna_pipeline_util.h"

namespace ms {
namespace {

// Two contigs of a first-order chain (strongly predictable: about 1.36 bits per base).
std::string tiny_genome(const std::string& dir) {
  Rng rng(test::test_seed());
  return test::write_fasta(dir + "/genome.fa", {{"chr1", test::chain_bases(rng, 6000, 0.7)},
                                                {"chr2", test::chain_bases(rng, 3000, 0.7)}});
}

std::vector<std::string> tiny_sets(const std::string& fasta) {
  return {"data.fasta=[\"" + fasta + "\"]", "data.valid_fraction=0.2", "data.length=64", "data.warmup_start=16",
          "data.warmup_stage_steps=4", "data.batch_tokens=256", "data.prefetch_threads=2", "eval.length=128",
          "eval.batch=4", "eval.markov_orders=[1,2]", "model.d_model=16", "model.n_layer=2", "model.d_state=4",
          "train.steps=14", "train.log_every=2", "train.ckpt_every=3", "train.eval_every=7", "train.device=cpu",
          "train.threads=2", "optim.lr=5e-3", "optim.warmup=3"};
}

RunRequest request(const std::string& out, std::vector<std::string> sets, bool resume = false) {
  RunRequest r;
  r.sets = std::move(sets);
  r.out = out;
  r.resume = resume;
  r.quiet = true;
  return r;
}

TEST(Pretrain, StopAndResumeEqualsUninterruptedRun) {
  const std::string root = test::temp_dir();
  const auto sets = tiny_sets(tiny_genome(root));
  PretrainResult full = run_pretrain(request(root + "/full", sets));
  ASSERT_EQ(full.train_losses.size(), 14u);

  auto stop = sets;
  stop.push_back("train.stop_after=5");  // stops inside the second warmup stage, off the checkpoint grid
  PretrainResult first = run_pretrain(request(root + "/split", stop));
  ASSERT_EQ(first.train_losses.size(), 5u);
  EXPECT_FALSE(first.evaluated);
  PretrainResult second = run_pretrain(request(root + "/split", sets, /*resume=*/true));
  ASSERT_EQ(second.train_losses.size(), 9u);

  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(first.train_losses[i], full.train_losses[i]) << "step " << i + 1;
  for (size_t i = 0; i < 9; ++i) EXPECT_EQ(second.train_losses[i], full.train_losses[5 + i]) << "step " << i + 6;
  ASSERT_TRUE(full.evaluated && second.evaluated);
  EXPECT_EQ(second.eval.loss, full.eval.loss);

  const Checkpoint a = read_checkpoint(root + "/full/last.h5"), b = read_checkpoint(root + "/split/last.h5");
  ASSERT_EQ(a.params.size(), b.params.size());
  for (size_t i = 0; i < a.params.size(); ++i)
    EXPECT_EQ(test::rel_l2_error(a.params[i].second, b.params[i].second), 0.0) << a.params[i].first;
  // The held-out rows of the resumed run equal the uninterrupted run's (the stopped invocation also logs
  // a train row at its last step, so only the "valid" rows are compared).
  auto valid_rows = [](const std::string& path) {
    std::vector<MetricsRow> out;
    for (auto& r : read_metrics(path))
      if (r.split == "valid") out.push_back(r);
    return out;
  };
  const auto ma = valid_rows(root + "/full/metrics.jsonl"), mb = valid_rows(root + "/split/metrics.jsonl");
  ASSERT_EQ(ma.size(), 2u);  // step 7 and the final one
  ASSERT_EQ(mb.size(), 2u);
  for (size_t i = 0; i < ma.size(); ++i) {
    EXPECT_EQ(ma[i].step, mb[i].step);
    EXPECT_EQ(*ma[i].number("bits_per_base"), *mb[i].number("bits_per_base"));
  }
}

TEST(Pretrain, HeldOutFiguresAreConsistentAndBeatChanceOnALearnableGenome) {
  const std::string root = test::temp_dir();
  auto sets = tiny_sets(tiny_genome(root));
  sets.push_back("train.steps=60");
  sets.push_back("train.eval_every=0");
  PretrainResult r = run_pretrain(request(root + "/run", sets));
  ASSERT_TRUE(r.evaluated);
  // Every held-out base but the first of each held-out interval is scored exactly once (windows of 128
  // overlap by one base: the last target of one is the context of the next): 20% of 6000 and of 3000.
  EXPECT_EQ(r.eval.targets, (1200 - 1) + (600 - 1));
  EXPECT_NEAR(r.eval.bits(), r.eval.loss / std::log(2.0), 1e-12);
  EXPECT_NEAR(r.eval.perplexity(), std::exp2(r.eval.bits()), 1e-9);
  ASSERT_EQ(r.baselines.size(), 2u);
  for (const auto& b : r.baselines) EXPECT_EQ(b.targets, r.eval.targets) << b.name;  // the same bases
  // The chain is first order: order 1 and 2 both capture it, far below 2 bits; so does the model.
  EXPECT_LT(r.baselines[0].bits_per_base, 1.6);
  EXPECT_LT(r.eval.bits(), 1.9);
  EXPECT_LT(r.train_losses.back(), r.train_losses.front());
  // The final metrics row carries the figures.
  const auto rows = read_metrics(root + "/run/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().split, "valid");
  EXPECT_EQ(*rows.back().number("bits_per_base"), r.eval.bits());
  EXPECT_EQ(*rows.back().number("markov2_bits_per_base"), r.baselines[1].bits_per_base);
  EXPECT_TRUE(std::filesystem::exists(root + "/run/heldout.tsv"));

  // `eval` of the checkpoint reproduces the final evaluation exactly.
  RunRequest ev = request(root + "/eval", sets);
  ev.ckpt = root + "/run/last.h5";
  PretrainResult e = eval_pretrain(ev);
  EXPECT_EQ(e.eval.loss, r.eval.loss);
  EXPECT_EQ(e.steps_done, 60);
  EXPECT_EQ(e.baselines[0].bits_per_base, r.baselines[0].bits_per_base);
}

TEST(Pretrain, CliTrainsResumesAndEvaluates) {
  const std::string root = test::temp_dir();
  const std::string fasta = tiny_genome(root);
  test::write_text(root + "/tiny.toml", "name = \"tiny\"\n");
  std::vector<std::string> args{"pretrain", "-c", root + "/tiny.toml"};
  for (const auto& s : tiny_sets(fasta)) args.insert(args.end(), {"--set", s});
  auto with = [&](std::vector<std::string> more) {
    auto a = args;
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  auto r = test::run_cli(root, with({"--set", "train.stop_after=6", "--out", root + "/run"}), 120);
  ASSERT_EQ(r.status, 0) << r.err;
  r = test::run_cli(root, with({"--resume", "--out", root + "/run"}), 120);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("order-2 Markov"), std::string::npos) << r.out;
  EXPECT_EQ(read_checkpoint(root + "/run/last.h5").step, 14);
  r = test::run_cli(root, {"eval", "--ckpt", root + "/run/last.h5", "--out", root + "/ev"}, 120);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("bits/base"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(root + "/ev/heldout.tsv"));
}


TEST(Pretrain, BadInputsAreOneLineErrors) {
  const std::string root = test::temp_dir();
  const std::string fasta = tiny_genome(root);
  test::write_text(root + "/tiny.toml", "name = \"tiny\"\n");
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"pretrain", "-c", root + "/tiny.toml"};
    for (const auto& s : tiny_sets(fasta)) args.insert(args.end(), {"--set", s});
    for (const auto& s : extra) args.insert(args.end(), {"--set", s});
    args.insert(args.end(), {"--out", root + "/bad"});
    return test::run_cli(root, args);
  };
  test::expect_one_line_error(run({"data.fasta=[\"" + root + "/missing.fa\"]"}), "missing.fa' does not exist");
  test::expect_one_line_error(run({"data.fasta=[\"data/genomes/Nope/x.fa.gz\"]"}), "prepare-genomes.sh");
  // chr1 keeps 4800 training bases: no window of 8192 fits.
  test::expect_one_line_error(run({"data.length=8192", "data.warmup_start=0"}), "longer than every training interval");
  test::write_text(root + "/not.fa", "this is not a FASTA file\n");
  test::expect_one_line_error(run({"data.fasta=[\"" + root + "/not.fa\"]"}), "not.fa");
  test::expect_one_line_error(run({"data.valid_fraction=0", "eval.split=valid"}), "split is empty");
  EXPECT_FALSE(std::filesystem::exists(root + "/bad/last.h5"));
}

TEST(DnaData, FetchPrintsRegionsAsSamtools) {
  const std::string root = test::temp_dir();
  Rng rng(test::test_seed());
  const std::string seq = test::chain_bases(rng, 300, 0.4);
  const std::string fasta = test::write_fasta(root + "/g.fa", {{"chrA", seq}});
  auto r = test::run_cli(root, {"data", "fetch", fasta, "chrA:11-20", "chrA:1-70"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, ">chrA:11-20\n" + seq.substr(10, 10) + "\n>chrA:1-70\n" + seq.substr(0, 60) + "\n" +
                       seq.substr(60, 10) + "\n");
  test::expect_one_line_error(test::run_cli(root, {"data", "fetch", fasta, "chrB:1-10"}), "chrB");
}

}  // namespace
}  // namespace ms
