#include "io/audio_dataset.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "kernels/check.h"
#include "kernels/random.h"

namespace fs = std::filesystem;

namespace ms {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}

constexpr uint64_t kSplitTag = 0x73706c6974ULL;            // "split"
constexpr uint64_t kWindowTag = 0x617564696f77696eULL;     // "audiowin"

}  // namespace

std::vector<std::string> default_audio_extensions() { return {"wav", "flac", "ogg", "oga", "aif", "aiff", "au"}; }

std::vector<std::string> list_audio_files(const std::string& dir, const std::vector<std::string>& extensions) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) MS_FAIL(dir, ": no such folder of audio files");
  std::vector<std::string> exts;
  for (const auto& e : extensions) exts.push_back("." + lower(e));
  std::vector<std::string> rel;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec), end;
  if (ec) MS_FAIL(dir, ": cannot list (", ec.message(), ")");
  for (; it != end; it.increment(ec)) {
    if (ec) MS_FAIL(dir, ": cannot list (", ec.message(), ")");
    if (!it->is_regular_file(ec)) continue;
    const std::string ext = lower(it->path().extension().string());
    if (std::find(exts.begin(), exts.end(), ext) == exts.end()) continue;
    rel.push_back(it->path().lexically_relative(dir).generic_string());
  }
  if (rel.empty()) {
    std::string list;
    for (const auto& e : extensions) list += (list.empty() ? "" : ", ") + e;
    MS_FAIL(dir, ": no audio files (", list, ") found in this folder or below");
  }
  std::sort(rel.begin(), rel.end());
  std::vector<std::string> out;
  out.reserve(rel.size());
  for (const auto& r : rel) out.push_back((fs::path(dir) / r).string());
  return out;
}

std::vector<std::string> read_audio_file_list(const std::string& list_path) {
  std::ifstream in(list_path);
  if (!in) MS_FAIL(list_path, ": cannot open audio file list");
  const fs::path base = fs::path(list_path).parent_path();
  std::vector<std::string> out;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    const std::string entry = line.substr(b, line.find_last_not_of(" \t\r") + 1 - b);
    fs::path p(entry);
    if (p.is_relative()) p = base / p;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      MS_FAIL(list_path, ":", lineno, ": no such audio file '", entry, "' (relative paths are relative to the list's folder)");
    out.push_back(p.string());
  }
  if (out.empty()) MS_FAIL(list_path, ": the audio file list is empty");
  return out;
}

std::vector<std::string> resolve_audio_files(const std::string& dir_or_list) {
  std::error_code ec;
  if (fs::is_directory(dir_or_list, ec)) return list_audio_files(dir_or_list);
  if (!fs::exists(dir_or_list, ec)) MS_FAIL(dir_or_list, ": no such audio folder or file list");
  return read_audio_file_list(dir_or_list);
}

FileSplit split_files(const std::vector<std::string>& files, const SplitFractions& fr, const std::string& root) {
  if (!(fr.valid >= 0 && fr.test >= 0 && fr.valid + fr.test < 1))
    MS_FAIL("split fractions valid = ", fr.valid, ", test = ", fr.test, " must be >= 0 and sum to less than 1");
  const int64_t n = static_cast<int64_t>(files.size());
  auto count = [&](double f) {
    int64_t k = std::llround(f * static_cast<double>(n));
    return (f > 0 && k == 0) ? int64_t{1} : k;  // a split asked for is never empty
  };
  const int64_t n_test = count(fr.test), n_valid = count(fr.valid);
  if (n - n_test - n_valid < 1)
    MS_FAIL("cannot split ", n, " audio files into ", n_valid, " valid and ", n_test,
            " test files and keep one for training; add files or lower the fractions");
  struct Keyed {
    uint64_t hash;
    std::string key;
    size_t index;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    std::string key = root.empty() ? fs::path(files[i]).lexically_normal().generic_string()
                                   : fs::path(files[i]).lexically_relative(root).generic_string();
    keyed.push_back({random_bits(fr.seed, kSplitTag, fnv1a(key)), std::move(key), i});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.key < b.key;
  });
  for (size_t i = 1; i < keyed.size(); ++i)
    if (keyed[i].key == keyed[i - 1].key) MS_FAIL("audio file listed twice: ", files[keyed[i].index]);
  FileSplit out;
  for (int64_t i = 0; i < n; ++i) {
    const std::string& f = files[keyed[static_cast<size_t>(i)].index];
    (i < n_test ? out.test : i < n_test + n_valid ? out.valid : out.train).push_back(f);
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.valid.begin(), out.valid.end());
  std::sort(out.test.begin(), out.test.end());
  return out;
}

