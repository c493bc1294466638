#include "io/bed.h"

#include <charconv>
#include <fstream>
#include <unordered_map>

#include "kernels/check.h"

namespace ms::dna {

static std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> f;
  for (size_t tab; (tab = line.find('\t')) != std::string_view::npos; line.remove_prefix(tab + 1))
    f.push_back(line.substr(0, tab));
  f.push_back(line);
  return f;
}

BedFile read_bed(const std::string& path, const std::vector<ContigSize>& contigs) {
  std::ifstream in(path);
  if (!in) MS_FAIL("cannot open BED file '", path, "'");
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < contigs.size(); ++i)  // -1 marks a name found in two files (ambiguous)
    if (!index.emplace(contigs[i].name, static_cast<int>(i)).second) index[contigs[i].name] = -1;

  BedFile bed;
  bed.path = path;
  bool decided = false;
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line.rfind("track", 0) == 0 || line.rfind("browser", 0) == 0) continue;
    auto where = [&] { return "BED file '" + path + "' line " + std::to_string(lineno) + ": "; };
    auto f = split_fields(line);
    if (f.size() < 3)
      MS_FAIL(where(), "expected tab-separated CHROM START END [SPLIT|NAME ...], found ", f.size(), " column(s)");
    BedRecord r;
    r.line = lineno;
    auto it = index.find(std::string(f[0]));
    if (it == index.end()) MS_FAIL(where(), "unknown contig '", f[0], "' (not in the FASTA)");
    if (it->second < 0) MS_FAIL(where(), "contig name '", f[0], "' occurs in more than one FASTA file");
    r.interval.contig = it->second;
    auto number = [&](std::string_view s, const char* what) {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        MS_FAIL(where(), what, " '", s, "' is not an integer");
      if (v < 0) MS_FAIL(where(), what, " ", v, " is negative");
      return v;
    };
    r.interval.start = number(f[1], "start");
    r.interval.end = number(f[2], "end");
    if (r.interval.start > r.interval.end)
      MS_FAIL(where(), "start ", r.interval.start, " is greater than end ", r.interval.end);
    const ContigSize& c = contigs[r.interval.contig];
    if (r.interval.end > c.length)
      MS_FAIL(where(), "end ", r.interval.end, " is past the end of contig '", c.name, "' (", c.length, " bases)");
    Split s;
    const bool is_split = f.size() >= 4 && parse_split(f[3], s);
    if (!decided) {
      bed.has_split_column = is_split;
      decided = true;
    }
    if (bed.has_split_column) {
      if (!is_split)
        MS_FAIL(where(), "4th column '", f.size() >= 4 ? f[3] : std::string_view(), "' is not a split "
                "(train, valid or test), but earlier lines have one");
      r.has_split = true;
      r.split = s;
    }
    bed.records.push_back(r);
  }
  if (in.bad()) MS_FAIL("error while reading BED file '", path, "'");
  if (bed.records.empty()) MS_FAIL("BED file '", path, "' has no intervals");
  return bed;
}

BedFile read_bed(const std::string& path, const Genome& genome) { return read_bed(path, contig_sizes(genome)); }

std::vector<Interval> bed_intervals(const BedFile& bed) {
  std::vector<Interval> out;
  out.reserve(bed.records.size());
  for (const auto& r : bed.records) out.push_back(r.interval);
  return out;
}

SplitIntervals bed_splits(const BedFile& bed) {
  if (!bed.has_split_column)
    MS_FAIL("BED file '", bed.path, "' has no split column (4th column train/valid/test): split by contigs or "
            "by held-out fractions instead");
  SplitIntervals out;
  for (const auto& r : bed.records) out[r.split].push_back(r.interval);
  return out;
}

}  // namespace ms::dna
