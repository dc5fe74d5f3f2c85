// Decoding of the data URLs a worker's SwarmUI returns, and validation of the images.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swarmpod::media {

struct DataUrl {
    std::string_view mime;    // e.g. "image/png"; lower-case as sent
    std::string_view base64;  // payload after "base64,"
};

// Splits "data:<mime>;base64,<payload>". Throws Error(image_invalid) naming what is
// wrong (no "data:" prefix, not base64, empty payload).
DataUrl parse_data_url(std::string_view url);

// Decodes standard base64 (RFC 4648, padding optional, no line breaks). Throws
// Error(image_invalid) with the offset of the first invalid character.
std::vector<uint8_t> base64_decode(std::string_view text);
std::string base64_encode(const uint8_t* data, std::size_t size);

struct ImageInfo {
    std::string format;  // "png", "jpeg", "webp", ... as detected from the bytes
    int width = 0;
    int height = 0;
    int channels = 0;
};

// Checks that `bytes` hold a complete image of the claimed mime type and reads its
// size. PNG and JPEG are checked structurally (all PNG chunks present through IEND,
// JPEG ending with EOI) and sized with stb_image; WebP is sized from its RIFF header,
// GIF and BMP from their fixed headers. The mime type is compared case-insensitively.
// Throws Error(image_invalid) for an empty, corrupt or truncated image or a mime
// mismatch. Other mime types are passed through with format "" and zero size.
ImageInfo validate_image(const uint8_t* bytes, std::size_t size, std::string_view mime);

struct DecodedImage {
    std::vector<uint8_t> bytes;
    std::string mime;
    ImageInfo info;
};

// parse_data_url + base64_decode + validate_image. `mime` is lower-cased.
DecodedImage decode_image_data_url(std::string_view url);

}  // namespace swarmpod::media
