// BED intervals (chrom, start, end; 0-based half-open), optionally with a 4th split column
// train/valid/test as in HyenaDNA's human-sequences.bed (Basenji's sequences_human.bed).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/dna_intervals.h"

namespace ms::dna {

struct BedRecord {
  Interval interval;      // contig index into the contig list the file was read against
  bool has_split = false;
  Split split = Split::train;
  int64_t line = 0;       // 1-based line in the file
};

struct BedFile {
  std::string path;
  bool has_split_column = false;  // every record's 4th column is a split
  std::vector<BedRecord> records;
};

// Reads a BED file, checking every line against the contigs (names and lengths). Blank lines, '#'
// comments and 'track'/'browser' lines are skipped. The 4th column is the split when the first record's
// 4th column is train/valid/val/validation/test (then every record must have one); otherwise it and
// further columns are names and ignored. Errors name the file and line: fewer than 3 columns, a
// non-integer or negative coordinate, start > end, unknown contig, end past the contig's end.
BedFile read_bed(const std::string& path, const std::vector<ContigSize>& contigs);
BedFile read_bed(const std::string& path, const Genome& genome);

std::vector<Interval> bed_intervals(const BedFile& bed);
// Splits from the split column (an error when the file has none).
SplitIntervals bed_splits(const BedFile& bed);

}  // namespace ms::dna
