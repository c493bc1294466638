#include "io/dna_intervals.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "kernels/check.h"

namespace ms::dna {

std::vector<ContigSize> contig_sizes(const Genome& g) {
  std::vector<ContigSize> out;
  out.reserve(g.contigs.size());
  for (const auto& c : g.contigs) out.push_back({c.name, c.length()});
  return out;
}

const char* split_name(Split s) {
  switch (s) {
    case Split::train: return "train";
    case Split::valid: return "valid";
    case Split::test: return "test";
  }
  return "?";
}

bool parse_split(std::string_view t, Split& out) {
  if (t == "train") out = Split::train;
  else if (t == "valid" || t == "val" || t == "validation") out = Split::valid;
  else if (t == "test") out = Split::test;
  else return false;
  return true;
}

std::string region_string(const Genome& g, const Interval& iv) {
  return g.contigs.at(iv.contig).name + ":" + std::to_string(iv.start + 1) + "-" + std::to_string(iv.end);
}

int64_t SplitIntervals::bases(Split s) const {
  int64_t n = 0;
  for (const auto& iv : (*this)[s]) n += iv.length();
  return n;
}

std::vector<Interval> whole_contigs(const Genome& g) {
  std::vector<Interval> out;
  for (size_t i = 0; i < g.contigs.size(); ++i) out.push_back({static_cast<int32_t>(i), 0, g.contigs[i].length()});
  return out;
}

SplitIntervals split_by_contigs(const Genome& g, const std::vector<Interval>& regions,
                                const std::vector<std::string>& valid_contigs,
                                const std::vector<std::string>& test_contigs) {
  std::vector<int> split_of(g.contigs.size(), static_cast<int>(Split::train));
  std::unordered_set<int> named;
  auto assign = [&](const std::vector<std::string>& names, Split s) {
    for (const auto& n : names) {
      int c = g.require(n);
      if (!named.insert(c).second)
        MS_FAIL("contig '", n, "' is listed twice among the valid and test contigs");
      split_of[c] = static_cast<int>(s);
    }
  };
  assign(valid_contigs, Split::valid);
  assign(test_contigs, Split::test);
  SplitIntervals out;
  for (const auto& iv : regions) out.by_split[split_of.at(iv.contig)].push_back(iv);
  return out;
}

SplitIntervals split_by_fractions(const std::vector<Interval>& regions, double valid_fraction, double test_fraction) {
  if (!(valid_fraction >= 0 && test_fraction >= 0 && valid_fraction + test_fraction < 1))
    MS_FAIL("held-out fractions must be >= 0 and sum to less than 1 (valid ", valid_fraction, ", test ", test_fraction, ")");
  SplitIntervals out;
  for (const auto& iv : regions) {
    const int64_t n = iv.length();
    const int64_t n_test = std::llround(static_cast<double>(n) * test_fraction);
    const int64_t n_valid = std::llround(static_cast<double>(n) * valid_fraction);
    const int64_t train_end = iv.end - n_test - n_valid, valid_end = iv.end - n_test;
    if (train_end > iv.start) out[Split::train].push_back({iv.contig, iv.start, train_end});
    if (valid_end > train_end) out[Split::valid].push_back({iv.contig, train_end, valid_end});
    if (iv.end > valid_end) out[Split::test].push_back({iv.contig, valid_end, iv.end});
  }
  return out;
}

bool splits_are_disjoint(const SplitIntervals& s) {
  struct Tagged { Interval iv; int split; };
  std::vector<Tagged> all;
  for (int k = 0; k < 3; ++k)
    for (const auto& iv : s.by_split[k]) all.push_back({iv, k});
  std::sort(all.begin(), all.end(), [](const Tagged& a, const Tagged& b) {
    return a.iv.contig != b.iv.contig ? a.iv.contig < b.iv.contig : a.iv.start < b.iv.start;
  });
  // Sweep per contig, remembering the furthest end reached by each split.
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    std::array<int64_t, 3> reach = {INT64_MIN, INT64_MIN, INT64_MIN};
    for (; j < all.size() && all[j].iv.contig == all[i].iv.contig; ++j) {
      const auto& t = all[j];
      for (int k = 0; k < 3; ++k)
        if (k != t.split && reach[k] > t.iv.start && t.iv.length() > 0) return false;
      reach[t.split] = std::max(reach[t.split], t.iv.end);
    }
    i = j;
  }
  return true;
}

}  // namespace ms::dna
