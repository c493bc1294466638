#include "io/dna_vocab.h"

#include <algorithm>

#include "kernels/check.h"

namespace ms::dna {

char token_char(uint8_t token, bool soft_masked) {
  static constexpr char kUpper[kVocabSize + 1] = "ACGTN.^$";
  static constexpr char kLower[kVocabSize + 1] = "acgtn.^$";
  MS_CHECK(token < kVocabSize, "token id ", int(token), " outside the DNA vocabulary [0, ", kVocabSize, ")");
  return soft_masked ? kLower[token] : kUpper[token];
}

const char* token_name(uint8_t token) {
  static constexpr const char* kNames[kVocabSize] = {"A", "C", "G", "T", "N", "PAD", "CLS", "SEP"};
  MS_CHECK(token < kVocabSize, "token id ", int(token), " outside the DNA vocabulary [0, ", kVocabSize, ")");
  return kNames[token];
}

void reverse_complement(const uint8_t* in, uint8_t* out, int64_t n) {
  if (in == out) return reverse_complement(out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = complement(in[n - 1 - i]);
}

template <class T>
static void reverse_complement_inplace(T* t, int64_t n) {
  std::reverse(t, t + n);
  for (int64_t i = 0; i < n; ++i)
    if (t[i] >= 0 && t[i] < kNumBases) t[i] = static_cast<T>(3 - t[i]);
}
void reverse_complement(uint8_t* tokens, int64_t n) { reverse_complement_inplace(tokens, n); }
void reverse_complement(int32_t* tokens, int64_t n) { reverse_complement_inplace(tokens, n); }

std::string decode(const uint8_t* tokens, const uint8_t* mask, int64_t n) {
  std::string s(static_cast<size_t>(n), ' ');
  for (int64_t i = 0; i < n; ++i) s[i] = token_char(tokens[i], mask && mask[i]);
  return s;
}

void encode(std::string_view text, uint8_t* tokens, uint8_t* mask) {
  for (size_t i = 0; i < text.size(); ++i) {
    uint8_t v = kBaseTable[static_cast<uint8_t>(text[i])];
    if (v >= 0x80)
      MS_FAIL("not a DNA base: byte 0x", std::hex, int(static_cast<uint8_t>(text[i])), std::dec, " at index ", i,
              " (0-based) of \"", text.substr(0, 40), text.size() > 40 ? "...\"" : "\"",
              "; expected A C G T N, an IUPAC code (R Y S W K M B D H V) or lowercase");
    tokens[i] = v & 7;
    if (mask) mask[i] = (v & kLowerBit) ? 1 : 0;
  }
}

std::vector<uint8_t> encode(std::string_view text) {
  std::vector<uint8_t> t(text.size());
  encode(text, t.data(), nullptr);
  return t;
}

}  // namespace ms::dna
