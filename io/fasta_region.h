// Regions as samtools faidx writes them, and the `mambaseq data fetch` output: regions read through the
// loader's tokenizer and printed back as FASTA, byte-identical to `samtools faidx FASTA REGION...` for
// files of A C G T N (upper or lower case).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/dna_intervals.h"

namespace ms::fasta {

struct Region {
  std::string text;   // as given (the FASTA header samtools prints)
  int contig = -1;    // index into the contig list it was parsed against
  int64_t start = 0;  // 0-based, inclusive
  int64_t end = 0;    // 0-based, exclusive; clipped to the contig length as samtools does
};

// Parses "chr", "chr:start", "chr:start-end", "chr:-end", "chr:start-" (1-based inclusive, commas allowed
// in numbers: "chr1:1,000-2,000") and "{name:with:colons}:start-end", with htslib's rules: a name that is a
// contig as a whole wins, and a string that reads both ways is an error asking for braces. "chr:start"
// runs to the contig's end (samtools). An end past the contig end is clipped; start < 1, start past the
// end, end < start and unknown contigs are errors.
Region parse_region(std::string_view text, const std::vector<dna::ContigSize>& contigs);

// ">header\n" then the sequence in lines of `line_width` characters (the last one shorter), as samtools.
std::string format_fasta_record(std::string_view header, std::string_view seq, int line_width = 60);

struct FetchOptions {
  int line_width = 60;     // samtools faidx's default (-n 60)
  bool fold_case = false;  // print soft-masked bases in upper case, as the model's tokens see them
  std::string cache_dir;   // for the index when the FASTA's folder is read-only ("" = default)
};

// Reads each region through the index and the tokenizer and returns FASTA text. IUPAC codes come back
// as N (that is what the loader sees), so only then does the text differ from samtools'.
std::string fetch_regions(const std::string& fasta, const std::vector<std::string>& regions, const FetchOptions& opt = {});

}  // namespace ms::fasta
