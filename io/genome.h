// A genome in memory as tokens: every contig of one or more FASTA files, one byte per base (io/dna_vocab.h).
// Loading streams the files sequentially (no index needed); HG38 takes about 3.1 GB.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ms::dna {

struct Contig {
  std::string name;         // FASTA name (header up to the first space)
  std::string description;  // rest of the header line
  std::string file;         // the FASTA it came from
  int file_index = 0;       // index of that file in Genome::files
  std::vector<uint8_t> tokens;
  std::vector<uint8_t> soft_mask;  // 1 per lowercase base; empty unless LoadOptions::keep_soft_mask
  int64_t length() const { return static_cast<int64_t>(tokens.size()); }
};

struct Genome {
  std::vector<std::string> files;
  std::vector<Contig> contigs;

  int64_t total_length() const;
  // Contig number of `name` (searching only file `file_index` when >= 0), -1 when absent; a name found in
  // two files without file_index is an error asking for the file.
  int find(std::string_view name, int file_index = -1) const;
  int require(std::string_view name, int file_index = -1) const;  // like find, but absent is an error
};

struct LoadOptions {
  bool keep_soft_mask = false;            // fill Contig::soft_mask
  std::vector<std::string> only_contigs;  // when not empty, load just these names (load_genome checks all exist)
  int decompress_threads = 0;             // extra htslib threads inflating BGZF blocks
};

// Streams each file and appends its contigs. Errors (missing file, not FASTA, truncated gzip, empty
// contig, duplicate contig name in one file, invalid character) name the file, contig and position.
void append_fasta(Genome& genome, const std::string& path, const LoadOptions& opt = {});
Genome load_genome(const std::vector<std::string>& paths, const LoadOptions& opt = {});

}  // namespace ms::dna
