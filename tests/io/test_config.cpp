// Typed TOML configs: parsing, defaults, validation errors (file:line:col + dotted key), --set
// overrides, and the write -> read round trip, on a realistic run config with nested sections.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include "io/config.h"
#include "tests/test_util.h"

namespace {

enum class Ssm { real, complex };

struct ModelCfg {
  int d_model = 64;
  int n_layer = 2;
  Ssm ssm = Ssm::real;
  double dt_min = 1e-3;
  std::vector<int> pool{4, 4};
  bool operator==(const ModelCfg&) const = default;
};
void bind(ms::cfg::Binder& b, ModelCfg& c) {
  b.field("d_model", c.d_model, ms::cfg::gt(0), "width of the residual stream");
  b.field("n_layer", c.n_layer, ms::cfg::range(1, 128), "number of Mamba blocks");
  b.choice("ssm", c.ssm, {{"real", Ssm::real}, {"complex", Ssm::complex}}, "S4D-Real or S4D-Lin state matrix");
  b.field("dt_min", c.dt_min, ms::cfg::gt(0).lt(1));
  b.field("pool", c.pool, ms::cfg::ge(1), "pooling factors");
}

struct TrainCfg {
  int64_t steps = 1000;
  double lr = 1e-3;
  int batch_size = 8;
  int64_t seed = 0;
  float clip = 1.0f;
  bool bf16 = false;
  std::optional<int64_t> eval_every;
  bool operator==(const TrainCfg&) const = default;
};
void bind(ms::cfg::Binder& b, TrainCfg& c) {
  b.field("steps", c.steps, ms::cfg::gt(0), "optimizer steps");
  b.field("lr", c.lr, ms::cfg::gt(0).le(1), "peak learning rate");
  b.field("batch_size", c.batch_size, ms::cfg::ge(1));
  b.field("seed", c.seed);
  b.field("clip", c.clip, ms::cfg::ge(0));
  b.field("bf16", c.bf16, "bf16 activations");
  b.field("eval_every", c.eval_every, ms::cfg::gt(0));
}

struct DataCfg {
  std::vector<std::string> paths;
  std::string split = "train";
  std::vector<double> fractions{0.9, 0.05, 0.05};
  std::vector<int64_t> lengths{1024};
  bool operator==(const DataCfg&) const = default;
};
void bind(ms::cfg::Binder& b, DataCfg& c) {
  b.field("paths", c.paths, ms::cfg::required(), "FASTA files");
  b.field("split", c.split, ms::cfg::one_of({"train", "valid", "test"}));
  b.field("fractions", c.fractions, ms::cfg::range(0, 1));
  b.field("lengths", c.lengths, ms::cfg::gt(0));
}

struct StageCfg {
  std::string command = "pretrain";
  std::vector<std::string> set;
  bool operator==(const StageCfg&) const = default;
};
void bind(ms::cfg::Binder& b, StageCfg& c) {
  b.field("command", c.command, ms::cfg::one_of({"pretrain", "finetune", "eval"}));
  b.field("set", c.set);
}

struct RunCfg {
  std::string name = "run";
  ModelCfg model;
  TrainCfg train;
  DataCfg data;
  std::vector<StageCfg> stages;
  bool operator==(const RunCfg&) const = default;
};
void bind(ms::cfg::Binder& b, RunCfg& c) {
  b.field("name", c.name, "run folder name under runs/");
  b.section("model", c.model, "MambaLM shape");
  b.section("train", c.train);
  b.section("data", c.data);
  b.list("stage", c.stages, "pipeline stages");
}

const char* kGood = R"(name = "dna-small"

[model]
d_model = 128
n_layer = 6
ssm = "complex"
pool = [2, 4]

[train]
steps = 20000
lr = 6e-4
batch_size = 4
seed = -7
clip = 0.5
bf16 = true
eval_every = 500

[data]
paths = ["a.fa.gz", "b.fa"]
split = "valid"
lengths = [1024, 1048576]

[[stage]]
command = "pretrain"

[[stage]]
command = "eval"
set = ["train.steps=5"]
)";

RunCfg parse(const std::string& text, const std::vector<std::string>& sets = {}) {
  return ms::cfg::parse<RunCfg>(text, "run.toml", sets);
}

// The message of the ms::Error that `fn` throws ("" when it does not throw).
using ms::test::error_of;

const std::string kMinimal = "[data]\npaths = [\"x.fa\"]\n";

