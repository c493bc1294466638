// DNA classification end to end: classes of different base composition, generated as FASTA files in the
// test, are told apart on held-out files after a few steps; the confusion matrix lands in the run folder;
// a pretrained backbone loads by name (and one of another shape is refused); length sweeps; bad configs.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/checkpoint.h"
#include "io/metrics.h"
#include "pipelines/finetune.h"
#include "pipelines/pretrain.h"
#include "tests/pipelines/cli_runner.h"
#include "tests/pipelines/test_dna_pipeline_util.h"

namespace ms {
namespace {

// Three classes: AT-rich, GC-rich, AC-rich; each a training file (two contigs) and a held-out file.
std::string write_classes_config(const std::string& dir) {
  Rng rng(test::test_seed());
  const std::array<std::array<double, 4>, 3> comp{{{0.4, 0.1, 0.1, 0.4}, {0.1, 0.4, 0.4, 0.1}, {0.4, 0.4, 0.1, 0.1}}};
  const char* names[] = {"at_rich", "gc_rich", "ac_rich"};
  std::string toml = "name = \"classes\"\n[data]\ntask = \"files\"\nheld_out = \"files\"\n";
  for (int c = 0; c < 3; ++c) {
    const std::string train = test::write_fasta(dir + "/" + names[c] + "_train.fa",
                                                {{std::string(names[c]) + "_a", test::composition_bases(rng, 3000, comp[c])},
                                                 {std::string(names[c]) + "_b", test::composition_bases(rng, 2000, comp[c])}});
    const std::string test_file =
        test::write_fasta(dir + "/" + names[c] + "_test.fa", {{std::string(names[c]) + "_t", test::composition_bases(rng, 1500, comp[c])}});
    toml += "[[data.class]]\nname = \"" + std::string(names[c]) + "\"\nfiles = [\"" + train + "\"]\ntest_files = [\"" +
            test_file + "\"]\n";
  }
  const std::string path = dir + "/classes.toml";
  test::write_text(path, toml);
  return path;
}

std::vector<std::string> tiny_sets() {
  return {"data.length=64", "data.prefetch_threads=1", "eval.samples=150", "eval.batch=25", "model.d_model=16",
          "model.n_layer=2", "model.d_state=4", "train.steps=40", "train.batch_size=8", "train.log_every=10",
          "train.ckpt_every=20", "train.device=cpu", "train.threads=2", "optim.lr=1e-2", "optim.warmup=5",
          "optim.weight_decay=0"};
}

RunRequest request(const std::string& config, const std::string& out, std::vector<std::string> extra = {}) {
  RunRequest r;
  r.config_path = config;
  r.sets = tiny_sets();
  r.sets.insert(r.sets.end(), extra.begin(), extra.end());
  r.out = out;
  r.quiet = true;
  return r;
}

TEST(Finetune, SeparatesClassesByCompositionOnHeldOutFiles) {
  const std::string root = test::temp_dir();
  const std::string config = write_classes_config(root);
  std::vector<FinetuneResult> rs = run_finetune(request(config, root + "/run"));
  ASSERT_EQ(rs.size(), 1u);
  const FinetuneResult& r = rs[0];
  ASSERT_TRUE(r.evaluated);
  EXPECT_EQ(r.confusion.total(), 150);
  EXPECT_GE(r.confusion.accuracy(), 0.9) << format_confusion(r.confusion);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(r.confusion.counts[c][0] + r.confusion.counts[c][1] + r.confusion.counts[c][2], 50);
  // confusion.tsv: a header and one row per class, the same counts.
  std::ifstream in(root + "/run/confusion.tsv");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "true\\predicted\tat_rich\tgc_rich\tac_rich");
  for (int c = 0; c < 3; ++c) {
    std::getline(in, line);
    std::istringstream row(line);
    std::string name;
    row >> name;
    EXPECT_EQ(name, r.confusion.classes[c]);
    for (int p = 0; p < 3; ++p) {
      int64_t v = -1;
      row >> v;
      EXPECT_EQ(v, r.confusion.counts[c][p]);
    }
  }
  EXPECT_TRUE(std::filesystem::exists(root + "/run/per_class.tsv"));
  const auto rows = read_metrics(root + "/run/metrics.jsonl");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().split, "test");
  EXPECT_EQ(*rows.back().number("accuracy"), r.confusion.accuracy());
  EXPECT_TRUE(rows.back().number("accuracy_gc_rich").has_value());

  // `mambaseq eval` of the classifier checkpoint gives the same confusion matrix.
  // (No -c: the checkpoint's own config is used.)
  auto e = test::run_cli(root, {"eval", "--ckpt", root + "/run/last.h5", "--out", root + "/ev"}, 120);
  ASSERT_EQ(e.status, 0) << e.err;
  EXPECT_NE(e.out.find("overall accuracy"), std::string::npos) << e.out;
  std::ifstream a(root + "/run/confusion.tsv"), b(root + "/ev/confusion.tsv");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(a), {}), std::string(std::istreambuf_iterator<char>(b), {}));
}

