// Flag parsing, help text layout and the top-level error handling of `mambaseq`.
#include "apps/cli.h"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <sstream>

#include "io/closest_name.h"

namespace ms::cli {
namespace {

constexpr const char* kVersion = "0.1.0";

struct CommonSpec {
  CommonFlag bit;
  const char* short_name;  // may be nullptr
  const char* name;
  const char* value_name;  // nullptr: a switch
  const char* help;
};

const CommonSpec kCommon[] = {
    {kConfig, "-c", "--config", "FILE", "TOML config file; keys it does not set keep their defaults"},
    {kSet, nullptr, "--set", "KEY=VALUE",
     "override one config key, e.g. --set train.lr=3e-4 (repeatable, later wins; VALUE is TOML: "
     "numbers, true/false, [arrays]; strings may be bare words)"},
    {kResume, nullptr, "--resume", nullptr,
     "continue the run from its last checkpoint (<run folder>/last.h5, or the one given with --ckpt); "
     "losses continue exactly as in an uninterrupted run"},
    {kCkpt, nullptr, "--ckpt", "PATH", "checkpoint (.h5) to start from, resume or evaluate"},
    {kOut, nullptr, "--out", "DIR", "run folder (default runs/<name>, with name from the config)"},
};

[[noreturn]] void usage_error(const Command& cmd, const std::string& what) {
  throw UsageError(std::string(cmd.name) + ": " + what + " (see mambaseq " + cmd.name + " --help)");
}

// Wraps `text` at `width` columns, every line indented by `indent` (the first by `first_indent`).
std::string wrap(const std::string& text, size_t indent, size_t width, size_t first_indent) {
  std::istringstream words(text);
  std::string word, out, line(first_indent, ' ');
  bool line_empty = true;
  while (words >> word) {
    if (!line_empty && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = std::string(indent, ' ');
      line_empty = true;
    }
    if (!line_empty) line += ' ';
    line += word;
    line_empty = false;
  }
  return out + line + "\n";
}

std::string option_row(const std::string& names, const char* help) {
  constexpr size_t kCol = 24;
  std::string row = "  " + names;
  if (row.size() + 2 > kCol) return row + "\n" + wrap(help, kCol, 100, kCol);
  return row + wrap(help, kCol, 100, kCol).substr(row.size());
}

}  // namespace

std::string Args::value(const std::string& flag, const std::string& fallback) const {
  auto it = extra.find(flag);
  return it == extra.end() || it->second.empty() ? fallback : it->second.back();
}

const Command* find_command(std::string_view name) {
  for (const auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

Args parse_args(const Command& cmd, int argc, const char* const* argv, int first, bool& help) {
  Args a;
  a.command = cmd.name;
  help = false;
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (only_positional || arg.empty() || arg[0] != '-' || arg == "-") {
      a.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      help = true;
      return a;
    }
    // --name=value or --name value
    std::string name = arg, value;
    bool inline_value = false;
    if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    auto take_value = [&](const char* value_name) {
      if (inline_value) return value;
      if (i + 1 >= argc) usage_error(cmd, "option " + name + " needs a value (" + value_name + ")");
      return std::string(argv[++i]);
    };
    const CommonSpec* common = nullptr;
    for (const auto& s : kCommon)
      if (name == s.name || (s.short_name && name == s.short_name)) common = &s;
    if (common) {
      if (!(cmd.common & common->bit))
        usage_error(cmd, std::string("option ") + common->name + " does not apply to " + cmd.name);
      if (!common->value_name && inline_value) usage_error(cmd, std::string("option ") + common->name + " takes no value");
      switch (common->bit) {
        case kConfig:
          if (!a.config.empty()) usage_error(cmd, "option --config given twice");
          a.config = take_value(common->value_name);
          if (a.config.empty()) usage_error(cmd, "option --config needs a file name");
          break;
        case kSet: {
          std::string kv = take_value(common->value_name);
          const size_t eq = kv.find('=');
          if (eq == std::string::npos || eq == 0)
            usage_error(cmd, "--set " + kv + ": expected KEY=VALUE, e.g. --set train.lr=0.001");
          a.sets.push_back(std::move(kv));
          break;
        }
        case kResume: a.resume = true; break;
        case kCkpt:
          if (!a.ckpt.empty()) usage_error(cmd, "option --ckpt given twice");
          a.ckpt = take_value(common->value_name);
          break;
        case kOut:
          if (!a.out.empty()) usage_error(cmd, "option --out given twice");
          a.out = take_value(common->value_name);
          break;
        default: break;
      }
      continue;
    }
    const ExtraFlag* extra = nullptr;
    for (const auto& f : cmd.extra_flags)
      if (name == f.name) extra = &f;
    if (!extra) {
      std::string known;
      for (const auto& s : kCommon)
        if (cmd.common & s.bit) known += std::string(known.empty() ? "" : ", ") + s.name;
      for (const auto& f : cmd.extra_flags) known += std::string(known.empty() ? "" : ", ") + f.name;
      usage_error(cmd, "unknown option '" + name + "'" + (known.empty() ? "" : "; options: " + known));
    }
    if (!extra->value_name && inline_value) usage_error(cmd, std::string("option ") + extra->name + " takes no value");
    a.extra[extra->name].push_back(extra->value_name ? take_value(extra->value_name) : std::string());
  }
  const int n = static_cast<int>(a.positional.size());
  if (n < cmd.min_positional)
    usage_error(cmd, "expected " + std::string(cmd.max_positional == cmd.min_positional ? "" : "at least ") +
                         std::to_string(cmd.min_positional) + " argument" + (cmd.min_positional == 1 ? "" : "s") +
                         ", got " + std::to_string(n));
  if (cmd.max_positional >= 0 && n > cmd.max_positional) {
    if (cmd.max_positional == 0) usage_error(cmd, "unexpected argument '" + a.positional[0] + "'");
    usage_error(cmd, "expected at most " + std::to_string(cmd.max_positional) + " argument" +
                         (cmd.max_positional == 1 ? "" : "s") + ", got " + std::to_string(n));
  }
  return a;
}

std::string main_help() {
  std::string out =
      "mambaseq " + std::string(kVersion) +
      ": selective state-space models (Mamba) for long DNA and audio sequences\n\n"
      "Usage: mambaseq COMMAND [options] [arguments]\n"
      "       mambaseq COMMAND --help     (what a command does, its options and config keys)\n\n"
      "Commands:\n";
  for (const auto& c : commands()) {
    std::string row = "  " + std::string(c.name);
    row += std::string(row.size() < 12 ? 12 - row.size() : 1, ' ');
    out += row + c.summary + "\n";
  }
  out +=
      "\nCommon options (see each command's --help for the ones it takes):\n";
  for (const auto& s : kCommon) {
    std::string names = s.short_name ? std::string(s.short_name) + ", " + s.name : std::string("    ") + s.name;
    if (s.value_name) names += std::string(" ") + s.value_name;
    out += option_row(names, s.help);
  }
  out += option_row("-h, --help", "show help (mambaseq --help, mambaseq COMMAND --help)");
  out += option_row("    --version", "print the version");
  out +=
      "\nA run writes its folder runs/<name>/: config.toml (the resolved config, every key), metrics.jsonl\n"
      "(one JSON object per line: step, split, loss, ...), last.h5 and step_<N>.h5 checkpoints (HDF5).\n"
      "Progress goes to stderr: a bar with rate and ETA on a terminal, a plain line every few seconds\n"
      "otherwise.\n\n"
      "Exit status: 0 success, 1 error (bad input, failed run; one line 'mambaseq: error: ...'),\n"
      "2 usage error (unknown command or option, missing argument).\n";
  return out;
}

std::string command_help(const Command& cmd) {
  std::string out = std::string("Usage: ") + cmd.usage + "\n\n" + cmd.summary + ".\n\n";
  // Paragraphs of the long text are separated by blank lines; lines starting with spaces stay as they are.
  std::istringstream text(cmd.help);
  std::string line, para;
  auto flush = [&] {
    if (!para.empty()) out += wrap(para, 0, 100, 0);
    para.clear();
  };
  while (std::getline(text, line)) {
    if (line.empty()) {
      flush();
      out += "\n";
    } else if (line[0] == ' ') {
      flush();
      out += line + "\n";
    } else {
      para += (para.empty() ? "" : " ") + line;
    }
  }
  flush();
  out += "\nOptions:\n";
  for (const auto& s : kCommon) {
    if (!(cmd.common & s.bit)) continue;
    std::string names = s.short_name ? std::string(s.short_name) + ", " + s.name : std::string("    ") + s.name;
    if (s.value_name) names += std::string(" ") + s.value_name;
    out += option_row(names, s.help);
  }
  for (const auto& f : cmd.extra_flags) {
    std::string names = std::string("    ") + f.name;
    if (f.value_name) names += std::string(" ") + f.value_name;
    out += option_row(names, f.help);
  }
  out += option_row("-h, --help", "show this help");
  if (cmd.config_keys)
    out += "\n" + std::string(cmd.config_keys_heading ? cmd.config_keys_heading : "Config keys (set in the file or with --set)") +
           ":\n" + cmd.config_keys();
  return out;
}

std::string run_dir(const Args& args, const std::string& name) {
  if (!args.out.empty()) return args.out;
  return (std::filesystem::path("runs") / name).string();
}

void not_implemented(const Args& args) { MS_FAIL(args.command, ": not implemented yet in this build"); }

int run_main(int argc, const char* const* argv) {
  try {
    if (argc < 2) {
      std::fputs(main_help().c_str(), stderr);
      throw UsageError("no command given (see mambaseq --help)");
    }
    const std::string name = argv[1];
    if (name == "-h" || name == "--help") {
      std::fputs(main_help().c_str(), stdout);
      return 0;
    }
    if (name == "--version" || name == "version") {
      std::printf("mambaseq %s\n", kVersion);
      return 0;
    }
    if (name == "help") {
      if (argc < 3) {
        std::fputs(main_help().c_str(), stdout);
        return 0;
      }
      const Command* cmd = find_command(argv[2]);
      if (!cmd) throw UsageError("unknown command '" + std::string(argv[2]) + "' (see mambaseq --help)");
      std::fputs(command_help(*cmd).c_str(), stdout);
      return 0;
    }
    const Command* cmd = find_command(name);
    if (!cmd) {
      std::vector<std::string> names;
      for (const auto& c : commands()) names.push_back(c.name);
      const std::string hint = closest_name(name, names, 2);
      if (!name.empty() && name[0] == '-')
        throw UsageError("expected a command before '" + name + "' (see mambaseq --help)");
      throw UsageError("unknown command '" + name + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                       "; see mambaseq --help");
    }
    bool help = false;
    const Args args = parse_args(*cmd, argc, argv, 2, help);
    if (help) {
      std::fputs(command_help(*cmd).c_str(), stdout);
      return 0;
    }
    // Files named on the command line are checked before any work starts.
    namespace fs = std::filesystem;
    if (!args.config.empty() && !fs::exists(args.config)) MS_FAIL("config file '", args.config, "' does not exist");
    if (!args.ckpt.empty() && !fs::exists(args.ckpt)) MS_FAIL("checkpoint '", args.ckpt, "' does not exist");
    return cmd->handler(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "mambaseq: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mambaseq: error: out of host memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (c == '\n') c = ' ';  // one line, whatever the source of the message
    std::fprintf(stderr, "mambaseq: error: %s\n", msg.c_str());
    return 1;
  }
}

}  // namespace ms::cli
