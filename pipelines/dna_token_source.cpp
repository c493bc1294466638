#include "pipelines/dna_token_source.h"

#include <map>
#include <mutex>

#include "io/dna_vocab.h"
#include "io/prefetch.h"
#include "kernels/cross_entropy.h"

namespace ms {

namespace {

// Inputs = tokens[:, :L] and targets = tokens[:, 1:] of an (B, L+1) window batch, as contiguous tensors;
// targets that are not A C G T become kIgnoreIndex.
TokenBatch split_inputs_targets(const dna::LmBatch& b, TensorPool* pool) {
  const int64_t B = b.tokens.size(0), L = b.length();
  TokenBatch out;
  out.inputs = pool ? pool->get({B, L}, DType::i32) : Tensor::empty({B, L}, DType::i32);
  out.targets = pool ? pool->get({B, L}, DType::i32) : Tensor::empty({B, L}, DType::i32);
  const int32_t* src = b.tokens.data<int32_t>();
  int32_t* in = out.inputs.data<int32_t>();
  int32_t* tg = out.targets.data<int32_t>();
  for (int64_t r = 0; r < B; ++r) {
    const int32_t* row = src + r * (L + 1);
    for (int64_t i = 0; i < L; ++i) {
      in[r * L + i] = row[i];
      const int32_t t = row[i + 1];
      tg[r * L + i] = t >= 0 && t < dna::kNumBases ? t : kIgnoreIndex;
    }
  }
  return out;
}

// Everything the source's functions share; held by shared_ptr in each of them.
struct DnaSourceState {
  std::shared_ptr<const dna::LmData> data;
  DnaSourceOptions opt;
  std::unique_ptr<dna::WindowSampler> train, eval;
  TensorPool pool{48};
  std::mutex mu;
  // Evaluation windows per (length, max_windows).
  std::map<std::pair<int64_t, int64_t>, std::shared_ptr<const std::vector<dna::Window>>> tilings;

  std::shared_ptr<const std::vector<dna::Window>> tiling(const EvalSpec& e) {
    std::lock_guard<std::mutex> lk(mu);
    auto& t = tilings[{e.length, e.max_windows}];
    if (!t)
      t = std::make_shared<const std::vector<dna::Window>>(dna_eval_windows(*data, opt.eval_split, e.length, e.max_windows));
    return t;
  }
};

int64_t longest(const std::vector<dna::Interval>& ivs) {
  int64_t m = 0;
  for (const auto& iv : ivs) m = std::max(m, iv.length());
  return m;
}

}  // namespace

std::vector<dna::Window> dna_eval_windows(const dna::LmData& data, dna::Split split, int64_t length,
                                          int64_t max_windows) {
  std::vector<dna::Window> all = dna::tile_windows(data.splits[split], length);
  if (max_windows <= 0 || static_cast<int64_t>(all.size()) <= max_windows) return all;
  // Spread over the whole split rather than its first part: window i * n / m for i < m.
  std::vector<dna::Window> some;
  const int64_t n = static_cast<int64_t>(all.size());
  for (int64_t i = 0; i < max_windows; ++i) some.push_back(all[static_cast<size_t>(i * n / max_windows)]);
  return some;
}

TokenSource dna_token_source(std::shared_ptr<const dna::LmData> data, const DnaSourceOptions& opt) {
  MS_CHECK(data, "dna_token_source: no data");
  auto st = std::make_shared<DnaSourceState>();
  st->data = data;
  st->opt = opt;
  const auto& train_ivs = data->splits[dna::Split::train];
  if (data->splits.bases(dna::Split::train) == 0)
    MS_FAIL("the DNA data has no training bases (", data->split_rule, ")");
  if (opt.max_length > 0 && longest(train_ivs) < opt.max_length + 1) {
    const dna::Interval* l = &train_ivs[0];
    for (const auto& iv : train_ivs)
      if (iv.length() > l->length()) l = &iv;
    MS_FAIL("data.length = ", opt.max_length, " is longer than every training interval (the longest is ",
            dna::region_string(data->genome, *l), ", ", l->length(),
            " bases): use a shorter window or hold out less of each contig");
  }
  dna::WindowOptions wo;
  wo.seed = opt.seed;
  wo.stream = 1;
  wo.reverse_complement = opt.reverse_complement;
  wo.short_intervals = opt.short_intervals;
  st->train = std::make_unique<dna::WindowSampler>(data->genome, train_ivs, wo);
  if (data->splits.bases(opt.eval_split) > 0) {
    dna::WindowOptions eo;
    eo.seed = opt.seed;
    eo.stream = 2;
    st->eval = std::make_unique<dna::WindowSampler>(data->genome, data->splits[opt.eval_split], eo);
  }

  TokenSource s;
  s.name = "dna";
  s.unit = "base";
  s.vocab = dna::kVocabSize;
  {
    int64_t files = static_cast<int64_t>(data->genome.files.size()), contigs = static_cast<int64_t>(data->genome.contigs.size());
    s.describe = std::to_string(files) + " FASTA file(s), " + std::to_string(contigs) + " contig(s), " +
                 std::to_string(data->genome.total_length()) + " bases; " + data->split_rule + "; train " +
                 std::to_string(data->splits.bases(dna::Split::train)) + ", valid " +
                 std::to_string(data->splits.bases(dna::Split::valid)) + ", test " +
                 std::to_string(data->splits.bases(dna::Split::test)) + " bases";
  }
  s.train_batch = [st](int64_t step, int64_t batch, int64_t length) {
    dna::LmBatch b = dna::lm_batch(*st->train, static_cast<uint64_t>(step), batch, length, &st->pool);
    return split_inputs_targets(b, &st->pool);
  };
  auto need_eval = [st] {
    if (!st->eval)
      MS_FAIL("the ", dna::split_name(st->opt.eval_split), " split is empty (", st->data->split_rule,
              "): hold out a fraction (data.valid_fraction / data.test_fraction) or contigs to evaluate on");
  };
  s.eval_batches = [st, need_eval](const EvalSpec& e) {
    need_eval();
    const int64_t n = static_cast<int64_t>(st->tiling(e)->size());
    return (n + e.batch - 1) / e.batch;
  };
  s.eval_batch = [st, need_eval](int64_t index, const EvalSpec& e) {
    need_eval();
    auto tiles = st->tiling(e);
    dna::LmBatch b = dna::lm_batch_of(*st->eval, *tiles, static_cast<size_t>(index * e.batch), e.batch, e.length);
    return split_inputs_targets(b, nullptr);
  };
  return s;
}

}  // namespace ms
