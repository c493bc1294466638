#include "apps/run_pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "io/atomic_file.h"
#include "io/progress.h"
#include "pipelines/audio_config.h"
#include "pipelines/digits.h"
#include "pipelines/finetune.h"
#include "pipelines/pretrain.h"
#include "pipelines/synthetic.h"

namespace ms::cli {

void bind(cfg::Binder& b, PipelineStage& s) {
  b.field("name", s.name, "the stage's label and folder name (default <index>_<command>)");
  b.field("command", s.command, cfg::one_of(pipeline_commands()).required(), "the mambaseq command to run");
  b.field("config", s.config, "-c: the command's config file");
  b.field("set", s.set, "--set overrides of this stage (the command line's --set come after them)");
  b.field("ckpt", s.ckpt, "--ckpt: ${NAME}/last.h5 is the last checkpoint of the earlier stage NAME");
  b.field("out", s.out, "--out: the stage's folder (default <pipeline folder>/<name>)");
}

void bind(cfg::Binder& b, PipelineFile& p) {
  b.field("name", p.name, "the pipeline's folder: runs/<name> unless --out is given");
  b.list("stage", p.stage, "the stages, run in order");
}

const std::vector<std::string>& pipeline_commands() {
  static const std::vector<std::string> names = {"pretrain", "finetune", "eval", "generate", "synth"};
  return names;
}

namespace {

constexpr const char* kDoneMarker = "stage_done";

bool is_training(const std::string& command) {
  return command == "pretrain" || command == "finetune" || command == "synth";
}

bool valid_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// Replaces ${out} by the pipeline folder and ${NAME} by the folder of the earlier stage NAME.
std::string expand(const std::string& text, const std::string& out, const std::map<std::string, std::string>& earlier,
                   const std::string& where) {
  std::string r;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("${", i);
    if (open == std::string::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string::npos) MS_FAIL(where, ": '", text, "' has '${' without its '}'");
    r += text.substr(i, open - i);
    const std::string key = text.substr(open + 2, close - open - 2);
    if (key == "out") {
      r += out;
    } else {
      auto it = earlier.find(key);
      if (it == earlier.end()) {
        std::string names;
        for (const auto& [n, dir] : earlier) names += (names.empty() ? "" : ", ") + n;
        MS_FAIL(where, ": ${", key, "} names no earlier stage (earlier: ", names.empty() ? "none" : names,
                "; ${out} is the pipeline folder)");
      }
      r += it->second;
    }
    i = close + 1;
  }
  return r + text.substr(i);
}

struct StageOutcome {
  std::string status;  // done, done earlier, failed, not run
  double seconds = 0;
};

void write_summary(const std::string& path, const PipelineFile& p, const std::vector<StageOutcome>& outcomes) {
  std::ostringstream s;
  s << "stage\tcommand\tstatus\tseconds\tfolder\n";
  for (size_t i = 0; i < p.stage.size(); ++i) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", outcomes[i].seconds);
    s << p.stage[i].name << '\t' << p.stage[i].command << '\t' << outcomes[i].status << '\t' << secs << '\t'
      << p.stage[i].out << '\n';
  }
  atomic_write_text(path, s.str());
}

// Parses a training stage's config with its --set values as its command will, so that an unknown key,
// a wrong type or an out-of-range value stops the pipeline before it starts, not hours into it.
void check_stage_config(const PipelineStage& s, const std::vector<std::string>& extra_sets, size_t index) {
  if (s.config.empty() || !is_training(s.command)) return;
  std::vector<std::string> sets = s.set;
  sets.insert(sets.end(), extra_sets.begin(), extra_sets.end());
  try {
    const bool audio = is_audio_config(s.config);
    if (s.command == "pretrain" && audio) (void)cfg::load<AudioPretrainConfig>(s.config, sets);
    if (s.command == "pretrain" && !audio) (void)cfg::load<PretrainConfig>(s.config, sets);
    if (s.command == "finetune" && audio) (void)cfg::load<DigitsConfig>(s.config, sets);
    if (s.command == "finetune" && !audio) (void)cfg::load<FinetuneConfig>(s.config, sets);
    if (s.command == "synth") (void)cfg::load<SynthConfig>(s.config, sets);
  } catch (const std::exception& e) {
    MS_FAIL("stage ", index + 1, " ('", s.name, "'): ", e.what());
  }
}

