// mambaseq: command-line entry point. Subcommands are registered in apps/commands.h.
#include <cstdio>
#include <exception>
#include <string>

#include "kernels/check.h"

int main(int argc, char** argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "--help";
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::printf("mambaseq 0.1.0: selective state-space models (Mamba) for DNA and audio\n");
      return 0;
    }
    MS_FAIL("unknown command '", cmd, "' (see mambaseq --help)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mambaseq: error: %s\n", e.what());
    return 1;
  }
}
