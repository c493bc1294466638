// The DNA token vocabulary: the one place that fixes token ids (see docs/dna-io.md, "Vocabulary").
//
//   id  token  meaning
//    0  A      adenine            complement T
//    1  C      cytosine           complement G
//    2  G      guanine            complement C
//    3  T      thymine            complement A
//    4  N      unknown base; IUPAC ambiguity codes R Y S W K M B D H V also map here; complement N
//    5  PAD    padding past the end of a short interval; use it as the loss's ignore_index
//    6  CLS    classification / beginning-of-sequence token (CLS == BOS)
//    7  SEP    separator / end of sequence
//
// kVocabSize = 8: a power of two so the LM head's rows align. Bases are 0..3 so that the complement of a
// base is 3 - id and two bits hold a base. Lowercase (soft-masked) letters fold to the same ids; readers
// can keep the case as a separate 0/1 soft-mask flag per base.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ms::dna {

enum Token : uint8_t { kA = 0, kC = 1, kG = 2, kT = 3, kN = 4, kPad = 5, kCls = 6, kSep = 7 };
inline constexpr int kVocabSize = 8;
inline constexpr int kNumBases = 4;     // A C G T
inline constexpr uint8_t kBos = kCls;   // one token serves both roles

// Byte classes of the FASTA tokenizer's lookup table. Values < 0x80 are bases: bits 0-2 the token id,
// kLowerBit set for a lowercase (soft-masked) letter. Values >= 0x80 are the non-base bytes.
inline constexpr uint8_t kLowerBit = 0x08;
inline constexpr uint8_t kByteNewline = 0x80;  // '\n'
inline constexpr uint8_t kByteCR = 0x81;       // '\r' (Windows line endings are accepted)
inline constexpr uint8_t kByteHeader = 0x82;   // '>'
inline constexpr uint8_t kByteInvalid = 0xff;  // anything else

constexpr std::array<uint8_t, 256> make_base_table() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = kByteInvalid;
  auto set = [&t](char upper, uint8_t id) {
    t[static_cast<uint8_t>(upper)] = id;
    t[static_cast<uint8_t>(upper - 'A' + 'a')] = id | kLowerBit;
  };
  set('A', kA); set('C', kC); set('G', kG); set('T', kT); set('N', kN);
  for (char c : std::string_view("RYSWKMBDHV")) set(c, kN);
  t[static_cast<uint8_t>('\n')] = kByteNewline;
  t[static_cast<uint8_t>('\r')] = kByteCR;
  t[static_cast<uint8_t>('>')] = kByteHeader;
  return t;
}
inline constexpr std::array<uint8_t, 256> kBaseTable = make_base_table();

// Token id of one FASTA sequence byte, or -1 when the byte is not a base (callers report it).
constexpr int base_token(char c) {
  uint8_t v = kBaseTable[static_cast<uint8_t>(c)];
  return v < 0x80 ? (v & 7) : -1;
}
constexpr bool is_soft_masked(char c) {
  uint8_t v = kBaseTable[static_cast<uint8_t>(c)];
  return v < 0x80 && (v & kLowerBit);
}

inline constexpr uint8_t complement(uint8_t token) { return token < kNumBases ? 3 - token : token; }

// Character for a token ('A' 'C' 'G' 'T' 'N'; lowercase when soft_masked). Special tokens print as
// '.' (PAD), '^' (CLS), '$' (SEP): they never appear in a FASTA file.
char token_char(uint8_t token, bool soft_masked = false);
const char* token_name(uint8_t token);  // "A" ... "N", "PAD", "CLS", "SEP"

// Reverse complement of n tokens, into out (out may equal in) or in place. Special tokens map to
// themselves.
void reverse_complement(const uint8_t* in, uint8_t* out, int64_t n);
void reverse_complement(uint8_t* tokens, int64_t n);
void reverse_complement(int32_t* tokens, int64_t n);

// Tokens -> text. mask (may be null) marks soft-masked bases, printed lowercase.
std::string decode(const uint8_t* tokens, const uint8_t* mask, int64_t n);

// Text -> tokens for short strings (tests, configs). Throws on a byte that is not a base, naming it
// and its 0-based index in `text`.
void encode(std::string_view text, uint8_t* tokens, uint8_t* mask);
std::vector<uint8_t> encode(std::string_view text);

}  // namespace ms::dna
