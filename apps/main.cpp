// mambaseq: command-line entry point. Subcommands are registered in apps/commands.cpp.
#include "apps/cli.h"

int main(int argc, char** argv) { return ms::cli::run_main(argc, argv); }