TEST(Config, ParsesEveryKindOfField) {
  const RunCfg c = parse(kGood);
  EXPECT_EQ(c.name, "dna-small");
  EXPECT_EQ(c.model.d_model, 128);
  EXPECT_EQ(c.model.n_layer, 6);
  EXPECT_EQ(c.model.ssm, Ssm::complex);
  EXPECT_EQ(c.model.pool, (std::vector<int>{2, 4}));
  EXPECT_EQ(c.model.dt_min, 1e-3);  // default kept
  EXPECT_EQ(c.train.steps, 20000);
  EXPECT_EQ(c.train.lr, 6e-4);
  EXPECT_EQ(c.train.seed, -7);
  EXPECT_EQ(c.train.clip, 0.5f);
  EXPECT_TRUE(c.train.bf16);
  ASSERT_TRUE(c.train.eval_every.has_value());
  EXPECT_EQ(*c.train.eval_every, 500);
  EXPECT_EQ(c.data.paths, (std::vector<std::string>{"a.fa.gz", "b.fa"}));
  EXPECT_EQ(c.data.split, "valid");
  EXPECT_EQ(c.data.lengths, (std::vector<int64_t>{1024, 1048576}));
  ASSERT_EQ(c.stages.size(), 2u);
  EXPECT_EQ(c.stages[1].command, "eval");
  EXPECT_EQ(c.stages[1].set, (std::vector<std::string>{"train.steps=5"}));
}

TEST(Config, AbsentKeysKeepDefaultsAndIntegersAreAcceptedAsFloats) {
  const RunCfg c = parse(kMinimal + "[train]\nlr = 1\n");
  RunCfg want;
  want.data.paths = {"x.fa"};
  want.train.lr = 1.0;
  EXPECT_EQ(c, want);
  EXPECT_FALSE(c.train.eval_every.has_value());
  // Dotted keys and inline tables are the same tables to TOML.
  EXPECT_EQ(parse("model.d_model = 32\ndata = { paths = [\"y\"] }\n").model.d_model, 32);
}

TEST(Config, UnknownKeyNamesFileLineColumnAndSuggests) {
  const std::string text = kMinimal + "\n[model]\nd_model = 8\n  d_modle = 16\n";
  EXPECT_EQ(error_of([&] { parse(text); }),
            "run.toml:6:3: unknown key 'model.d_modle' (did you mean 'model.d_model'? [model] accepts: "
            "d_model, n_layer, ssm, dt_min, pool)");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[modle]\nd_model = 3\n"); }).substr(0, 45),
            "run.toml:3:2: unknown key 'modle' (did you me");
  EXPECT_NE(error_of([&] { parse("colour = 1\n" + kMinimal); }).find("run.toml:1:1: unknown key 'colour' "
                                                                      "(top-level keys: name, model"),
            std::string::npos);
  // Inside an element of an array of tables.
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[[stage]]\ncommand = \"eval\"\n[[stage]]\nsets = []\n"); }),
            "run.toml:6:1: unknown key 'stage.1.sets' (did you mean 'stage.1.set'? [stage[1]] accepts: "
            "command, set)");
}

TEST(Config, WrongTypesAreErrorsNamingKeyAndWhatWasFound) {
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[model]\nd_model = \"big\"\n"); }),
            "run.toml:4:11: 'model.d_model' must be an integer, got a string (\"big\")");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[train]\nsteps = 1e4\n"); }),
            "run.toml:4:9: 'train.steps' must be an integer, got a float (10000) (write it without a decimal "
            "point or exponent)");
  EXPECT_EQ(error_of([&] { parse("name = 5\n" + kMinimal); }),
            "run.toml:1:8: 'name' must be a string, got an integer (5) (put it in quotes)");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[train]\nbf16 = 1\n"); }),
            "run.toml:4:8: 'train.bf16' must be a boolean, got an integer (1) (write true or false)");
  EXPECT_EQ(error_of([&] { parse("[data]\npaths = [\"a\",\n  3]\n"); }),
            "run.toml:3:3: 'data.paths[1]' must be a string, got an integer (3) (put it in quotes)");
  EXPECT_EQ(error_of([&] { parse("[data]\npaths = \"a.fa\"\n"); }),
            "run.toml:2:9: 'data.paths' must be an array of strings, got a string (\"a.fa\") (write [a, b, ...])");
  EXPECT_EQ(error_of([&] { parse("model = 3\n" + kMinimal); }),
            "run.toml:1:9: 'model' must be a table, got an integer (3) (write [model])");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[stage]\ncommand = \"eval\"\n"); }),
            "run.toml:3:1: 'stage' must be an array of tables, got a table (write [[stage]])");
}

