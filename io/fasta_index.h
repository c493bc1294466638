// FASTA indexes (.fai, and .gzi for bgzip) built with htslib when missing or older than the FASTA.
// Placement: next to the FASTA when its folder is writable (what samtools does), otherwise in a cache
// folder, under a name derived from the FASTA's absolute path so different files never collide.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/fasta_file.h"

namespace ms::fasta {

// One line of a .fai file. Lengths and offsets are 64-bit: htslib 1.16's faidx_seq_len() is 32-bit.
struct FaiEntry {
  std::string name;
  int64_t length = 0;      // bases
  int64_t offset = 0;      // of the first base, in the uncompressed text
  int64_t line_bases = 0;  // bases per full line
  int64_t line_bytes = 0;  // bytes per full line, newline included
};

struct FastaIndex {
  std::string fasta;     // the FASTA path as given
  std::string fai, gzi;  // index paths; gzi empty unless BGZF
  Compression compression = Compression::none;
  bool in_cache = false;  // true when the index lives in the cache folder
  std::vector<FaiEntry> contigs;
  int find(std::string_view name) const;  // index into contigs, or -1
};

// $MAMBASEQ_CACHE_DIR, else $XDG_CACHE_HOME/mambaseq, else $HOME/.cache/mambaseq.
std::string default_cache_dir();

// Makes sure `fasta` has a fresh index and returns it (contigs read from the .fai). A plain-gzip FASTA
// is refused with the bgzip command to run. cache_dir empty means default_cache_dir().
FastaIndex ensure_fasta_index(const std::string& fasta, const std::string& cache_dir = "");

// The contigs of a fresh index of `fasta` if one exists already (next to it or in the cache), else empty.
// Never builds anything: used to size buffers before streaming.
std::vector<FaiEntry> existing_index_contigs(const std::string& fasta, const std::string& cache_dir = "");

// Parses a .fai file; errors name the file and line.
std::vector<FaiEntry> read_fai(const std::string& fai_path);

}  // namespace ms::fasta
