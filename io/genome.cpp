#include "io/genome.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "io/fasta_index.h"

#include "io/fasta_stream.h"
#include "kernels/check.h"

namespace ms::dna {

int64_t Genome::total_length() const {
  int64_t n = 0;
  for (const auto& c : contigs) n += c.length();
  return n;
}

int Genome::find(std::string_view name, int file_index) const {
  int hit = -1;
  for (size_t i = 0; i < contigs.size(); ++i) {
    const Contig& c = contigs[i];
    if (c.name != name || (file_index >= 0 && c.file_index != file_index)) continue;
    if (hit >= 0)
      MS_FAIL("contig name '", name, "' occurs in both '", contigs[hit].file, "' and '", c.file,
              "': name the file too (or rename one of the contigs)");
    hit = static_cast<int>(i);
  }
  return hit;
}

int Genome::require(std::string_view name, int file_index) const {
  int c = find(name, file_index);
  if (c < 0) {
    std::string where = file_index >= 0 ? "'" + files.at(file_index) + "'" : "the genome (" + std::to_string(files.size()) + " files)";
    MS_FAIL("no contig named '", name, "' in ", where);
  }
  return c;
}

void append_fasta(Genome& genome, const std::string& path, const LoadOptions& opt) {
  fasta::FastaStream in(path, opt.decompress_threads);
  const int file_index = static_cast<int>(genome.files.size());
  genome.files.push_back(path);
  // Contig lengths from an existing index let each contig be read into an exactly sized buffer.
  std::unordered_map<std::string, int64_t> known_length;
  for (const auto& e : fasta::existing_index_contigs(path)) known_length.emplace(e.name, e.length);
  std::unordered_set<std::string> seen;
  std::unordered_set<std::string> wanted(opt.only_contigs.begin(), opt.only_contigs.end());
  while (in.next_contig()) {
    if (!seen.insert(in.name()).second)
      MS_FAIL("'", path, "' line ", in.header_line(), ": contig name '", in.name(), "' appears twice in the file");
    if (!wanted.empty() && !wanted.count(in.name())) continue;  // next_contig() skips (and checks) it
    Contig c;
    c.name = in.name();
    c.description = in.description();
    c.file = path;
    c.file_index = file_index;
    if (auto it = known_length.find(c.name); it != known_length.end()) {
      c.tokens.reserve(static_cast<size_t>(it->second));
      if (opt.keep_soft_mask) c.soft_mask.reserve(static_cast<size_t>(it->second));
    }
    in.read_all(c.tokens, opt.keep_soft_mask ? &c.soft_mask : nullptr);
    if (c.tokens.capacity() > c.tokens.size() + c.tokens.size() / 8) {  // no (or a stale) index: trim
      c.tokens.shrink_to_fit();
      c.soft_mask.shrink_to_fit();
    }
    genome.contigs.push_back(std::move(c));
  }
}

Genome load_genome(const std::vector<std::string>& paths, const LoadOptions& opt) {
  MS_CHECK(!paths.empty(), "load_genome: no FASTA files given");
  Genome g;
  for (const auto& p : paths) append_fasta(g, p, opt);
  for (const auto& w : opt.only_contigs)
    if (g.find(w) < 0) MS_FAIL("contig '", w, "' (asked for in only_contigs) is in none of the ", paths.size(), " FASTA files");
  return g;
}

}  // namespace ms::dna