TEST(Finetune, PretrainedBackboneLoadsByNameAndOtherShapesAreRefused) {
  const std::string root = test::temp_dir();
  const std::string config = write_classes_config(root);
  // A language model on the classes' training files, same backbone shape.
  RunRequest pre;
  pre.sets = {"data.fasta=[\"" + root + "/at_rich_train.fa\", \"" + root + "/gc_rich_train.fa\"]", "data.length=64",
              "eval.max_windows=4", "eval.final_max_windows=4", "model.d_model=16", "model.n_layer=2",
              "model.d_state=4", "model.seed=7", "train.steps=3", "train.batch_size=2", "train.device=cpu", "train.threads=2"};
  pre.out = root + "/lm";
  pre.quiet = true;
  run_pretrain(pre);

  RunRequest ft = request(config, root + "/ft", {"train.steps=1", "eval.samples=3"});
  ft.ckpt = root + "/lm/last.h5";
  run_finetune(ft);
  // After one step from the pretrained weights, the backbone moved by one AdamW step only: close to the
  // LM's tensors, and far closer than a fresh initialization is.
  const Checkpoint lm = read_checkpoint(root + "/lm/last.h5"), cls = read_checkpoint(root + "/ft/last.h5");
  const Tensor* w_lm = find_tensor(lm.params, "backbone.layers.0.mixer.in_proj.weight");
  const Tensor* w_cls = find_tensor(cls.params, "backbone.layers.0.mixer.in_proj.weight");
  ASSERT_TRUE(w_lm && w_cls);
  EXPECT_LT(test::rel_l2_error(*w_cls, *w_lm), 0.1);
  run_finetune(request(config, root + "/scratch", {"train.steps=1", "eval.samples=3"}));
  const Checkpoint fresh = read_checkpoint(root + "/scratch/last.h5");
  EXPECT_GT(test::rel_l2_error(*find_tensor(fresh.params, "backbone.layers.0.mixer.in_proj.weight"), *w_lm), 0.5);
  EXPECT_NE(find_tensor(cls.params, "head.weight"), nullptr);

  // Another width: a one-line error naming the tensor and both shapes, and exit status 1.
  auto r = test::run_cli(root, {"finetune", "-c", config, "--ckpt", root + "/lm/last.h5", "--set", "model.d_model=24",
                               "--set", "train.steps=1", "--out", root + "/bad"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("mambaseq: error: checkpoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("backbone."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expects"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(root + "/bad/last.h5"));
}

TEST(Finetune, LengthSweepRunsOneSubRunPerLength) {
  const std::string root = test::temp_dir();
  const std::string config = write_classes_config(root);
  auto rs = run_finetune(request(config, root + "/sweep", {"data.lengths=[32, 64]", "train.steps=2", "eval.samples=6"}));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].length, 32);
  EXPECT_EQ(rs[1].length, 64);
  EXPECT_TRUE(std::filesystem::exists(root + "/sweep/L32/confusion.tsv"));
  EXPECT_TRUE(std::filesystem::exists(root + "/sweep/L64/last.h5"));
  EXPECT_TRUE(std::filesystem::exists(root + "/sweep/sweep.tsv"));
  // --resume finds both finished: no step runs again.
  RunRequest again = request(config, root + "/sweep", {"data.lengths=[32, 64]", "train.steps=2", "eval.samples=6"});
  again.resume = true;
  auto rs2 = run_finetune(again);
  ASSERT_EQ(rs2.size(), 2u);
  EXPECT_TRUE(rs2[0].train_losses.empty());
  EXPECT_EQ(rs2[1].confusion.counts, rs[1].confusion.counts);
}


TEST(Finetune, BadConfigsAreOneLineErrors) {
  const std::string root = test::temp_dir();
  const std::string config = write_classes_config(root);
  // A manifest of two species, one genome each.
  Rng rng(test::test_seed() + 1);
  test::write_fasta(root + "/sp1.fa", {{"s1", test::chain_bases(rng, 4000, 0.3)}});
  test::write_fasta(root + "/sp2.fa", {{"s2", test::chain_bases(rng, 4000, 0.5)}});
  test::write_text(root + "/manifest.tsv",
                   "species\tstrain\tpath\tcontig\tlength\tdescription\nAlpha\ta1\tsp1.fa\ts1\t4000\t\nBeta\tb1\tsp2.fa\ts2\t4000\t\n");
  const std::string m = "data.manifest=" + root + "/manifest.tsv";
  test::write_text(root + "/empty.toml", "name = \"bad\"\n");
  auto ft = [&](std::vector<std::string> sets, const std::string& cfg = "") {
    std::vector<std::string> args{"finetune", "-c", cfg.empty() ? root + "/empty.toml" : cfg};
    for (const auto& s : tiny_sets()) args.insert(args.end(), {"--set", s});
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    args.insert(args.end(), {"--set", "train.steps=1", "--out", root + "/bad"});
    return test::run_cli(root, args);
  };
  test::expect_one_line_error(ft({m, "data.task=strain", "data.species=[\"Gamma\"]", "data.held_out=ranges"}),
                        "unknown species 'Gamma'");
  test::expect_one_line_error(ft({m, "data.task=species", "data.species=[\"Alpha\", \"Nope\"]", "data.test_strains=[\"a1\"]"}),
                        "unknown species 'Nope'");
  test::expect_one_line_error(ft({m, "data.task=species", "data.test_strains=[\"zz\"]"}), "test strain 'zz'");
  test::expect_one_line_error(ft({"data.manifest=" + root + "/none.tsv"}), "none.tsv");
  // Segments longer than every held-out sequence.
  test::expect_one_line_error(ft({"data.length=1600"}, config), "1600");
  // A class file that does not exist.
  std::string text;
  {
    std::ifstream in(config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string victim = "gc_rich_test.fa";
  text.replace(text.find(victim), victim.size(), "gone.fa");
  test::write_text(root + "/broken.toml", text);
  test::expect_one_line_error(ft({}, root + "/broken.toml"), "gone.fa' does not exist");
  EXPECT_FALSE(std::filesystem::exists(root + "/bad/last.h5"));
}

}  // namespace
}  // namespace ms
