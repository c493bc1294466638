#include "io/audio_tokens.h"

#include <charconv>
#include <fstream>
#include <iostream>

#include "kernels/check.h"

namespace ms {

std::vector<int32_t> audio_to_tokens(const std::string& audio_path, const TokenOptions& opt) {
  check_quantization_bits(opt.bits);
  const Audio audio = read_audio(audio_path, opt.read);
  const std::vector<int16_t> pcm = to_pcm16(audio.samples);
  const std::vector<int32_t> table = pcm16_token_table(opt.quantization, opt.bits);
  std::vector<int32_t> tokens(pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) tokens[i] = table[pcm[i] + 32768];
  return tokens;
}

int64_t write_audio_tokens(const std::string& audio_path, std::ostream& out, const TokenOptions& opt) {
  const std::vector<int32_t> tokens = audio_to_tokens(audio_path, opt);
  std::string buf;
  buf.reserve(tokens.size() * 4);
  for (int32_t t : tokens) {
    buf += std::to_string(t);
    buf += '\n';
  }
  out << buf;
  out.flush();
  if (!out) MS_FAIL("cannot write tokens of ", audio_path, " (output stream failed)");
  return static_cast<int64_t>(tokens.size());
}

std::vector<int32_t> read_tokens(std::istream& in, const std::string& name, int bits) {
  check_quantization_bits(bits);
  const int64_t levels = int64_t{1} << bits;
  std::vector<int32_t> tokens;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r") + 1;
    int64_t v = 0;
    const char* first = line.data() + b;
    const char* last = line.data() + e;
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || ptr != last)
      MS_FAIL(name, ":", lineno, ": '", line.substr(b, e - b), "' is not an integer token (one integer per line)");
    if (v < 0 || v >= levels) {
      if (v > 0 && v < 65536)
        MS_FAIL(name, ":", lineno, ": token ", v, " does not fit ", bits, "-bit tokens (0..", levels - 1,
                "): bit depth mismatch, the file looks like ", v < 256 ? 8 : 16, "-bit tokens; set the bits to match");
      MS_FAIL(name, ":", lineno, ": token ", v, " is outside 0..", levels - 1, " (", bits, "-bit tokens)");
    }
    tokens.push_back(static_cast<int32_t>(v));
  }
  if (in.bad()) MS_FAIL(name, ": read error after line ", lineno);
  if (tokens.empty()) MS_FAIL(name, ": holds no tokens (expected one integer per line)");
  return tokens;
}

std::vector<int32_t> read_token_file(const std::string& path, int bits) {
  if (path == "-") return read_tokens(std::cin, "<stdin>", bits);
  std::ifstream in(path);
  if (!in) MS_FAIL(path, ": cannot open token file");
  return read_tokens(in, path, bits);
}

void tokens_to_wav(const std::vector<int32_t>& tokens, const std::string& wav_path, const TokenOptions& opt) {
  const std::vector<float> x = dequantize(tokens, opt.quantization, opt.bits);
  write_wav16(wav_path, x, opt.read.sample_rate > 0 ? opt.read.sample_rate : 16000);
}

int64_t detokenize_file(const std::string& tokens_path, const std::string& wav_path, const TokenOptions& opt) {
  const std::vector<int32_t> tokens = read_token_file(tokens_path, opt.bits);
  tokens_to_wav(tokens, wav_path, opt);
  return static_cast<int64_t>(tokens.size());
}

}  // namespace ms