// The stage as the command line it stands for (for --dry-run and the log).
std::string command_line(const PipelineStage& s, const std::vector<std::string>& extra_sets, bool resume) {
  auto quote = [](const std::string& v) {
    const bool plain = !v.empty() && v.find_first_of(" \t\"'$\\[]{}*?;&|<>()") == std::string::npos;
    if (plain) return v;
    std::string q = "'";
    for (char c : v) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string line = "mambaseq " + s.command;
  if (!s.config.empty()) line += " -c " + quote(s.config);
  if (!s.ckpt.empty()) line += " --ckpt " + quote(s.ckpt);
  for (const std::string& kv : s.set) line += " --set " + quote(kv);
  for (const std::string& kv : extra_sets) line += " --set " + quote(kv);
  if (resume) line += " --resume";
  return line + " --out " + quote(s.out);
}

std::string pipeline_folder(const PipelineFile& p, const std::string& out_override) {
  return !out_override.empty() ? out_override : (std::filesystem::path("runs") / p.name).string();
}

// Whether `path` lies inside the folder `dir` (textually: the paths of a pipeline are built from it).
bool inside(const std::string& path, const std::string& dir) {
  return path.rfind((std::filesystem::path(dir) / "").string(), 0) == 0;
}

}  // namespace

PipelineFile load_pipeline(const std::string& path, const std::string& out_override) {
  PipelineFile p = cfg::load<PipelineFile>(path);
  if (p.stage.empty()) MS_FAIL(path, ": no [[stage]] tables: a pipeline needs at least one stage");
  if (!valid_name(p.name)) MS_FAIL(path, ": name = \"", p.name, "\" must be letters, digits, '_', '-' or '.'");
  const std::string out = pipeline_folder(p, out_override);
  std::map<std::string, std::string> folders;  // earlier stages: name -> folder
  for (size_t i = 0; i < p.stage.size(); ++i) {
    PipelineStage& s = p.stage[i];
    if (s.name.empty()) s.name = std::to_string(i + 1) + "_" + s.command;
    const std::string where = path + ": stage " + std::to_string(i + 1) + " ('" + s.name + "')";
    if (!valid_name(s.name)) MS_FAIL(where, ": name must be letters, digits, '_', '-' or '.'");
    if (folders.count(s.name) || s.name == "out") MS_FAIL(where, ": the name is used twice (or is the reserved 'out')");
    s.config = expand(s.config, out, folders, where);
    s.ckpt = expand(s.ckpt, out, folders, where);
    for (std::string& kv : s.set) kv = expand(kv, out, folders, where);
    s.out = s.out.empty() ? (std::filesystem::path(out) / s.name).string() : expand(s.out, out, folders, where);
    // Fail before hours of earlier stages, not after: files that no stage writes must exist now.
    if (!s.config.empty() && !std::filesystem::exists(s.config))
      MS_FAIL(where, ": config \"", s.config, "\" does not exist");
    if ((s.command == "eval" || s.command == "generate") && s.ckpt.empty())
      MS_FAIL(where, ": ", s.command, " needs ckpt (for example \"${<earlier stage>}/last.h5\")");
    const bool written_by_a_stage =
        inside(s.ckpt, out) ||
        std::any_of(folders.begin(), folders.end(), [&](const auto& f) { return inside(s.ckpt, f.second); });
    if (!s.ckpt.empty() && !written_by_a_stage && !std::filesystem::exists(s.ckpt))
      MS_FAIL(where, ": ckpt \"", s.ckpt, "\" does not exist (and is not in a folder of the pipeline: ", out, ")");
    if (is_training(s.command) && s.config.empty()) MS_FAIL(where, ": ", s.command, " needs a config");
    folders[s.name] = s.out;
  }
  return p;
}

