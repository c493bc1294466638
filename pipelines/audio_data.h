// The data side of the audio pipelines: training/held-out file sets from the [data] section, model
// inputs and targets from dataset windows, and the held-out windows that score every target once.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/audio_dataset.h"
#include "pipelines/audio_config.h"
#include "pipelines/synthetic_data.h"  // TokenBatch

namespace ms {

struct AudioFiles {
  std::vector<std::string> train, valid, test;
  std::string describe;  // one line: counts and where they came from
};
// data.train / data.valid / data.test resolved (folders scanned, lists read); with data.valid = "" the
// held-out files are split off the training files (data.valid_fraction, by file, deterministic).
AudioFiles resolve_data_files(const AudioDataSection& d);

// A batch of windows of L+1 tokens -> inputs (B, L) = tokens[:, :L], targets (B, L) = tokens[:, 1:], with
// targets at padded positions (>= the row's real length) set to kIgnoreIndex. CPU tensors.
TokenBatch window_inputs_targets(const AudioBatch& batch);

// Held-out windows of `dataset` (whose options().window is the evaluation length L): consecutive windows
// of L+1 tokens overlapping by one, so each target is scored once; with span > 0 only the `span` samples in
// the middle of each file (all of a shorter file) are covered.
std::vector<AudioWindow> heldout_windows(const AudioDataset& dataset, int64_t span);

}  // namespace ms
