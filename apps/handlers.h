// Handlers of the subcommands that have landed; each turns the parsed flags into a pipeline call.
#pragma once
#include "apps/cli.h"

namespace ms::cli {

int cmd_synth(const Args& a);
int cmd_demo(const Args& a);
int cmd_bench(const Args& a);

}  // namespace ms::cli
