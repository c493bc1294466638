#include "io/spectrogram_png.h"

#include <zlib.h>

#include <fstream>

#include "kernels/check.h"

namespace ms {
namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xff);
}

void put_chunk(std::string& out, const char type[4], const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out += body;
  put_u32(out, static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

void write_png_rgb(const std::string& path, int width, int height, const std::vector<uint8_t>& rgb) {
  MS_CHECK(width > 0 && height > 0, "write_png_rgb: image of ", width, " x ", height);
  const size_t row = static_cast<size_t>(width) * 3;
  MS_CHECK(rgb.size() == row * static_cast<size_t>(height), "write_png_rgb: ", rgb.size(), " bytes for ", width,
           " x ", height, " RGB");
  // Each scanline is prefixed by its filter type (0: none).
  std::string raw;
  raw.reserve((row + 1) * static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    raw += '\0';
    raw.append(reinterpret_cast<const char*>(rgb.data()) + row * static_cast<size_t>(y), row);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()),
                           static_cast<uLong>(raw.size()), 6);
  MS_CHECK(rc == Z_OK, "zlib compress2 failed (", rc, ")");
  z.resize(zlen);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32(ihdr, static_cast<uint32_t>(width));
  put_u32(ihdr, static_cast<uint32_t>(height));
  ihdr += static_cast<char>(8);  // bit depth
  ihdr += static_cast<char>(2);  // colour type: RGB
  ihdr += std::string(3, '\0');  // compression, filter, interlace
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", z);
  put_chunk(png, "IEND", "");

  std::ofstream out(path, std::ios::binary);
  if (!out) MS_FAIL(path, ": cannot write PNG");
  out.write(png.data(), static_cast<std::streamsize>(png.size()));
  if (!out) MS_FAIL(path, ": write failed");
}

}  // namespace ms
