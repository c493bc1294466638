// Runs the built `mambaseq` binary from a test and captures its exit status, stdout and stderr.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace ms::test {

struct CliResult {
  int status = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the built binary with `args` in `cwd` (default: a fresh folder for the test; stdout and stderr
// files are written there), capturing stdout and stderr; killed after
// `timeout_s` (status -2).
inline CliResult run_mambaseq(const std::vector<std::string>& args, double timeout_s = 60, std::string cwd = "") {
  const std::string bin = std::string(MAMBASEQ_BINARY_DIR) + "/mambaseq";
  const std::string dir = cwd.empty() ? ms::test::temp_dir() : cwd;
  const std::string out = dir + "/stdout", err = dir + "/stderr";
  std::vector<const char*> argv{bin.c_str()};
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fo = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 || chdir(dir.c_str()) != 0) _exit(120);
    execv(bin.c_str(), const_cast<char* const*>(argv.data()));
    _exit(121);
  }
  CliResult r;
  int status = 0;
  for (double waited = 0; pid > 0; waited += 0.01) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      if (WIFEXITED(status)) r.status = WEXITSTATUS(status);
      break;
    }
    if (done < 0) break;
    if (waited > timeout_s) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.status = -2;
      break;
    }
    usleep(10000);
  }
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

}  // namespace ms::test
