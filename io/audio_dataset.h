// Audio data sets for waveform models: lists of files, a deterministic train/valid/test split by file,
// a decoded in-memory cache, and batches of token windows drawn from (seed, step, index).
//
// Token stream of a file: one silence token (the start-of-sequence input, as SaShiMi's loader does)
// followed by the tokens of its samples (16 kHz mono, rounded to 16-bit PCM, quantized; see
// io/audio_tokens.h). A batch row is a window of L+1 consecutive tokens of one stream: the model reads
// [0, L) and predicts [1, L+1). A 1 s SC09 clip (16000 samples) with L = 16000 is exactly one window.
//
// Files whose stream is shorter than L+1 are padded at the end with the silence token (`pad`, the default;
// AudioBatch::lengths tells how many tokens of each row are real, so the pipeline can set the targets
// past it to the cross-entropy ignore index as SaShiMi does) or left out of training windows (`skip`).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/audio.h"
#include "io/quantize.h"
#include "kernels/tensor.h"

namespace ms {

// Extensions scanned in directories (lower case, compared case-insensitively).
std::vector<std::string> default_audio_extensions();  // wav flac ogg oga aif aiff au

// Every audio file under `dir` (recursive, symlinks followed), sorted by path relative to `dir` (byte order),
// so the list does not depend on the file system's order. An empty result is an error naming the folder.
std::vector<std::string> list_audio_files(const std::string& dir,
                                          const std::vector<std::string>& extensions = default_audio_extensions());
// A text file with one audio path per line; relative paths are relative to the list file's folder; blank
// lines and '#' comments are skipped; a missing file is an error naming the list and the line.
std::vector<std::string> read_audio_file_list(const std::string& list_path);
// A directory (scanned) or a file list (anything else).
std::vector<std::string> resolve_audio_files(const std::string& dir_or_list);

struct SplitFractions {
  double valid = 0.05;
  double test = 0.05;
  uint64_t seed = 0;
};
struct FileSplit {
  std::vector<std::string> train, valid, test;  // each sorted
};
// Deterministic split by file: files are ordered by a hash of (seed, path relative to `root`) and the first
// round(test * n) go to test, the next round(valid * n) to valid, the rest to train. Depends only on the
// set of relative paths (not on their order or on where the data folder lives).
FileSplit split_files(const std::vector<std::string>& files, const SplitFractions& fractions,
                      const std::string& root = "");

enum class ShortFilePolicy { pad, skip };
ShortFilePolicy parse_short_file_policy(const std::string& name);  // "pad" | "skip"

struct AudioDatasetOptions {
  AudioReadOptions read;                        // 16 kHz target, resampling on, any source bit depth
  Quantization quantization = Quantization::mulaw;
  int bits = 8;
  int64_t window = 16000;                       // L; at most 2^20
  ShortFilePolicy short_files = ShortFilePolicy::pad;
  bool labels_from_dirs = false;                // class = name of the file's parent folder
  int threads = 0;                              // decoding threads; 0 = hardware concurrency (at most 8)
};

// A window of a file's token stream: tokens [offset, offset + length) of file `file`.
struct AudioWindow {
  int64_t file = 0;
  int64_t offset = 0;
  int64_t length = 0;
};

struct AudioBatch {
  Tensor tokens;                     // i32 (B, L+1), CPU; rows padded with the silence token
  std::vector<int64_t> lengths;      // real tokens in each row (<= L+1); targets at positions >= length are padding
  Tensor labels;                     // i32 (B): class of each row's file (-1 without labels)
  std::vector<AudioWindow> windows;  // where each row came from
};

class AudioDataset {
 public:
  // Decodes every file (in parallel) into the cache; the first failing file's error is thrown.
  AudioDataset(std::vector<std::string> files, const AudioDatasetOptions& options);

  const AudioDatasetOptions& options() const { return opt_; }
  int64_t num_files() const { return static_cast<int64_t>(files_.size()); }
  const std::string& path(int64_t i) const { return files_.at(static_cast<size_t>(i)); }
  const std::vector<int16_t>& pcm(int64_t i) const { return pcm_.at(static_cast<size_t>(i)); }  // cached audio
  int64_t total_samples() const { return total_samples_; }
  double seconds() const;
  int32_t silence() const { return silence_; }
  int64_t stream_length(int64_t i) const { return static_cast<int64_t>(pcm(i).size()) + 1; }
  int64_t skipped_files() const { return skipped_; }  // too short for a window under `skip`

  // Labels (labels_from_dirs): sorted class names and the class of each file.
  const std::vector<std::string>& classes() const { return classes_; }
  int label(int64_t i) const { return labels_.empty() ? -1 : labels_.at(static_cast<size_t>(i)); }

  // Training: row `index` of the batch at `step` is a window whose start is uniform over all window
  // starts of all (non-skipped) files, chosen by random_bits(seed', step, index) (kernels/random.h).
  AudioWindow sample_window(uint64_t seed, uint64_t step, int64_t index) const;
  // `length` in (0, L): rows of length+1 tokens (a sequence-length warmup), the first length+1 tokens of
  // the windows that `sample_window` draws, so starts stay where full windows fit. `first_row`: the rows
  // first_row .. first_row + batch_size of the step's batch (one data-parallel rank's share).
  AudioBatch batch(uint64_t seed, uint64_t step, int64_t batch_size, int64_t length = 0, int64_t first_row = 0) const;

  // Evaluation: consecutive windows over every file, overlapping by one token, so every token of every
  // stream after its first is a target exactly once; the last window of a file may be short.
  std::vector<AudioWindow> eval_windows() const;
  // Rows from explicit windows (each of length <= width), padded as in training to `width` tokens
  // (0: L+1, the training row; evaluation passes less when every window of the batch is shorter).
  AudioBatch make_batch(const std::vector<AudioWindow>& windows, int64_t width = 0) const;
  // A whole file's token stream, i32 (stream_length(i)).
  Tensor file_tokens(int64_t i) const;
  void fill_tokens(int64_t file, int64_t offset, int64_t length, int32_t* out) const;

 private:
  AudioDatasetOptions opt_;
  std::vector<std::string> files_;
  std::vector<std::vector<int16_t>> pcm_;
  std::vector<int32_t> table_;
  int32_t silence_ = 0;
  int64_t total_samples_ = 0;
  int64_t skipped_ = 0;
  std::vector<int64_t> start_prefix_;  // cumulative window-start counts, size num_files + 1
  std::vector<std::string> classes_;
  std::vector<int> labels_;
};

}  // namespace ms
