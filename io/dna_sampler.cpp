#include "io/dna_sampler.h"

#include <algorithm>

#include "io/dna_vocab.h"
#include "io/prefetch.h"
#include "kernels/check.h"
#include "kernels/random.h"

namespace ms::dna {

const char* short_intervals_name(ShortIntervals s) {
  switch (s) {
    case ShortIntervals::pad: return "pad";
    case ShortIntervals::skip: return "skip";
    case ShortIntervals::error: return "error";
  }
  return "?";
}

bool parse_short_intervals(std::string_view t, ShortIntervals& out) {
  if (t == "pad") out = ShortIntervals::pad;
  else if (t == "skip") out = ShortIntervals::skip;
  else if (t == "error") out = ShortIntervals::error;
  else return false;
  return true;
}

WindowSampler::WindowSampler(const Genome& genome, std::vector<Interval> intervals, WindowOptions opt)
    : genome_(genome), opt_(opt) {
  for (const auto& iv : intervals) {
    MS_CHECK(iv.contig >= 0 && iv.contig < static_cast<int32_t>(genome.contigs.size()), "interval contig ", iv.contig,
             " out of range");
    MS_CHECK(0 <= iv.start && iv.start <= iv.end && iv.end <= genome.contigs[iv.contig].length(),
             "interval ", region_string(genome, iv), " outside its contig");
    if (iv.length() > 0) intervals_.push_back(iv);
  }
  if (intervals_.empty()) MS_FAIL("no (non-empty) intervals to draw windows from");
}

std::shared_ptr<const WindowSampler::Table> WindowSampler::table(int64_t n) const {
  MS_CHECK(n >= 1, "window length must be positive, got ", n);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : tables_)
    if (t->n == n) return t;
  auto t = std::make_shared<Table>();
  t->n = n;
  t->cum.resize(intervals_.size() + 1, 0);
  const Interval* longest = &intervals_[0];
  for (size_t i = 0; i < intervals_.size(); ++i) {
    const Interval& iv = intervals_[i];
    if (iv.length() > longest->length()) longest = &iv;
    int64_t w = iv.length() - n + 1;
    if (w <= 0) {
      if (opt_.short_intervals == ShortIntervals::error)
        MS_FAIL("interval ", region_string(genome_, iv), " of '", genome_.contigs[iv.contig].file, "' has ",
                iv.length(), " bases, shorter than the window of ", n,
                " tokens (use shorter windows, or short_intervals = \"pad\" or \"skip\")");
      w = opt_.short_intervals == ShortIntervals::pad ? 1 : 0;
    }
    t->cum[i + 1] = t->cum[i] + w;
  }
  if (t->cum.back() == 0)
    MS_FAIL("none of the ", intervals_.size(), " intervals holds a window of ", n, " tokens (the longest, ",
            region_string(genome_, *longest), ", has ", longest->length(),
            " bases): use shorter windows or short_intervals = \"pad\"");
  tables_.push_back(t);
  return t;
}

int64_t WindowSampler::num_windows(int64_t n) const {
  try {
    return table(n)->cum.back();
  } catch (const Error&) {
    return 0;
  }
}

// The random stream of one step: every (stream, step) pair gets its own counter space.
static uint64_t step_stream(uint64_t stream, uint64_t step) { return mix64(mix64(stream + 0x51ed27) ^ step); }

Window WindowSampler::draw(uint64_t step, uint64_t index, int64_t n) const {
  auto t = table(n);
  const uint64_t key = step_stream(opt_.stream, step);
  // Modulo bias is total / 2^64: below 1e-9 for any genome under 16 G bases.
  const int64_t r = static_cast<int64_t>(random_bits(opt_.seed, key, 2 * index) % static_cast<uint64_t>(t->cum.back()));
  const size_t i = static_cast<size_t>(std::upper_bound(t->cum.begin(), t->cum.end(), r) - t->cum.begin()) - 1;
  const Interval& iv = intervals_[i];
  Window w;
  w.contig = iv.contig;
  if (iv.length() >= n) {
    w.start = iv.start + (r - t->cum[i]);
    w.end = w.start + n;
  } else {
    w.start = iv.start;
    w.end = iv.end;
  }
  w.reverse = opt_.reverse_complement && (random_bits(opt_.seed, key, 2 * index + 1) >> 63);
  return w;
}

template <class T>
static void fill_window(const Genome& g, const Window& w, int64_t n, T* out) {
  const int64_t m = w.end - w.start;
  MS_CHECK(m >= 0 && m <= n, "window of ", m, " bases does not fit ", n, " tokens");
  const uint8_t* src = g.contigs[w.contig].tokens.data();
  if (!w.reverse) {
    for (int64_t i = 0; i < m; ++i) out[i] = static_cast<T>(src[w.start + i]);
  } else {
    static constexpr uint8_t kComp[8] = {kT, kG, kC, kA, kN, kPad, kCls, kSep};
    const uint8_t* last = src + w.end - 1;
    for (int64_t i = 0; i < m; ++i) out[i] = static_cast<T>(kComp[last[-i]]);
  }
  std::fill(out + m, out + n, static_cast<T>(kPad));
}

void WindowSampler::fill(const Window& w, int64_t n, int32_t* out) const { fill_window(genome_, w, n, out); }
void WindowSampler::fill(const Window& w, int64_t n, uint8_t* out) const { fill_window(genome_, w, n, out); }

LmBatch lm_batch(const WindowSampler& s, uint64_t step, int64_t batch, int64_t length, TensorPool* pool) {
  MS_CHECK(batch >= 1 && length >= 1, "lm_batch: batch ", batch, " and length ", length, " must be positive");
  LmBatch b;
  b.step = step;
  b.tokens = pool ? pool->get({batch, length + 1}, DType::i32) : Tensor::empty({batch, length + 1}, DType::i32);
  int32_t* p = b.tokens.data<int32_t>();
  b.windows.resize(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) {
    b.windows[i] = s.draw(step, static_cast<uint64_t>(i), length + 1);
    s.fill(b.windows[i], length + 1, p + i * (length + 1));
  }
  return b;
}

std::vector<Window> tile_windows(const std::vector<Interval>& intervals, int64_t length) {
  MS_CHECK(length >= 1, "tile_windows: length must be positive");
  std::vector<Window> out;
  for (const auto& iv : intervals) {
    if (iv.length() < 2) continue;  // no base to predict
    for (int64_t s = iv.start;; s += length) {
      out.push_back({iv.contig, s, std::min(s + length + 1, iv.end), false});
      if (s + length + 1 >= iv.end) break;
    }
  }
  return out;
}

LmBatch lm_batch_of(const WindowSampler& s, const std::vector<Window>& windows, size_t first, int64_t batch,
                    int64_t length) {
  MS_CHECK(first < windows.size(), "lm_batch_of: first window ", first, " past the tiling's ", windows.size());
  const int64_t b_n = std::min<int64_t>(batch, static_cast<int64_t>(windows.size() - first));
  LmBatch b;
  b.tokens = Tensor::empty({b_n, length + 1}, DType::i32);
  int32_t* p = b.tokens.data<int32_t>();
  for (int64_t i = 0; i < b_n; ++i) {
    b.windows.push_back(windows[first + i]);
    s.fill(windows[first + i], length + 1, p + i * (length + 1));
  }
  return b;
}

}  // namespace ms::dna
