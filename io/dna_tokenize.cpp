#include "io/dna_tokenize.h"

#include "io/dna_vocab.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MS_DNA_X86 1
#endif

namespace ms::dna {

int64_t tokenize_bases_scalar(const unsigned char* p, int64_t n, uint8_t* tokens, uint8_t* mask) {
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t v = kBaseTable[p[i]];
    if (v >= 0x80) return i;
    tokens[i] = v & 7;
    if (mask) mask[i] = (v >> 3) & 1;
  }
  return n;
}

#ifdef MS_DNA_X86
namespace {

// Letters are 0x41-0x5A / 0x61-0x7A; their low 5 bits (1..26) index a 32-entry table split in two
// 16-entry pshufb tables. An entry is token | 0x10 for a base letter and 0 for any other letter.
constexpr uint8_t entry(int lo5) {
  const char c = static_cast<char>('@' + lo5);  // '@' 'A' ... 'Z' '[' ... '_'
  const int t = (c >= 'A' && c <= 'Z') ? base_token(c) : -1;
  return t < 0 ? 0 : static_cast<uint8_t>(t | 0x10);
}

__attribute__((target("ssse3"))) int64_t tokenize_ssse3(const unsigned char* p, int64_t n, uint8_t* tokens,
                                                        uint8_t* mask) {
  alignas(16) static constexpr uint8_t kLo[16] = {entry(0), entry(1), entry(2),  entry(3),  entry(4),  entry(5),
                                                  entry(6), entry(7), entry(8),  entry(9),  entry(10), entry(11),
                                                  entry(12), entry(13), entry(14), entry(15)};
  alignas(16) static constexpr uint8_t kHi[16] = {entry(16), entry(17), entry(18), entry(19), entry(20), entry(21),
                                                  entry(22), entry(23), entry(24), entry(25), entry(26), entry(27),
                                                  entry(28), entry(29), entry(30), entry(31)};
  const __m128i lo_table = _mm_load_si128(reinterpret_cast<const __m128i*>(kLo));
  const __m128i hi_table = _mm_load_si128(reinterpret_cast<const __m128i*>(kHi));
  const __m128i c1f = _mm_set1_epi8(0x1f), c10 = _mm_set1_epi8(0x10), cc0 = _mm_set1_epi8(static_cast<char>(0xc0));
  const __m128i c40 = _mm_set1_epi8(0x40), c07 = _mm_set1_epi8(7), c01 = _mm_set1_epi8(1);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i lo5 = _mm_and_si128(x, c1f);
    const __m128i upper_half = _mm_cmpeq_epi8(_mm_and_si128(x, c10), c10);  // lo5 >= 16
    const __m128i t = _mm_or_si128(_mm_and_si128(upper_half, _mm_shuffle_epi8(hi_table, lo5)),
                                   _mm_andnot_si128(upper_half, _mm_shuffle_epi8(lo_table, lo5)));
    const __m128i letter_range = _mm_cmpeq_epi8(_mm_and_si128(x, cc0), c40);  // 0x40-0x7f
    const __m128i ok = _mm_and_si128(letter_range, _mm_cmpeq_epi8(_mm_and_si128(t, c10), c10));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tokens + i), _mm_and_si128(t, c07));
    if (mask) _mm_storeu_si128(reinterpret_cast<__m128i*>(mask + i), _mm_and_si128(_mm_srli_epi16(x, 5), c01));
    const int good = _mm_movemask_epi8(ok);
    if (good != 0xffff) return i + __builtin_ctz(static_cast<unsigned>(~good));
  }
  return i + tokenize_bases_scalar(p + i, n - i, tokens + i, mask ? mask + i : nullptr);
}

const bool kHaveSsse3 = __builtin_cpu_supports("ssse3");

}  // namespace
#endif

int64_t tokenize_bases(const unsigned char* p, int64_t n, uint8_t* tokens, uint8_t* mask) {
#ifdef MS_DNA_X86
  if (kHaveSsse3) return tokenize_ssse3(p, n, tokens, mask);
#endif
  return tokenize_bases_scalar(p, n, tokens, mask);
}

}  // namespace ms::dna
