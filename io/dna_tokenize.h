// The hot loop of FASTA reading: bytes of one sequence line -> tokens (io/dna_vocab.h), 16 bytes at a
// time with SSSE3 where the CPU has it (checked at run time), byte by byte otherwise.
#pragma once
#include <cstdint>

namespace ms::dna {

// Translates bases from p[0..n) into tokens[0..n) (and mask[0..n) = 1 for lowercase when mask is not
// null), stopping at the first byte that is not a base (A C G T N, IUPAC codes, either case). Returns
// how many bytes were bases (n when all were). Entries past the returned count may be overwritten.
int64_t tokenize_bases(const unsigned char* p, int64_t n, uint8_t* tokens, uint8_t* mask);

// The byte-by-byte version (the reference for tests, and the fallback).
int64_t tokenize_bases_scalar(const unsigned char* p, int64_t n, uint8_t* tokens, uint8_t* mask);

}  // namespace ms::dna
