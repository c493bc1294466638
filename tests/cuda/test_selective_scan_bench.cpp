// The scan benchmark as a disabled test, for the GPU machine:
//   test_cuda --gtest_also_run_disabled_tests --gtest_filter='*ScanBench*'
// MAMBASEQ_BENCH_LENGTHS=4096,65536 and MAMBASEQ_BENCH_DTYPES=f32 narrow it; MAMBASEQ_BENCH_NO_BWD=1 skips
// the backward, MAMBASEQ_BENCH_ITERS=3 shortens it (for profilers), MAMBASEQ_BENCH_IMPLS=v4/v4,sliced/wide
// times several kernel variants on the same inputs. Prints the table of pipelines/bench_scan.h.
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>

#include "pipelines/bench_scan.h"
#include "tests/test_util.h"

namespace ms {
namespace {

TEST(ScanBench, DISABLED_AnchorShapes) {
  MS_SKIP_WITHOUT_GPU();
  ScanBenchOptions opt;
  if (const char* env = std::getenv("MAMBASEQ_BENCH_LENGTHS")) {
    opt.lengths.clear();
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ',')) opt.lengths.push_back(std::stoll(item));
  }
  if (const char* env = std::getenv("MAMBASEQ_BENCH_DTYPES")) {
    opt.dtypes.clear();
    const std::string s = env;
    if (s.find("f32") != std::string::npos) opt.dtypes.push_back(DType::f32);
    if (s.find("bf16") != std::string::npos) opt.dtypes.push_back(DType::bf16);
    opt.complex_row = s.find("complex") != std::string::npos;
  }
  if (std::getenv("MAMBASEQ_BENCH_NO_BWD")) opt.backward = false;
  if (const char* env = std::getenv("MAMBASEQ_BENCH_ITERS")) opt.iters = std::max(1, std::atoi(env));
  if (const char* env = std::getenv("MAMBASEQ_BENCH_IMPLS")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ',')) opt.impls.push_back(item);
  }
  const ScanBenchResult r = bench_scan(opt);
  print_scan_bench(r, stdout);
  ASSERT_FALSE(r.rows.empty());
}

}  // namespace
}  // namespace ms
