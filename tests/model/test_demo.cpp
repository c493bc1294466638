// The built-in demo (pipelines/demo.h) learns its toy task: a shortened run's loss falls well below log V.
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "pipelines/demo.h"
#include "tests/test_util.h"

namespace ms::test {
namespace {

TEST(Model, DemoTrainsAndItsLossFalls) {
  DemoOptions opt;
  opt.steps = 60;
  opt.d_model = 32;
  opt.batch = 8;
  opt.seq_len = 32;
  opt.seed = test_seed();
  if (std::getenv("MAMBASEQ_FULL_DEMO")) opt = DemoOptions{};  // the default run, for timing by hand
  std::ostringstream log;
  opt.out = &log;
  const DemoResult r = run_demo(opt);
  ASSERT_EQ(r.losses.size(), static_cast<size_t>(opt.steps));
  EXPECT_NEAR(r.losses.front(), std::log(static_cast<double>(opt.vocab)), 0.3);
  EXPECT_LT(r.final_eval_loss, 0.6 * r.losses.front()) << log.str();
  EXPECT_NE(log.str().find("step   60"), std::string::npos) << log.str();
  if (std::getenv("MAMBASEQ_FULL_DEMO")) std::printf("%s", log.str().c_str());
}

}  // namespace
}  // namespace ms::test
