#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "io/dna_vocab.h"
#include "tests/io/test_dna_fixtures.h"

namespace ms::dna {
namespace {

TEST(DnaVocab, FixedIdsAndSize) {
  EXPECT_EQ(kVocabSize, 8);
  const std::string letters = "ACGTN";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(base_token(letters[i]), i);
    EXPECT_EQ(base_token(static_cast<char>(std::tolower(letters[i]))), i);
    EXPECT_EQ(token_char(static_cast<uint8_t>(i)), letters[i]);
  }
  EXPECT_STREQ(token_name(kPad), "PAD");
  EXPECT_STREQ(token_name(kCls), "CLS");
  EXPECT_EQ(kBos, kCls);
}

TEST(DnaVocab, EveryByteClassified) {
  const std::string iupac = "RYSWKMBDHV";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const char up = static_cast<char>(std::toupper(b));
    int expect = -1;
    if (std::string("ACGTN").find(up) != std::string::npos && std::isalpha(b)) expect = base_token(up);
    if (iupac.find(up) != std::string::npos && std::isalpha(b)) expect = kN;
    if (b >= 128) expect = -1;
    EXPECT_EQ(base_token(c), expect) << "byte " << b;
    if (expect >= 0) {
      EXPECT_EQ(is_soft_masked(c), std::islower(b) != 0) << "byte " << b;
    }
  }
  EXPECT_EQ(kBaseTable['\n'], kByteNewline);
  EXPECT_EQ(kBaseTable['>'], kByteHeader);
  EXPECT_EQ(kBaseTable['U'], kByteInvalid);  // RNA is not accepted silently
  EXPECT_EQ(kBaseTable['-'], kByteInvalid);
}

TEST(DnaVocab, ReverseComplementMatchesStringDefinition) {
  Rng rng(test::test_seed());
  const int64_t n = 1000 + static_cast<int64_t>(rng.below(100));
  std::string s = test::random_bases(rng, n, /*iupac=*/false);
  std::vector<uint8_t> t = encode(s), r(t.size());
  reverse_complement(t.data(), r.data(), n);
  // Independent definition on letters.
  std::string expect(s.rbegin(), s.rend());
  for (auto& c : expect) {
    switch (std::toupper(c)) {
      case 'A': c = 'T'; break;
      case 'C': c = 'G'; break;
      case 'G': c = 'C'; break;
      case 'T': c = 'A'; break;
      default: c = 'N';
    }
  }
  EXPECT_EQ(decode(r.data(), nullptr, n), expect);
  // In place, int32, and involution.
  std::vector<int32_t> t32(t.begin(), t.end());
  t32.push_back(kPad);
  reverse_complement(t32.data(), static_cast<int64_t>(t32.size()));
  EXPECT_EQ(t32[0], kPad);
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(t32[i + 1], r[i]);
  reverse_complement(r.data(), n);
  EXPECT_EQ(r, t);
}

TEST(DnaVocab, EncodeDecodeKeepsSoftMask) {
  Rng rng(test::test_seed());
  std::string s = test::random_bases(rng, 500);
  std::vector<uint8_t> t(s.size()), m(s.size());
  encode(s, t.data(), m.data());
  EXPECT_EQ(decode(t.data(), m.data(), static_cast<int64_t>(s.size())), s);
  std::string upper = s;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(decode(t.data(), nullptr, static_cast<int64_t>(s.size())), upper);
  test::expect_error([&] { encode("ACGTXACG"); }, {"0x58", "index 4"});
}

}  // namespace
}  // namespace ms::dna

#include "io/dna_tokenize.h"

namespace ms::dna {
namespace {

TEST(DnaTokenize, SimdMatchesScalarOnRandomBytes) {
  Rng rng(test::test_seed());
  const std::string letters = "ACGTNacgtnRYSWKMBDHVryswkmbdhv";
  for (int trial = 0; trial < 2000; ++trial) {
    const int64_t n = static_cast<int64_t>(rng.below(100));
    std::vector<unsigned char> p(static_cast<size_t>(n));
    for (auto& c : p) c = static_cast<unsigned char>(letters[rng.below(letters.size())]);
    if (n > 0 && rng.below(2)) p[rng.below(static_cast<uint64_t>(n))] = static_cast<unsigned char>(rng.below(256));
    std::vector<uint8_t> t1(p.size() + 16), m1(p.size() + 16), t2(p.size() + 16), m2(p.size() + 16);
    const int64_t k1 = tokenize_bases(p.data(), n, t1.data(), m1.data());
    const int64_t k2 = tokenize_bases_scalar(p.data(), n, t2.data(), m2.data());
    ASSERT_EQ(k1, k2) << "trial " << trial;
    for (int64_t i = 0; i < k1; ++i) {
      ASSERT_EQ(t1[i], t2[i]);
      ASSERT_EQ(m1[i], m2[i]);
      ASSERT_EQ(t1[i], base_token(static_cast<char>(p[i])));
    }
    if (k1 < n) {
      ASSERT_LT(base_token(static_cast<char>(p[k1])), 0);
    }
    EXPECT_EQ(tokenize_bases(p.data(), n, t1.data(), nullptr), k2);  // no mask
  }
  // Every byte value, at every position of a 16-byte block.
  for (int b = 0; b < 256; ++b)
    for (int pos = 0; pos < 16; ++pos) {
      std::vector<unsigned char> p(16, 'A');
      p[pos] = static_cast<unsigned char>(b);
      uint8_t t[16];
      const int64_t want = base_token(static_cast<char>(b)) >= 0 ? 16 : pos;
      ASSERT_EQ(tokenize_bases(p.data(), 16, t, nullptr), want) << "byte " << b << " at " << pos;
    }
}

}  // namespace
}  // namespace ms::dna
