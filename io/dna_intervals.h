// Intervals of a Genome and the train/valid/test splits built from them (docs/dna-io.md, "Splits").
// Coordinates: 0-based, half-open [start, end), as in BED; printed regions are 1-based inclusive.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/genome.h"

namespace ms::dna {

struct ContigSize {
  std::string name;
  int64_t length = 0;
};
std::vector<ContigSize> contig_sizes(const Genome& g);

enum class Split : uint8_t { train = 0, valid = 1, test = 2 };
inline constexpr std::array<Split, 3> kSplits = {Split::train, Split::valid, Split::test};
const char* split_name(Split s);
// "train"; "valid", "val" or "validation"; "test" (case-sensitive, as in HyenaDNA's BED). False otherwise.
bool parse_split(std::string_view text, Split& out);

struct Interval {
  int32_t contig = 0;  // index into Genome::contigs
  int64_t start = 0, end = 0;
  int64_t length() const { return end - start; }
};
std::string region_string(const Genome& g, const Interval& iv);  // "chr1:101-200" (1-based inclusive)

struct SplitIntervals {
  std::array<std::vector<Interval>, 3> by_split;
  std::vector<Interval>& operator[](Split s) { return by_split[static_cast<int>(s)]; }
  const std::vector<Interval>& operator[](Split s) const { return by_split[static_cast<int>(s)]; }
  int64_t bases(Split s) const;
};

// Every contig whole, one interval each.
std::vector<Interval> whole_contigs(const Genome& g);

// Intervals on the named contigs go to valid / test, all others to train. Unknown names are errors; a name
// in both lists is an error.
SplitIntervals split_by_contigs(const Genome& g, const std::vector<Interval>& regions,
                                const std::vector<std::string>& valid_contigs,
                                const std::vector<std::string>& test_contigs);

// Each interval is cut into three consecutive ranges: train first, then valid, then test at its end, with
// round(n * valid_fraction) and round(n * test_fraction) bases. Deterministic (no seed involved).
SplitIntervals split_by_fractions(const std::vector<Interval>& regions, double valid_fraction, double test_fraction);

// True when no base belongs to intervals of two different splits (used by tests and as a guard).
bool splits_are_disjoint(const SplitIntervals& s);

}  // namespace ms::dna
