#include "pipelines/data_parallel_launch.h"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kernels/check.h"

extern char** environ;

namespace ms {

std::vector<std::string> own_command_line() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t i = 0; i < all.size();) {
    const size_t end = all.find('\0', i);
    args.push_back(all.substr(i, end == std::string::npos ? std::string::npos : end - i));
    if (end == std::string::npos) break;
    i = end + 1;
  }
  MS_CHECK(!args.empty(), "data-parallel launch: cannot read this process's command line from /proc/self/cmdline");
  return args;
}

namespace {

// The GPUs the workers get: the host's first `gpus`, or the first `gpus` of CUDA_VISIBLE_DEVICES.
std::vector<std::string> worker_gpus(int gpus) {
  std::vector<std::string> ids;
  const char* v = std::getenv("CUDA_VISIBLE_DEVICES");
  if (v && *v) {
    const std::string s = v;
    for (size_t i = 0; i <= s.size();) {
      const size_t end = std::min(s.find(',', i), s.size());
      if (end > i) ids.push_back(s.substr(i, end - i));
      i = end + 1;
    }
    if (static_cast<int>(ids.size()) < gpus)
      MS_FAIL("train.gpus = ", gpus, " but CUDA_VISIBLE_DEVICES=", s, " names only ", ids.size(), " GPU(s)");
    ids.resize(static_cast<size_t>(gpus));
  } else {
    for (int i = 0; i < gpus; ++i) ids.push_back(std::to_string(i));
  }
  return ids;
}

bool is_group_variable(const char* kv) {
  for (const char* p : {"MAMBASEQ_DP_RANK=", "MAMBASEQ_DP_WORLD=", "MAMBASEQ_DP_ID_FILE=", "MAMBASEQ_DP_LAUNCHER=",
                        "CUDA_VISIBLE_DEVICES="})
    if (std::strncmp(kv, p, std::strlen(p)) == 0) return true;
  return false;
}

// Workers run in their own process group, so a terminal's Ctrl-C reaches only this process, which passes
// SIGINT / SIGTERM on to every worker exactly once per signal (a second Ctrl-C then stops them at once,
// as it does a single process; `timeout -s INT` works the same way).
constexpr int kMaxWorkers = 256;
volatile pid_t g_workers[kMaxWorkers];
volatile int g_n_workers = 0;
extern "C" void forward_signal(int sig) {
  for (int i = 0; i < g_n_workers; ++i)
    if (g_workers[i] > 0) kill(g_workers[i], sig);
}
int worker_of(pid_t pid) {
  for (int i = 0; i < g_n_workers; ++i)
    if (g_workers[i] == pid) return i;
  return -1;
}

std::string describe_status(int st) {
  if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return std::string("was killed by signal ") + strsignal(WTERMSIG(st));
  return "ended with wait status " + std::to_string(st);
}

}  // namespace

void run_data_parallel_workers(int gpus, const std::vector<std::string>& args) {
  MS_CHECK(gpus >= 2 && gpus <= kMaxWorkers, "run_data_parallel_workers: ", gpus, " GPU(s)");
  MS_CHECK(!args.empty(), "run_data_parallel_workers: an empty command line");
  const std::vector<std::string> ids = worker_gpus(gpus);
  char tmpl[] = "/tmp/mambaseq_dp_XXXXXX";
  if (!mkdtemp(tmpl)) MS_FAIL("data-parallel launch: cannot create a folder in /tmp: ", std::strerror(errno));
  const std::string dir = tmpl, id_file = dir + "/nccl_id";

  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  for (int i = 0; i < kMaxWorkers; ++i) g_workers[i] = -1;
  g_n_workers = gpus;
  struct sigaction forward {}, previous_int {}, previous_term {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  sigaction(SIGINT, &forward, &previous_int);
  sigaction(SIGTERM, &forward, &previous_term);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);

  std::vector<std::string> base_env;
  for (char** e = environ; *e; ++e)
    if (!is_group_variable(*e)) base_env.emplace_back(*e);
  std::string failure;
  int live = 0;
  for (int r = 0; r < gpus && failure.empty(); ++r) {
    std::vector<std::string> env = base_env;
    env.push_back("MAMBASEQ_DP_RANK=" + std::to_string(r));
    env.push_back("MAMBASEQ_DP_WORLD=" + std::to_string(gpus));
    env.push_back("MAMBASEQ_DP_ID_FILE=" + id_file);
    env.push_back("MAMBASEQ_DP_LAUNCHER=" + std::to_string(getpid()));
    env.push_back("CUDA_VISIBLE_DEVICES=" + ids[static_cast<size_t>(r)]);
    // NVLink multicast (NVLS) can take a shared host's GPUs out of service: off unless asked for.
    if (!std::getenv("NCCL_NVLS_ENABLE")) env.push_back("NCCL_NVLS_ENABLE=0");
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, "/proc/self/exe", nullptr, &attr, argv.data(), envp.data());
    if (rc != 0) {
      failure = "cannot start worker " + std::to_string(r) + ": " + std::strerror(rc);
    } else {
      g_workers[r] = pid;
      ++live;
    }
  }
  posix_spawnattr_destroy(&attr);

  if (!failure.empty()) forward_signal(SIGTERM);
  while (live > 0) {
    int st = 0;
    const pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const int r = worker_of(p);
    if (r < 0) continue;
    g_workers[r] = -1;
    --live;
    const bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok && failure.empty()) {
      failure = "data-parallel worker " + std::to_string(r) + " (GPU " + ids[static_cast<size_t>(r)] + ") " +
                describe_status(st) + "; the other workers were stopped (its messages are above)";
      forward_signal(SIGTERM);
    }
  }
  g_n_workers = 0;
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!failure.empty()) MS_FAIL(failure);
}

void follow_launcher() {
  const char* v = std::getenv("MAMBASEQ_DP_LAUNCHER");
  if (!v || !*v) return;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (std::to_string(getppid()) != v) raise(SIGTERM);  // it died before the line above
}

}  // namespace ms
