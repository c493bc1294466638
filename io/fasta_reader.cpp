#include "io/fasta_reader.h"

#include <htslib/faidx.h>

#include <cctype>
#include <cstdlib>
#include <memory>

#include "io/dna_vocab.h"
#include "kernels/check.h"

namespace ms::fasta {

void fail_invalid_base(const std::string& file, const std::string& contig, int64_t offset, char c, int64_t line) {
  unsigned char u = static_cast<unsigned char>(c);
  char shown[32];
  if (std::isprint(u) && u != ' ')
    std::snprintf(shown, sizeof shown, "'%c' (0x%02x)", c, u);
  else
    std::snprintf(shown, sizeof shown, "byte 0x%02x", u);
  std::string where = line > 0 ? ", line " + std::to_string(line) : std::string();
  MS_FAIL("'", file, "'", where, ": contig '", contig, "' has invalid character ", shown, " at position ", offset + 1,
          " (1-based; 0-based offset ", offset, "); expected A C G T N, an IUPAC code R Y S W K M B D H V, "
          "or their lowercase (soft-masked) forms");
}

void tokenize_sequence(const char* seq, int64_t n, uint8_t* tokens, uint8_t* mask, const std::string& file,
                       const std::string& contig, int64_t first_offset) {
  for (int64_t i = 0; i < n; ++i) {
    uint8_t v = dna::kBaseTable[static_cast<uint8_t>(seq[i])];
    if (v >= 0x80) fail_invalid_base(file, contig, first_offset + i, seq[i]);
    tokens[i] = v & 7;
    if (mask) mask[i] = (v >> 3) & 1;
  }
}

IndexedFasta::IndexedFasta(const std::string& path, const std::string& cache_dir)
    : index_(ensure_fasta_index(path, cache_dir)) {
  fai_ = fai_load3(path.c_str(), index_.fai.c_str(), index_.gzi.empty() ? nullptr : index_.gzi.c_str(), 0);
  if (!fai_) MS_FAIL("htslib could not open '", path, "' with its index '", index_.fai, "'");
}

IndexedFasta::~IndexedFasta() {
  if (fai_) fai_destroy(fai_);
}

int IndexedFasta::contig(const std::string& name) const {
  int c = index_.find(name);
  if (c < 0) {
    std::string some;
    for (size_t i = 0; i < index_.contigs.size() && i < 5; ++i) some += (i ? ", " : "") + index_.contigs[i].name;
    if (index_.contigs.size() > 5) some += ", ...";
    MS_FAIL("'", path(), "' has no contig named '", name, "' (its ", index_.contigs.size(), " contigs: ", some, ")");
  }
  return c;
}

std::string IndexedFasta::fetch_raw(int c, int64_t start, int64_t end) const {
  MS_CHECK(c >= 0 && c < static_cast<int>(index_.contigs.size()), "contig number ", c, " out of range");
  const FaiEntry& e = index_.contigs[c];
  MS_CHECK(0 <= start && start <= end && end <= e.length, "range [", start, ", ", end, ") outside contig '", e.name,
           "' of length ", e.length);
  if (start == end) return {};
  hts_pos_t len = 0;
  std::unique_ptr<char, void (*)(void*)> s(faidx_fetch_seq64(fai_, e.name.c_str(), start, end - 1, &len), &std::free);
  if (!s || len != end - start)
    MS_FAIL("could not read '", path(), "' contig '", e.name, "' bases ", start + 1, "-", end,
            " through its index (truncated or changed since indexing? delete '", index_.fai, "' to rebuild)");
  return std::string(s.get(), static_cast<size_t>(len));
}

void IndexedFasta::fetch(int c, int64_t start, int64_t end, uint8_t* tokens, uint8_t* mask) const {
  std::string raw = fetch_raw(c, start, end);
  tokenize_sequence(raw.data(), static_cast<int64_t>(raw.size()), tokens, mask, path(), index_.contigs[c].name, start);
}

}  // namespace ms::fasta
