// HDF5 checkpoints: parameters, optimizer state, step, RNG state, data cursor, pipeline scalars and the
// resolved config, in one file written atomically (temp file + fsync + rename). Layout (docs/io-infra.md):
//
//   /params/<name>            tensors as stored (f32 as f32, f64 as f64, ...), with their shapes
//   /optim/<name>             e.g. /optim/<param>/m, /optim/<param>/v
//   /state/step               int64
//   /state/rng                uint64[3]: Rng seed, stream, counter
//   /state/data_cursor/<key>  int64      /state/ints/<key> int64      /state/reals/<key> float64
//   /config                   string: the resolved TOML config
//
// Tensor data is chunked with HDF5's Fletcher-32 checksum and metadata uses the 1.10 format (checksummed
// headers), so truncated or corrupted files are refused with a one-line error rather than read as junk.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kernels/random.h"
#include "kernels/tensor.h"

namespace ms {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct Checkpoint {
  NamedTensors params;  // names as in mamba_ssm: "backbone.layers.0.mixer.in_proj.weight"
  NamedTensors optim;   // names may contain '/': "backbone.layers.0.mixer.in_proj.weight/m"
  int64_t step = 0;
  Rng rng;
  std::map<std::string, int64_t> data_cursor;
  std::map<std::string, int64_t> ints;  // anything else a pipeline needs to resume exactly
  std::map<std::string, double> reals;
  std::string config;  // resolved TOML text
};

// Writes `ck` to `path` atomically. Tensors may live on any device (CUDA ones are copied to the host) and
// be strided; they are stored contiguous, in their dtype (bf16 as uint16 with attribute dtype = "bf16").
void write_checkpoint(const std::string& path, const Checkpoint& ck);

// Reads a whole checkpoint into CPU tensors (in the order they were written). Missing file, not HDF5,
// not a mambaseq checkpoint, truncated or corrupted data, missing datasets: one-line ms::Error naming
// the file and the problem.
Checkpoint read_checkpoint(const std::string& path);

// Only /config, without reading tensors (to rebuild the model a checkpoint was trained with).
std::string read_checkpoint_config(const std::string& path);

// The names of the parameter tensors, without reading them (what kind of model a checkpoint holds).
std::vector<std::string> read_checkpoint_param_names(const std::string& path);

// The tensor called `name`, or nullptr.
const Tensor* find_tensor(const NamedTensors& tensors, const std::string& name);

struct RestoreOptions {
  bool allow_missing = false;  // names in `into` that the checkpoint lacks are left as they are
  bool allow_unused = false;   // checkpoint tensors that `into` does not name are ignored
};

// Copies checkpoint tensors into the model's (any device, same shapes; float dtypes are converted).
// `what` is "parameter" or "optimizer state" for messages. A shape mismatch reads: "checkpoint X has
// parameter N of shape [256, 64], the model expects [512, 64]: the config's model section differs from
// the one the checkpoint was trained with". Returns the names of `into` that were not in `from`.
std::vector<std::string> restore_tensors(const std::string& ckpt_path, const char* what, const NamedTensors& from,
                                         const NamedTensors& into, const RestoreOptions& options = {});

// ---- run folders: last.h5 plus every-N-steps copies ----

struct CheckpointPolicy {
  int64_t every = 0;  // keep a step_<step>.h5 copy when step % every == 0 (0: no copies)
  int64_t keep = 0;   // how many step copies to keep, newest first (0: all)
};

// <dir>/step_<8-digit step>.h5
std::string step_checkpoint_path(const std::string& dir, int64_t step);
// Writes <dir>/last.h5 and, when the policy says so, a step copy (a hard link of it, or a copy), then
// prunes old step copies. Creates `dir` if needed. Returns the paths written.
std::vector<std::string> save_checkpoint(const std::string& dir, const Checkpoint& ck, const CheckpointPolicy& policy);
// Step copies in `dir`, oldest first.
std::vector<std::pair<int64_t, std::string>> list_step_checkpoints(const std::string& dir);
// Removes all but the `keep` newest step copies (keep <= 0: nothing removed).
void prune_step_checkpoints(const std::string& dir, int64_t keep);
// The checkpoint --resume starts from: `explicit_path` when given, else <run_dir>/last.h5; an error that
// says what to do when it does not exist.
std::string resume_checkpoint_path(const std::string& run_dir, const std::string& explicit_path = "");


// The files of a run folder.
struct RunFiles {
  std::string dir, config, metrics, last;  // dir, dir/config.toml, dir/metrics.jsonl, dir/last.h5
};
RunFiles run_files(const std::string& dir);

// Prepares `dir` for a run and writes the resolved config to config.toml (atomically).
// A fresh run (resume_step < 0) refuses a folder that already holds last.h5, unless `overwrite` (then the
// old checkpoints and metrics are removed first). A resumed run drops the metrics rows logged after
// `resume_step` (the checkpoint's step), since those steps run again.
RunFiles prepare_run(const std::string& dir, const std::string& config_toml, int64_t resume_step = -1,
                     bool overwrite = false);

}  // namespace ms
