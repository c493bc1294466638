// What kind of file a FASTA path is, found by reading its first bytes (not by its name).
#pragma once
#include <string>

namespace ms::fasta {

enum class Compression { none, gzip, bgzf };  // gzip = one plain gzip stream (not BGZF blocks)
const char* compression_name(Compression c);

// Checks that `path` exists, is a regular non-empty file, is uncompressed, gzip or BGZF (xz, bzip2 and
// zstd are refused with the command that converts them), and that its text starts with '>' (FASTQ and
// other text are refused). Throws ms::Error with a one-line reason naming the file otherwise.
Compression check_fasta_file(const std::string& path);

// The bgzip command users should run to make `path` (plain gzip or uncompressed) random-accessible.
std::string bgzip_advice(const std::string& path, Compression c);

}  // namespace ms::fasta
