// Sequential reading of a FASTA file (uncompressed, gzip or bgzip) contig by contig, straight into
// tokens: the fast path for loading whole genomes. Needs no index, so plain gzip streams too.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/fasta_file.h"

struct BGZF;

namespace ms::fasta {

class FastaStream {
 public:
  // decompress_threads > 0 lets htslib inflate BGZF blocks on that many extra threads.
  explicit FastaStream(const std::string& path, int decompress_threads = 0);
  ~FastaStream();
  FastaStream(const FastaStream&) = delete;
  FastaStream& operator=(const FastaStream&) = delete;

  // Moves to the next contig (skipping what is left of the current one); false at the end of the file.
  // An empty contig (a header with no bases) is an error naming the file, contig and line.
  bool next_contig();
  const std::string& name() const { return name_; }                // up to the first space or tab
  const std::string& description() const { return description_; }  // rest of the header line
  int64_t header_line() const { return header_line_; }              // 1-based line of the '>' line
  int64_t position() const { return pos_; }                          // bases read from this contig so far

  // Reads up to `max` tokens of the current contig (mask, when not null, gets 1 per lowercase base);
  // returns how many, 0 once the contig is exhausted. Bad bytes are errors naming file, contig, line
  // and position.
  int64_t read(uint8_t* tokens, uint8_t* mask, int64_t max);
  // Reads the rest of the current contig, appending to tokens (and mask when not null).
  void read_all(std::vector<uint8_t>& tokens, std::vector<uint8_t>* mask);

  const std::string& path() const { return path_; }
  Compression compression() const { return compression_; }
  int64_t bytes_read() const { return bytes_; }  // uncompressed bytes consumed so far

 private:
  bool refill();
  int64_t read_impl(uint8_t* tokens, uint8_t* mask, int64_t max);
  void read_header();

  std::string path_;
  Compression compression_ = Compression::none;
  BGZF* fp_ = nullptr;
  std::unique_ptr<char[]> buf_;  // kBufferBytes, not zero-filled
  size_t at_ = 0, end_ = 0;
  char prev_byte_ = '\n';   // the byte before buf_[at_] (to recognize '>' at a line start)
  int64_t bytes_ = 0, line_ = 1;
  bool eof_ = false, in_contig_ = false, contig_done_ = true, header_next_ = false;
  std::string name_, description_;
  int64_t header_line_ = 0, pos_ = 0;
};

}  // namespace ms::fasta
