// A minimal PNG writer: 8-bit RGB, no interlacing, rows deflated with zlib.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ms {

// rgb holds height rows of width * 3 bytes.
void write_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb);

}  // namespace ms