TEST(Config, OutOfRangeValuesSayWhatIsAllowed) {
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[model]\nd_model = 0\n"); }),
            "run.toml:4:11: 'model.d_model' = 0 is out of range: it must be > 0");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[model]\nn_layer = 129\n"); }),
            "run.toml:4:11: 'model.n_layer' = 129 is out of range: it must be in [1, 128]");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[train]\nlr = 1.5\n"); }),
            "run.toml:4:6: 'train.lr' = 1.5 is out of range: it must be in (0, 1]");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[train]\nlr = nan\n"); }),
            "run.toml:4:6: 'train.lr' = nan is out of range: it must be in (0, 1]");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[model]\npool = [4, 0]\n"); }),
            "run.toml:4:12: 'model.pool[1]' = 0 is out of range: it must be >= 1");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[model]\nssm = \"cmplx\"\n"); }),
            "run.toml:4:7: 'model.ssm' = \"cmplx\" is not allowed: it must be one of \"real\", \"complex\"");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[model]\nd_model = 3000000000\n"); }),
            "run.toml:4:11: 'model.d_model' = 3000000000 does not fit a 32-bit integer");
  EXPECT_EQ(error_of([&] { parse(kMinimal + "[train]\nclip = 1e300\n"); }),
            "run.toml:4:8: 'train.clip' = 1e300 does not fit a 32-bit float");
}

TEST(Config, MissingRequiredKeyFileAndSyntaxErrors) {
  EXPECT_EQ(error_of([&] { parse("name = \"x\"\n"); }),
            "run.toml: missing required key 'data.paths' (an array of strings; FASTA files)");
  const std::string dir = ms::test::temp_dir();
  EXPECT_EQ(error_of([&] { ms::cfg::load<RunCfg>(dir + "/nope.toml"); }),
            "config file '" + dir + "/nope.toml' does not exist");
  EXPECT_EQ(error_of([&] { ms::cfg::load<RunCfg>(dir); }), "config file '" + dir + "' is a directory, not a file");
  const std::string err = error_of([&] { parse(kMinimal + "[train]\nlr = = 3\n"); });
  EXPECT_EQ(err.rfind("run.toml:4:6: TOML syntax error: ", 0), 0u) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
}

TEST(Config, SetOverridesAreTypedAndValidated) {
  const RunCfg c = parse(kGood, {"train.lr=3e-4", "model.ssm=real", "name=\"quoted name\"", "model.pool=[8]",
                                 "data.paths=c.fa,d.fa", "train.bf16=false", "train.steps = 7",
                                 "stage.1.command=finetune", "model.d_model=16", "model.d_model=32"});
  EXPECT_EQ(c.train.lr, 3e-4);
  EXPECT_EQ(c.model.ssm, Ssm::real);
  EXPECT_EQ(c.name, "quoted name");
  EXPECT_EQ(c.model.pool, std::vector<int>{8});
  EXPECT_EQ(c.data.paths, (std::vector<std::string>{"c.fa", "d.fa"}));
  EXPECT_FALSE(c.train.bf16);
  EXPECT_EQ(c.train.steps, 7);
  EXPECT_EQ(c.stages[1].command, "finetune");
  EXPECT_EQ(c.model.d_model, 32);  // the last --set of a key wins
  // Without a file: defaults + overrides, and an override can set an optional.
  const RunCfg d = ms::cfg::load<RunCfg>("", {"data.paths=[\"z.fa\"]", "train.eval_every=9"});
  EXPECT_EQ(d.data.paths, std::vector<std::string>{"z.fa"});
  EXPECT_EQ(d.train.eval_every, std::optional<int64_t>(9));
  // A number for a string field is taken as its text.
  EXPECT_EQ(parse(kMinimal, {"name=123"}).name, "123");
}

TEST(Config, BadSetsAreOneLineErrors) {
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"model.d_modle=3"}); }),
            "--set model.d_modle=3: unknown key 'model.d_modle' (did you mean 'model.d_model'?)");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"optimizer.beta=3"}); }),
            "--set optimizer.beta=3: unknown key 'optimizer.beta'");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"model.d_model=abc"}); }),
            "--set model.d_model=abc: 'model.d_model' must be an integer, got a string (\"abc\")");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"model.d_model=-1"}); }),
            "--set model.d_model=-1: 'model.d_model' = -1 is out of range: it must be > 0");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"model.ssm=imaginary"}); }),
            "--set model.ssm=imaginary: 'model.ssm' = \"imaginary\" is not allowed: it must be one of \"real\", "
            "\"complex\"");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"train.lr"}); }),
            "--set train.lr: expected KEY=VALUE (e.g. --set train.lr=0.001)");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"=3"}); }),
            "--set =3: the key before '=' is empty (e.g. --set train.lr=0.001)");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"train..lr=3"}); }),
            "--set train..lr=3: 'train..lr' is not a valid dotted key (e.g. train.lr)");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"model=3"}); }),
            "--set model=3: 'model' is a table; set its keys one by one (--set model.KEY=VALUE)");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"model.pool=[1, \"x\"]"}); }),
            "--set model.pool=[1, \"x\"]: 'model.pool[1]' must be an integer, got a string (\"x\")");
  EXPECT_EQ(error_of([&] { parse(kMinimal, {"stage.5.command=eval"}); }),
            "--set stage.5.command=eval: unknown key 'stage.5.command'");
}