ShortFilePolicy parse_short_file_policy(const std::string& name) {
  if (name == "pad") return ShortFilePolicy::pad;
  if (name == "skip") return ShortFilePolicy::skip;
  MS_FAIL("unknown short-file policy '", name, "' (use pad or skip)");
}

AudioDataset::AudioDataset(std::vector<std::string> files, const AudioDatasetOptions& options)
    : opt_(options), files_(std::move(files)) {
  check_quantization_bits(opt_.bits);
  if (opt_.window < 1 || opt_.window > (int64_t{1} << 20))
    MS_FAIL("audio window = ", opt_.window, " samples is out of range (1 .. 2^20 = 1048576)");
  if (files_.empty()) MS_FAIL("audio data set has no files");
  if (opt_.read.sample_rate <= 0)
    MS_FAIL("audio data set needs a target sample rate (data.sample_rate = ", opt_.read.sample_rate,
            "); 16000 is the usual one");
  table_ = pcm16_token_table(opt_.quantization, opt_.bits);
  silence_ = silence_token(opt_.quantization, opt_.bits);

  // Decode every file once (the data is small: 16-bit mono at 16 kHz is 1.9 MB a minute).
  pcm_.resize(files_.size());
  int threads = opt_.threads > 0 ? opt_.threads : static_cast<int>(std::min(8u, std::max(1u, std::thread::hardware_concurrency())));
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), files_.size()));
  std::atomic<size_t> next{0};
  std::mutex err_mu;
  size_t err_index = files_.size();
  std::string err_msg;
  auto work = [&] {
    for (size_t i = next++; i < files_.size(); i = next++) {
      try {
        pcm_[i] = to_pcm16(read_audio(files_[i], opt_.read).samples);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (i < err_index) err_index = i, err_msg = e.what();  // report the first bad file in list order
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (err_index < files_.size()) throw Error(err_msg);

  start_prefix_.assign(files_.size() + 1, 0);
  const int64_t need = opt_.window + 1;
  for (size_t i = 0; i < files_.size(); ++i) {
    total_samples_ += static_cast<int64_t>(pcm_[i].size());
    const int64_t m = stream_length(static_cast<int64_t>(i));
    int64_t starts = m >= need ? m - need + 1 : (opt_.short_files == ShortFilePolicy::pad ? 1 : 0);
    if (starts == 0) ++skipped_;
    start_prefix_[i + 1] = start_prefix_[i] + starts;
  }
  if (start_prefix_.back() == 0)
    MS_FAIL("all ", files_.size(), " audio files are shorter than one window (", opt_.window,
            " samples + 1 start token) and short files are skipped; lower the window or set short_files = pad");

  if (opt_.labels_from_dirs) {
    std::vector<std::string> names(files_.size());
    for (size_t i = 0; i < files_.size(); ++i) names[i] = fs::path(files_[i]).parent_path().filename().string();
    classes_ = names;
    std::sort(classes_.begin(), classes_.end());
    classes_.erase(std::unique(classes_.begin(), classes_.end()), classes_.end());
    labels_.resize(files_.size());
    for (size_t i = 0; i < files_.size(); ++i)
      labels_[i] = static_cast<int>(std::lower_bound(classes_.begin(), classes_.end(), names[i]) - classes_.begin());
  }
}

double AudioDataset::seconds() const {
  return static_cast<double>(total_samples_) / opt_.read.sample_rate;
}

void AudioDataset::fill_tokens(int64_t file, int64_t offset, int64_t length, int32_t* out) const {
  const std::vector<int16_t>& x = pcm(file);
  MS_CHECK(offset >= 0 && length >= 0 && offset + length <= stream_length(file), "window [", offset, ", ",
           offset + length, ") is outside file ", file, " (", stream_length(file), " tokens)");
  for (int64_t k = 0; k < length; ++k) {
    const int64_t pos = offset + k;
    out[k] = pos == 0 ? silence_ : table_[static_cast<size_t>(x[static_cast<size_t>(pos - 1)] + 32768)];
  }
}

AudioWindow AudioDataset::sample_window(uint64_t seed, uint64_t step, int64_t index) const {
  const uint64_t total = static_cast<uint64_t>(start_prefix_.back());
  const uint64_t u = random_bits(mix64(seed ^ kWindowTag), step, static_cast<uint64_t>(index)) % total;
  const auto it = std::upper_bound(start_prefix_.begin(), start_prefix_.end(), static_cast<int64_t>(u));
  AudioWindow w;
  w.file = (it - start_prefix_.begin()) - 1;
  w.offset = static_cast<int64_t>(u) - start_prefix_[static_cast<size_t>(w.file)];
  w.length = std::min(opt_.window + 1, stream_length(w.file) - w.offset);
  return w;
}

AudioBatch AudioDataset::batch(uint64_t seed, uint64_t step, int64_t batch_size, int64_t length,
                               int64_t first_row) const {
  MS_CHECK(batch_size >= 1 && first_row >= 0, "batch size ", batch_size, " from row ", first_row);
  MS_CHECK(length >= 0 && length <= opt_.window, "batch: window ", length, " outside [0, L = ", opt_.window, "]");
  const int64_t L = length > 0 ? length : opt_.window;
  std::vector<AudioWindow> windows(static_cast<size_t>(batch_size));
  for (int64_t b = 0; b < batch_size; ++b) {
    AudioWindow& w = windows[static_cast<size_t>(b)];
    w = sample_window(seed, step, first_row + b);
    w.length = std::min(w.length, L + 1);
  }
  return make_batch(windows, L + 1);
}

std::vector<AudioWindow> AudioDataset::eval_windows() const {
  std::vector<AudioWindow> out;
  for (int64_t f = 0; f < num_files(); ++f) {
    const int64_t m = stream_length(f);
    for (int64_t start = 0; start + 1 < m; start += opt_.window)
      out.push_back({f, start, std::min(opt_.window + 1, m - start)});
  }
  return out;
}

AudioBatch AudioDataset::make_batch(const std::vector<AudioWindow>& windows, int64_t width) const {
  MS_CHECK(!windows.empty(), "make_batch: no windows");
  MS_CHECK(width >= 0 && width <= opt_.window + 1, "make_batch: row width ", width, " outside [0, L+1 = ", opt_.window + 1, "]");
  const int64_t B = static_cast<int64_t>(windows.size()), W = width > 0 ? width : opt_.window + 1;
  AudioBatch batch;
  batch.tokens = Tensor::full({B, W}, silence_, DType::i32);
  batch.labels = Tensor::full({B}, -1, DType::i32);
  batch.lengths.resize(windows.size());
  batch.windows = windows;
  int32_t* tok = batch.tokens.data<int32_t>();
  int32_t* lab = batch.labels.data<int32_t>();
  for (int64_t b = 0; b < B; ++b) {
    const AudioWindow& w = windows[static_cast<size_t>(b)];
    MS_CHECK(w.file >= 0 && w.file < num_files() && w.length <= W, "make_batch: bad window (file ", w.file,
             ", length ", w.length, ", L+1 = ", W, ")");
    fill_tokens(w.file, w.offset, w.length, tok + b * W);
    batch.lengths[static_cast<size_t>(b)] = w.length;
    lab[b] = label(w.file);
  }
  return batch;
}

Tensor AudioDataset::file_tokens(int64_t i) const {
  Tensor t = Tensor::empty({stream_length(i)}, DType::i32);
  fill_tokens(i, 0, stream_length(i), t.data<int32_t>());
  return t;
}

}  // namespace ms
