// The train section every pipeline shares: train.gemm_precision chooses the CUDA GEMM precision when a
// pipeline resolves its device, and a value outside fp32 / tf32 is a one-line error naming the key.
#include <gtest/gtest.h>

#include "kernels/gemm.h"
#include "pipelines/audio_pretrain.h"
#include "pipelines/run_config.h"
#include "tests/test_util.h"

namespace ms {
namespace {

struct PrecisionRestore {
  GemmPrecision saved = gemm_precision();
  ~PrecisionRestore() { set_gemm_precision(saved); }
};

TEST(RunConfig, GemmPrecisionIsSetWhereTheDeviceIsResolved) {
  PrecisionRestore restore;
  auto cfg = cfg::parse<AudioPretrainConfig>("", "(defaults)", {"train.gemm_precision=tf32", "train.device=cpu"});
  EXPECT_EQ(cfg.train.gemm_precision, "tf32");
  EXPECT_EQ(resolve_device(cfg.train), Device::cpu);
  EXPECT_EQ(gemm_precision(), GemmPrecision::tf32);

  cfg = cfg::parse<AudioPretrainConfig>("", "(defaults)", {"train.device=cpu"});
  EXPECT_EQ(cfg.train.gemm_precision, "fp32");  // the default: exact, as the CPU
  resolve_device(cfg.train);
  EXPECT_EQ(gemm_precision(), GemmPrecision::fp32);
}

TEST(RunConfig, UnknownGemmPrecisionNamesTheKey) {
  const std::string message =
      test::error_of([] { cfg::parse<AudioPretrainConfig>("", "(defaults)", {"train.gemm_precision=bf17"}); });
  EXPECT_NE(message.find("train.gemm_precision"), std::string::npos) << message;
  EXPECT_NE(message.find("bf17"), std::string::npos) << message;
  EXPECT_THROW(parse_gemm_precision("half"), Error);
}

TEST(RunConfig, EveryAcceptedGemmPrecisionNameParses) {
  // The validators' list and parse_gemm_precision's mapping must agree, in both directions.
  std::vector<GemmPrecision> seen;
  for (const std::string& name : gemm_precision_names()) seen.push_back(parse_gemm_precision(name));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0], seen[1]);
  for (const std::string& name : gemm_precision_names()) {
    auto cfg = cfg::parse<AudioPretrainConfig>("", "(defaults)", {"train.gemm_precision=" + name, "train.device=cpu"});
    EXPECT_EQ(cfg.train.gemm_precision, name);
  }
}

}  // namespace
}  // namespace ms
