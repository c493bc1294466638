// The `mambaseq` command line: one table of subcommands (apps/commands.cpp), common flags parsed here.
// Exit status: 0 success, 1 error (bad input, failed run), 2 usage error (bad flags or arguments).
#pragma once
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/check.h"

namespace ms::cli {

// A command line the program cannot make sense of: printed as one line, exit status 2.
struct UsageError : Error {
  using Error::Error;
};

// Common flags a subcommand may take (bit set in Command::common).
enum CommonFlag : unsigned {
  kConfig = 1u << 0,  // -c/--config FILE
  kSet = 1u << 1,     // --set KEY=VALUE (repeatable)
  kResume = 1u << 2,  // --resume
  kCkpt = 1u << 3,    // --ckpt PATH
  kOut = 1u << 4,     // --out DIR
  kAllCommon = kConfig | kSet | kResume | kCkpt | kOut,
};

// A flag only one subcommand takes, e.g. `data tokens --mulaw`.
struct ExtraFlag {
  const char* name;        // "--mulaw"
  const char* value_name;  // "N" for a flag with a value; nullptr for a switch
  const char* help;
};

// A parsed command line.
struct Args {
  std::string command;
  std::string config;             // -c/--config; empty when not given
  std::vector<std::string> sets;  // --set, in order given (later ones win)
  bool resume = false;
  std::string ckpt;               // --ckpt
  std::string out;                // --out
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> extra;  // extra flags given ("" values for switches)

  bool has(const std::string& flag) const { return extra.count(flag) > 0; }
  std::string value(const std::string& flag, const std::string& fallback = "") const;
};

using Handler = std::function<int(const Args&)>;

struct Command {
  const char* name;
  const char* summary;     // one line, for `mambaseq --help`
  const char* usage;       // "mambaseq pretrain -c FILE [options]"
  const char* help;        // what it does, what it reads and writes, examples (several paragraphs)
  unsigned common = 0;     // CommonFlag bits
  int min_positional = 0;
  int max_positional = 0;  // -1: any number
  std::vector<ExtraFlag> extra_flags;
  Handler handler;
  // Optional: the config keys the command reads (ms::cfg::format_fields(ms::cfg::describe<Cfg>())),
  // listed at the end of its --help.
  std::function<std::string()> config_keys;
  const char* config_keys_heading = nullptr;  // the heading of that list (default: "Config keys (...)")
};

// The subcommand table, in the order `mambaseq --help` lists it.
const std::vector<Command>& commands();
const Command* find_command(std::string_view name);

// Parses argv[first..argc) for `cmd`. Throws UsageError for unknown or misplaced flags, missing values
// and wrong argument counts. `-h`/`--help` anywhere sets `help` and stops parsing.
Args parse_args(const Command& cmd, int argc, const char* const* argv, int first, bool& help);

std::string main_help();
std::string command_help(const Command& cmd);

// The run folder: --out when given, else runs/<name>.
std::string run_dir(const Args& args, const std::string& name);

// For handlers whose pipeline has not landed: throws "<command>: not implemented yet in this build".
[[noreturn]] void not_implemented(const Args& args);

// Runs the program: help, dispatch, and errors turned into "mambaseq: error: ..." with exit 1 or 2.
int run_main(int argc, const char* const* argv);

}  // namespace ms::cli
