// mambaseq: command-line entry point. Subcommands are registered in apps/commands.cpp.
#include <unistd.h>

#include <cstdlib>

#include "apps/cli.h"

int main(int argc, char** argv) {
  // OpenMP threads that spin while waiting make every small parallel region 5-10x slower as soon as the
  // machine has other work (measured on 2 cores). libgomp reads the policy once, at load time, so when
  // the user has not chosen one we set "passive" and start again; an explicit setting is respected.
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default
  }
  return ms::cli::run_main(argc, argv);
}