int cmd_run(const Args& a) {
  const std::string& file = a.positional.at(0);
  const PipelineFile p = load_pipeline(file, a.out);
  const std::string out = pipeline_folder(p, a.out);
  for (size_t i = 0; i < p.stage.size(); ++i) check_stage_config(p.stage[i], a.sets, i);
  if (a.has("--dry-run")) {
    std::printf("pipeline %s: %zu stages from %s -> %s (dry run: nothing is run)\n", p.name.c_str(), p.stage.size(),
                file.c_str(), out.c_str());
    for (size_t i = 0; i < p.stage.size(); ++i)
      std::printf("[stage %zu/%zu] %s\n", i + 1, p.stage.size(), command_line(p.stage[i], a.sets, false).c_str());
    return 0;
  }
  std::filesystem::create_directories(out);
  const std::string summary = out + "/pipeline.tsv";
  const size_t n = p.stage.size();
  std::vector<StageOutcome> outcomes(n, StageOutcome{"not run", 0});
  std::printf("pipeline %s: %zu stages from %s -> %s\n", p.name.c_str(), n, file.c_str(), out.c_str());
  const auto t_all = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    const PipelineStage& s = p.stage[i];
    const std::string marker = s.out + "/" + kDoneMarker;
    if (a.resume && std::filesystem::exists(marker)) {
      outcomes[i].status = "done earlier";
      std::printf("[stage %zu/%zu] %s %s: done earlier (%s)\n", i + 1, n, s.command.c_str(), s.name.c_str(), marker.c_str());
      continue;
    }
    Args sa;
    sa.command = s.command;
    sa.config = s.config;
    sa.sets = s.set;
    sa.sets.insert(sa.sets.end(), a.sets.begin(), a.sets.end());
    sa.ckpt = s.ckpt;
    sa.out = s.out;
    sa.resume = a.resume && is_training(s.command) && std::filesystem::exists(s.out + "/last.h5");
    std::printf("\n[stage %zu/%zu] %s %s%s -> %s\n  %s\n", i + 1, n, s.command.c_str(), s.name.c_str(),
                sa.resume ? " (resuming)" : "", s.out.c_str(), command_line(s, a.sets, sa.resume).c_str());
    std::fflush(stdout);
    const Command* cmd = find_command(s.command);
    MS_CHECK(cmd != nullptr, "pipeline: no command '", s.command, "'");
    const auto t0 = std::chrono::steady_clock::now();
    int rc = 0;
    try {
      rc = cmd->handler(sa);
    } catch (const std::exception& e) {
      outcomes[i] = {"failed", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
      write_summary(summary, p, outcomes);
      MS_FAIL("stage ", i + 1, "/", n, " ('", s.name, "', ", s.command, ") failed: ", e.what());
    }
    outcomes[i] = {rc == 0 ? "done" : "failed", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
    if (rc != 0) {
      write_summary(summary, p, outcomes);
      MS_FAIL("stage ", i + 1, "/", n, " ('", s.name, "', ", s.command, ") exited with status ", rc);
    }
    std::filesystem::create_directories(s.out);
    atomic_write_text(marker, s.command + " finished\n");
    write_summary(summary, p, outcomes);
    std::printf("[stage %zu/%zu] %s %s: done in %s\n", i + 1, n, s.command.c_str(), s.name.c_str(),
                format_duration(outcomes[i].seconds).c_str());
    std::fflush(stdout);
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count();
  std::printf("\npipeline %s: %zu stages in %s (%s)\n", p.name.c_str(), n, format_duration(total).c_str(), summary.c_str());
  for (size_t i = 0; i < n; ++i)
    std::printf("  %-24s %-9s %-13s %s\n", p.stage[i].name.c_str(), p.stage[i].command.c_str(),
                outcomes[i].status.c_str(), format_duration(outcomes[i].seconds).c_str());
  return 0;
}

}  // namespace ms::cli
