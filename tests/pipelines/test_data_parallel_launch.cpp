// The data-parallel launcher (pipelines/data_parallel_launch.h) with this test binary as the worker: the
// group's environment per worker, its own process group, signals passed on once, and a failing worker
// named in the error. (The NCCL side runs on GPUs: tools/dp_check.sh.)
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "kernels/check.h"
#include "kernels/data_parallel.h"
#include "pipelines/data_parallel_launch.h"
#include "tests/test_util.h"

namespace ms {
namespace {

volatile sig_atomic_t g_interrupts = 0;
extern "C" void count_interrupt(int) { g_interrupts = g_interrupts + 1; }

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// The worker side: runs only when started by the launcher (see the tests below).
TEST(DataParallelWorker, DISABLED_Report) {
  if (!dp::is_worker()) GTEST_SKIP() << "started by DataParallelLaunch only";
  follow_launcher();  // the launcher is alive: nothing happens
  const dp::Env env = dp::env_from_environment();
  const std::string dir = std::getenv("MAMBASEQ_DP_TEST_DIR");
  std::signal(SIGINT, count_interrupt);
  std::ofstream(dir + "/ready_" + std::to_string(env.rank)) << "ready\n";
  if (std::getenv("MAMBASEQ_DP_TEST_WAIT_SIGNAL"))
    for (int i = 0; i < 1000 && !g_interrupts; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a second forwarded signal would count
  std::ofstream(dir + "/rank_" + std::to_string(env.rank))
      << env.world << " " << std::getenv("CUDA_VISIBLE_DEVICES") << " " << std::getenv("NCCL_NVLS_ENABLE") << " "
      << (getpgid(0) == getpid()) << " " << static_cast<int>(g_interrupts) << "\n";
  const char* fail = std::getenv("MAMBASEQ_DP_TEST_FAIL_RANK");
  if (fail && std::atoi(fail) == env.rank) std::exit(3);
}

std::vector<std::string> worker_command() {
  std::vector<std::string> cmd = own_command_line();
  cmd.resize(1);
  cmd.push_back("--gtest_filter=DataParallelWorker.*");
  cmd.push_back("--gtest_also_run_disabled_tests");
  cmd.push_back("--gtest_brief=1");
  return cmd;
}

struct EnvScope {
  std::vector<std::string> names;
  void set(const std::string& k, const std::string& v) {
    setenv(k.c_str(), v.c_str(), 1);
    names.push_back(k);
  }
  ~EnvScope() {
    for (const std::string& k : names) unsetenv(k.c_str());
  }
};

TEST(DataParallelLaunch, WorkersGetTheirRankGpuAndProcessGroup) {
  const std::string dir = test::temp_dir();
  EnvScope env;
  env.set("MAMBASEQ_DP_TEST_DIR", dir);
  unsetenv("CUDA_VISIBLE_DEVICES");
  run_data_parallel_workers(3, worker_command());
  for (int r = 0; r < 3; ++r)
    EXPECT_EQ(read_file(dir + "/rank_" + std::to_string(r)), "3 " + std::to_string(r) + " 0 1 0") << "rank " << r;
  // Workers take the first GPUs the parent may use.
  env.set("CUDA_VISIBLE_DEVICES", "5,7,2");
  run_data_parallel_workers(2, worker_command());
  EXPECT_EQ(read_file(dir + "/rank_0"), "2 5 0 1 0");
  EXPECT_EQ(read_file(dir + "/rank_1"), "2 7 0 1 0");
  env.set("CUDA_VISIBLE_DEVICES", "4");
  const std::string one_gpu = test::error_of([] { run_data_parallel_workers(2, worker_command()); });
  EXPECT_NE(one_gpu.find("CUDA_VISIBLE_DEVICES=4 names only 1 GPU"), std::string::npos) << one_gpu;
}

TEST(DataParallelLaunch, AFailingWorkerIsNamed) {
  const std::string dir = test::temp_dir();
  EnvScope env;
  env.set("MAMBASEQ_DP_TEST_DIR", dir);
  env.set("MAMBASEQ_DP_TEST_FAIL_RANK", "1");
  unsetenv("CUDA_VISIBLE_DEVICES");
  const std::string failed = test::error_of([] { run_data_parallel_workers(2, worker_command()); });
  EXPECT_NE(failed.find("data-parallel worker 1 (GPU 1) exited with status 3"), std::string::npos) << failed;
}

TEST(DataParallelLaunch, InterruptsReachEveryWorkerOnce) {
  const std::string dir = test::temp_dir();
  EnvScope env;
  env.set("MAMBASEQ_DP_TEST_DIR", dir);
  env.set("MAMBASEQ_DP_TEST_WAIT_SIGNAL", "1");
  unsetenv("CUDA_VISIBLE_DEVICES");
  // Interrupt this process (as Ctrl-C or `timeout -s INT` would) once both workers listen.
  std::thread interrupter([&] {
    for (int i = 0; i < 3000; ++i) {
      if (std::filesystem::exists(dir + "/ready_0") && std::filesystem::exists(dir + "/ready_1")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(getpid(), SIGINT);
  });
  run_data_parallel_workers(2, worker_command());
  interrupter.join();
  EXPECT_EQ(read_file(dir + "/rank_0"), "2 0 0 1 1");
  EXPECT_EQ(read_file(dir + "/rank_1"), "2 1 0 1 1");
}

}  // namespace
}  // namespace ms
