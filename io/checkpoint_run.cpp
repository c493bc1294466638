// Checkpoints in use: restoring tensors into a model with clear mismatch errors, and the run folder's
// last.h5 + step_<N>.h5 copies.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "io/atomic_file.h"
#include "io/checkpoint.h"
#include "io/metrics.h"
#include "kernels/check.h"

namespace fs = std::filesystem;

namespace ms {

const Tensor* find_tensor(const NamedTensors& tensors, const std::string& name) {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

std::vector<std::string> restore_tensors(const std::string& ckpt_path, const char* what, const NamedTensors& from,
                                         const NamedTensors& into, const RestoreOptions& options) {
  static const char* kDiffers =
      "the config's model section differs from the one the checkpoint was trained with";
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [n, t] : from) by_name[n] = &t;
  std::vector<std::string> missing;
  for (const auto& [name, dst] : into) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      if (options.allow_missing) {
        missing.push_back(name);
        continue;
      }
      MS_FAIL("checkpoint '", ckpt_path, "' has no ", what, " ", name, " that the model expects: ", kDiffers);
    }
    const Tensor& src = *it->second;
    if (src.shape() != dst.shape())
      MS_FAIL("checkpoint '", ckpt_path, "' has ", what, " ", name, " of shape ", shape_str(src.shape()),
              ", the model expects ", shape_str(dst.shape()), ": ", kDiffers);
    if (src.dtype() == dst.dtype()) {
      dst.copy_(src);
    } else if (is_floating(src.dtype()) && is_floating(dst.dtype())) {
      dst.copy_(src.to(Device::cpu).to(dst.dtype()));
    } else {
      MS_FAIL("checkpoint '", ckpt_path, "' has ", what, " ", name, " as ", dtype_name(src.dtype()),
              ", the model expects ", dtype_name(dst.dtype()));
    }
  }
  if (!options.allow_unused) {
    std::unordered_map<std::string, bool> wanted;
    for (const auto& [n, t] : into) wanted[n] = true;
    for (const auto& [n, t] : from)
      if (!wanted.count(n))
        MS_FAIL("checkpoint '", ckpt_path, "' has ", what, " ", n, " that the model does not have: ", kDiffers);
  }
  return missing;
}

std::string step_checkpoint_path(const std::string& dir, int64_t step) {
  char name[40];
  std::snprintf(name, sizeof name, "step_%08lld.h5", static_cast<long long>(step));
  return (fs::path(dir) / name).string();
}

std::vector<std::pair<int64_t, std::string>> list_step_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() < 9 || name.compare(0, 5, "step_") != 0 || name.compare(name.size() - 3, 3, ".h5") != 0) continue;
    const std::string digits = name.substr(5, name.size() - 8);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.emplace_back(std::stoll(digits), it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void prune_step_checkpoints(const std::string& dir, int64_t keep) {
  if (keep <= 0) return;
  auto all = list_step_checkpoints(dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].second, ec);
    if (ec) MS_FAIL("cannot remove old checkpoint '", all[i].second, "': ", ec.message());
  }
}

std::vector<std::string> save_checkpoint(const std::string& dir, const Checkpoint& ck, const CheckpointPolicy& policy) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) MS_FAIL("cannot create checkpoint directory '", dir, "': ", ec.message());
  const std::string last = (fs::path(dir) / "last.h5").string();
  write_checkpoint(last, ck);
  std::vector<std::string> written{last};
  if (policy.every > 0 && ck.step % policy.every == 0) {
    // Files are only ever replaced by rename, never modified, so the copy may share last.h5's inode.
    const std::string copy = step_checkpoint_path(dir, ck.step);
    atomic_link_or_copy(last, copy);
    written.push_back(copy);
    prune_step_checkpoints(dir, policy.keep);
  }
  return written;
}

std::string resume_checkpoint_path(const std::string& run_dir, const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!fs::exists(explicit_path)) MS_FAIL("checkpoint '", explicit_path, "' does not exist");
    return explicit_path;
  }
  const std::string last = (fs::path(run_dir) / "last.h5").string();
  if (!fs::exists(last))
    MS_FAIL("cannot resume: '", last, "' does not exist (start the run without --resume, or name a checkpoint "
            "with --ckpt PATH)");
  return last;
}

RunFiles run_files(const std::string& dir) {
  const fs::path d(dir);
  return {dir, (d / "config.toml").string(), (d / "metrics.jsonl").string(), (d / "last.h5").string()};
}

RunFiles prepare_run(const std::string& dir, const std::string& config_toml, int64_t resume_step, bool overwrite) {
  const RunFiles f = run_files(dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) MS_FAIL("cannot create run folder '", dir, "': ", ec.message());
  if (resume_step < 0 && fs::exists(f.last)) {
    if (!overwrite)
      MS_FAIL("run folder '", dir, "' already holds a run (last.h5): continue it with --resume, or start elsewhere "
              "with --out DIR");
    for (const auto& [step, path] : list_step_checkpoints(dir)) fs::remove(path, ec);
    fs::remove(f.last, ec);
    fs::remove(f.metrics, ec);
  }
  if (resume_step < 0 && !overwrite && fs::exists(f.metrics)) fs::remove(f.metrics, ec);  // no checkpoint: stale
  if (resume_step >= 0) truncate_metrics_after(f.metrics, resume_step);
  atomic_write_text(f.config, config_toml);
  return f;
}

}  // namespace ms
