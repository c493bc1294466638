// The token view of an audio file, for `mambaseq data tokens AUDIO [--mulaw|--linear]` and
// `mambaseq data detokenize TOKENS OUT.wav`. Token files are text: one integer per line.
// Tokens are computed exactly as the data loader does (io/audio_dataset.h): decode, mix to mono,
// resample to the target rate, round to 16-bit PCM, then quantize through pcm16_token_table. The loader
// additionally puts one silence token before each file (its start-of-sequence input); these do not.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "io/audio.h"
#include "io/quantize.h"

namespace ms {

struct TokenOptions {
  Quantization quantization = Quantization::mulaw;
  int bits = 8;             // tokens are 0 .. 2^bits - 1
  AudioReadOptions read;    // target rate (16 kHz), resampling on/off, required source bit depth
};

// The tokens of an audio file.
std::vector<int32_t> audio_to_tokens(const std::string& audio_path, const TokenOptions& options = {});
// Writes them one per line to `out`; returns how many.
int64_t write_audio_tokens(const std::string& audio_path, std::ostream& out, const TokenOptions& options = {});

// Parses a token file (`name` is used in messages; blank lines and lines starting with '#' are skipped).
// A value outside 0 .. 2^bits - 1 is an error naming the line; one that fits 16 bits but not `bits` is
// reported as a bit-depth mismatch (e.g. 16-bit tokens read as 8-bit).
std::vector<int32_t> read_tokens(std::istream& in, const std::string& name, int bits = 8);
std::vector<int32_t> read_token_file(const std::string& path, int bits = 8);  // "-" reads stdin

// Dequantizes and writes a mono 16-bit WAV at options.read.sample_rate (16 kHz when 0).
void tokens_to_wav(const std::vector<int32_t>& tokens, const std::string& wav_path, const TokenOptions& options = {});
// read_token_file + tokens_to_wav; returns the number of samples written.
int64_t detokenize_file(const std::string& tokens_path, const std::string& wav_path, const TokenOptions& options = {});

}  // namespace ms