// Random values for every field, written out and read back: the same struct, bit for bit.
TEST(Config, WriteThenReadGivesTheSameStruct) {
  ms::Rng rng(ms::test::test_seed());
  for (int trial = 0; trial < 20; ++trial) {
    RunCfg c;
    auto rand_double = [&] {
      const double mag = std::pow(10.0, rng.uniform(-30, 30));
      return (rng.uniform() < 0.5 ? -1 : 1) * mag * rng.uniform();
    };
    c.name = "run \"" + std::to_string(rng.next_u64()) + "\"\t\\ é\n";
    c.model.d_model = 1 + static_cast<int>(rng.below(100000));
    c.model.n_layer = 1 + static_cast<int>(rng.below(128));
    c.model.ssm = rng.uniform() < 0.5 ? Ssm::real : Ssm::complex;
    c.model.dt_min = rng.uniform() * 0.999 + 1e-9;
    c.model.pool.assign(rng.below(4), 0);
    for (int& p : c.model.pool) p = 1 + static_cast<int>(rng.below(16));
    c.train.steps = 1 + static_cast<int64_t>(rng.next_u64() >> 2);
    c.train.lr = rng.uniform() * 0.5 + 1e-12;
    c.train.seed = static_cast<int64_t>(rng.next_u64());
    c.train.clip = static_cast<float>(std::fabs(rand_double()) * 1e-10);
    c.train.bf16 = rng.uniform() < 0.5;
    if (rng.uniform() < 0.5) c.train.eval_every = 1 + static_cast<int64_t>(rng.below(1000));
    c.data.paths = {"a.fa", "dir with space/b.fa", ""};
    c.data.split = "test";
    c.data.fractions = {rng.uniform(), 0.0, 1.0};
    c.data.lengths = {1, INT64_MAX};
    for (uint64_t i = 0, n = rng.below(3); i < n; ++i) c.stages.push_back({"finetune", {"a=1", "b=\"x\""}});
    const std::string text = ms::cfg::to_toml(c);
    const RunCfg back = parse(text);
    EXPECT_EQ(back, c) << text;
    EXPECT_EQ(ms::cfg::to_toml(back), text);
  }
}

TEST(Config, WrittenTextIsCommentedTomlAndSaveIsAtomic) {
  RunCfg c = parse(kGood);
  const std::string text = ms::cfg::to_toml(c);
  EXPECT_NE(text.find("# width of the residual stream; > 0\nd_model = 128\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# peak learning rate; in (0, 1]\nlr = 0.0006\n"), std::string::npos) << text;
  EXPECT_NE(text.find("command = \"eval\"\nset = [\"train.steps=5\"]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("clip = 0.5\n"), std::string::npos) << text;
  const std::string path = ms::test::temp_dir() + "/config.toml";
  ms::cfg::save(path, c);
  EXPECT_EQ(ms::cfg::load<RunCfg>(path), c);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()),
                          std::filesystem::directory_iterator()),
            1);  // no temp file left behind
}

TEST(Config, DescribeListsEveryKeyInOrder) {
  const auto fields = ms::cfg::describe<RunCfg>();
  std::vector<std::string> keys;
  for (const auto& f : fields) keys.push_back(f.key);
  const std::vector<std::string> want = {
      "name", "model", "model.d_model", "model.n_layer", "model.ssm", "model.dt_min", "model.pool",
      "train", "train.steps", "train.lr", "train.batch_size", "train.seed", "train.clip", "train.bf16",
      "train.eval_every", "data", "data.paths", "data.split", "data.fractions", "data.lengths", "stage",
      "stage[].command", "stage[].set"};
  EXPECT_EQ(keys, want);
  const std::string table = ms::cfg::format_fields(fields);
  EXPECT_NE(table.find("model.d_model     integer, > 0 (default 64): width of the residual stream"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("train.eval_every  integer (optional), > 0\n"), std::string::npos) << table;
  EXPECT_NE(table.find("data.paths        array of strings, required: FASTA files"), std::string::npos) << table;
}

struct BadDefault {
  int n = 0;
};
void bind(ms::cfg::Binder& b, BadDefault& c) { b.field("n", c.n, ms::cfg::gt(0)); }

TEST(Config, ADefaultOutsideItsOwnRangeIsADeclarationBug) {
  EXPECT_NE(error_of([] { ms::cfg::parse<BadDefault>("", "x.toml"); }).find("config declaration bug"),
            std::string::npos);
  EXPECT_EQ(ms::cfg::parse<BadDefault>("n = 3", "x.toml").n, 3);
}

}  // namespace
