#include "pipelines/audio_data.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "kernels/cross_entropy.h"

namespace ms {

namespace {
std::vector<std::string> resolve(const std::string& key, const std::string& what) {
  if (!std::filesystem::exists(what))
    MS_FAIL(key, " = \"", what, "\": no such folder or file list (build the audio data with scripts/prepare-audio.sh)");
  return resolve_audio_files(what);
}
}  // namespace

AudioFiles resolve_data_files(const AudioDataSection& d) {
  AudioFiles f;
  if (d.train.empty()) MS_FAIL("data.train is empty: name a folder of audio files or a file list");
  std::vector<std::string> train = resolve("data.train", d.train);
  std::ostringstream os;
  if (!d.valid.empty()) {
    f.train = std::move(train);
    f.valid = resolve("data.valid", d.valid);
    os << f.train.size() << " training files (" << d.train << "), " << f.valid.size() << " held-out (" << d.valid
       << ")";
  } else {
    if (d.valid_fraction <= 0)
      MS_FAIL("data.valid is empty and data.valid_fraction = 0: there is no held-out audio; set one of them");
    if (train.size() < 2)
      MS_FAIL("data.train ('", d.train, "') has ", train.size(),
              " file(s): splitting off held-out files needs at least 2 (or set data.valid)");
    const std::string root = std::filesystem::is_directory(d.train) ? d.train : "";
    FileSplit s = split_files(train, {d.valid_fraction, 0.0, static_cast<uint64_t>(d.split_seed)}, root);
    f.train = std::move(s.train);
    f.valid = std::move(s.valid);
    os << f.train.size() << " training and " << f.valid.size() << " held-out files split from " << d.train
       << " (valid_fraction " << d.valid_fraction << ", seed " << d.split_seed << ")";
  }
  if (!d.test.empty()) {
    f.test = resolve("data.test", d.test);
    os << ", " << f.test.size() << " test (" << d.test << ")";
  }
  f.describe = os.str();
  return f;
}

TokenBatch window_inputs_targets(const AudioBatch& batch) {
  const int64_t B = batch.tokens.size(0), W = batch.tokens.size(1), L = W - 1;
  MS_CHECK(L >= 1, "window_inputs_targets: windows of ", W, " tokens are too short");
  TokenBatch tb;
  tb.inputs = Tensor::empty({B, L}, DType::i32);
  tb.targets = Tensor::empty({B, L}, DType::i32);
  const int32_t* src = batch.tokens.data<int32_t>();
  int32_t* in = tb.inputs.data<int32_t>();
  int32_t* tg = tb.targets.data<int32_t>();
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* row = src + b * W;
    const int64_t real = batch.lengths.at(static_cast<size_t>(b));
    std::copy(row, row + L, in + b * L);
    for (int64_t t = 0; t < L; ++t) tg[b * L + t] = t + 1 < real ? row[t + 1] : kIgnoreIndex;
  }
  return tb;
}

std::vector<AudioWindow> heldout_windows(const AudioDataset& ds, int64_t span) {
  const int64_t L = ds.options().window;
  std::vector<AudioWindow> out;
  for (int64_t f = 0; f < ds.num_files(); ++f) {
    const int64_t m = ds.stream_length(f);
    int64_t begin = 0, end = m;  // stream positions [begin, end): targets begin+1 .. end-1
    if (span > 0 && m - 1 > span) {
      begin = (m - 1 - span) / 2;
      end = begin + span + 1;
    }
    for (int64_t start = begin; start + 1 < end; start += L) out.push_back({f, start, std::min(L + 1, end - start)});
  }
  return out;
}

}  // namespace ms
