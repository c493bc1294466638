// Random access into an indexed FASTA (uncompressed or bgzip) through htslib's faidx.
// One reader is not safe to share between threads (htslib keeps a block cache): open one per thread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/fasta_index.h"

struct faidx_t;

namespace ms::fasta {

class IndexedFasta {
 public:
  // Builds the index when missing (see ensure_fasta_index); refuses plain gzip with the bgzip command.
  explicit IndexedFasta(const std::string& path, const std::string& cache_dir = "");
  ~IndexedFasta();
  IndexedFasta(const IndexedFasta&) = delete;
  IndexedFasta& operator=(const IndexedFasta&) = delete;

  const std::string& path() const { return index_.fasta; }
  const FastaIndex& index() const { return index_; }
  const std::vector<FaiEntry>& contigs() const { return index_.contigs; }
  // Contig number of `name`; throws naming the file (and a few of its contigs) when absent.
  int contig(const std::string& name) const;

  // Bases [start, end) (0-based, half-open) of contig `c`, bytes exactly as in the file.
  std::string fetch_raw(int c, int64_t start, int64_t end) const;
  // The same bases as tokens (io/dna_vocab.h); mask (may be null) gets 1 for lowercase bases. A byte
  // that is not a base is an error naming the file, contig and position.
  void fetch(int c, int64_t start, int64_t end, uint8_t* tokens, uint8_t* mask) const;

 private:
  FastaIndex index_;
  faidx_t* fai_ = nullptr;
};

// Error for a non-base byte `c` found at 0-based `offset` of contig `contig` of `file`.
[[noreturn]] void fail_invalid_base(const std::string& file, const std::string& contig, int64_t offset, char c,
                                    int64_t line = -1);

// Tokenizes n bytes of one contig's sequence (no newlines), reporting a bad byte with fail_invalid_base;
// `first_offset` is the 0-based contig position of seq[0].
void tokenize_sequence(const char* seq, int64_t n, uint8_t* tokens, uint8_t* mask, const std::string& file,
                       const std::string& contig, int64_t first_offset);

}  // namespace ms::fasta
