// Data-URL parsing, base64 coding and structural checks of the images a worker returns.
#include "media/image.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <string>

#include <stb_image.h>

#include "core/error.hpp"

namespace swarmpod::media {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(Status::image_invalid, message); }

// Quotes `text` for an error message: at most `max_chars` bytes, with control and
// non-ASCII bytes written as \xNN so that binary garbage stays readable.
std::string quote(std::string_view text, std::size_t max_chars = 60) {
    std::string out = "'";
    const std::size_t shown = std::min(text.size(), max_chars);
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02X", c);
            out += escaped;
        }
    }
    out += "'";
    if (text.size() > max_chars) {
        out += "... (" + std::to_string(text.size()) + " characters)";
    }
    return out;
}

std::string hex_bytes(const uint8_t* bytes, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        char byte[4];
        std::snprintf(byte, sizeof byte, "%02X", bytes[i]);
        if (i > 0) out += ' ';
        out += byte;
    }
    return out;
}

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
    }
    return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower_ascii);
    return out;
}

// ---- base64 ----------------------------------------------------------------------

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Set in a decode-table entry for a byte outside the alphabet. The bit lies above the
// 24 bits that four sextets fill, so one test of the OR of four lookups finds it.
constexpr uint32_t kInvalidSextet = 0x01000000;

constexpr int sextet_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// One table per position in a 4-character group, with each value already shifted
// into place, so decoding a group is four loads and three ORs.
template <int Shift>
constexpr std::array<uint32_t, 256> make_decode_table() {
    std::array<uint32_t, 256> table{};
    for (int c = 0; c < 256; ++c) {
        const int value = sextet_value(static_cast<unsigned char>(c));
        table[static_cast<std::size_t>(c)] =
            value < 0 ? kInvalidSextet : static_cast<uint32_t>(value) << Shift;
    }
    return table;
}

constexpr std::array<uint32_t, 256> kDecode0 = make_decode_table<18>();
constexpr std::array<uint32_t, 256> kDecode1 = make_decode_table<12>();
constexpr std::array<uint32_t, 256> kDecode2 = make_decode_table<6>();
constexpr std::array<uint32_t, 256> kDecode3 = make_decode_table<0>();

// Throws for the first character at or after `from` that is outside the alphabet.
[[noreturn]] void fail_invalid_base64(std::string_view text, std::size_t from) {
    std::size_t offset = from;
    while (offset < text.size() && sextet_value(static_cast<unsigned char>(text[offset])) >= 0) ++offset;
    if (offset >= text.size()) {
        fail("invalid base64 payload: no invalid character found after offset " + std::to_string(from));
    }
    const auto c = static_cast<unsigned char>(text[offset]);
    if (c == '=') {
        fail("invalid base64 payload: '=' padding at offset " + std::to_string(offset) + " of " +
             std::to_string(text.size()) + " characters; padding may appear only at the end");
    }
    char described[16];
    if (c >= 0x20 && c < 0x7f) {
        std::snprintf(described, sizeof described, "'%c' (0x%02X)", c, c);
    } else {
        std::snprintf(described, sizeof described, "byte 0x%02X", c);
    }
    fail(std::string("invalid base64 payload: ") + described + " at offset " + std::to_string(offset) +
         " is not in the standard base64 alphabet (A-Z a-z 0-9 + /); URL-safe base64 and line "
         "breaks are not accepted");
}

// ---- image formats -----------------------------------------------------------------

enum class Format { unknown, png, jpeg, webp, gif, bmp };

const char* format_display_name(Format format) {
    switch (format) {
        case Format::png: return "PNG";
        case Format::jpeg: return "JPEG";
        case Format::webp: return "WebP";
        case Format::gif: return "GIF";
        case Format::bmp: return "BMP";
        case Format::unknown: break;
    }
    return "an unrecognized format";
}

Format format_for_mime(std::string_view mime) {
    if (iequals(mime, "image/png")) return Format::png;
    if (iequals(mime, "image/jpeg") || iequals(mime, "image/jpg")) return Format::jpeg;
    if (iequals(mime, "image/webp")) return Format::webp;
    if (iequals(mime, "image/gif")) return Format::gif;
    if (iequals(mime, "image/bmp") || iequals(mime, "image/x-ms-bmp")) return Format::bmp;
    return Format::unknown;
}

bool starts_with_bytes(const uint8_t* bytes, std::size_t size, std::string_view magic, std::size_t at = 0) {
    if (size < at + magic.size()) return false;
    for (std::size_t i = 0; i < magic.size(); ++i) {
        if (bytes[at + i] != static_cast<uint8_t>(magic[i])) return false;
    }
    return true;
}

Format detect_format(const uint8_t* bytes, std::size_t size) {
    if (starts_with_bytes(bytes, size, "\x89PNG\r\n\x1a\n")) return Format::png;
    if (starts_with_bytes(bytes, size, "\xFF\xD8\xFF")) return Format::jpeg;
    if (starts_with_bytes(bytes, size, "RIFF") && starts_with_bytes(bytes, size, "WEBP", 8)) return Format::webp;
    if (starts_with_bytes(bytes, size, "GIF87a") || starts_with_bytes(bytes, size, "GIF89a")) return Format::gif;
    if (starts_with_bytes(bytes, size, "BM")) return Format::bmp;
    return Format::unknown;
}

uint32_t read_be32(const uint8_t* p) {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t read_le32(const uint8_t* p) {
    return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | uint32_t{p[0]};
}
uint32_t read_le24(const uint8_t* p) { return (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | uint32_t{p[0]}; }
uint32_t read_le16(const uint8_t* p) { return (uint32_t{p[1]} << 8) | uint32_t{p[0]}; }

std::string chunk_name(const uint8_t* p) { return quote(std::string_view(reinterpret_cast<const char*>(p), 4)); }

// Fills width, height and channels from stb_image's header reader.
void read_size_with_stb(const uint8_t* bytes, std::size_t size, const char* format_name, ImageInfo& info) {
    if (size > static_cast<std::size_t>(INT_MAX)) {
        throw Error(Status::too_large, std::string(format_name) + " image of " + std::to_string(size) +
                                           " bytes is too large to read (the maximum is 2 GiB)");
    }
    int width = 0;
    int height = 0;
    int channels = 0;
    if (stbi_info_from_memory(bytes, static_cast<int>(size), &width, &height, &channels) == 0) {
        const char* reason = stbi_failure_reason();
        fail(std::string(format_name) + " header is invalid: stb_image reports '" +
             (reason != nullptr ? reason : "unknown error") + "'");
    }
    info.width = width;
    info.height = height;
    info.channels = channels;
}

// Walks the PNG chunk list: IHDR first, every chunk complete with a matching CRC-32,
// IEND reached. TLS protects the bytes only in transit: a worker or a proxy that damages
// an image inside a well-framed chunk is caught only by the CRC (zlib's crc32 runs at
// several GB/s, so the second pass is cheap next to base64). Bytes after IEND are
// ignored, as PNG decoders do.
ImageInfo check_png(const uint8_t* bytes, std::size_t size) {
    constexpr std::size_t kSignatureSize = 8;
    constexpr std::size_t kChunkFraming = 12;  // length, type and CRC, 4 bytes each
    std::size_t offset = kSignatureSize;
    bool first = true;
    bool saw_iend = false;
    while (offset < size) {
        const std::size_t remaining = size - offset;
        if (remaining < kChunkFraming) {
            fail("PNG is truncated: the chunk header at offset " + std::to_string(offset) + " needs " +
                 std::to_string(kChunkFraming) + " bytes, " + std::to_string(remaining) + " remain");
        }
        const uint8_t* chunk = bytes + offset;
        const uint32_t length = read_be32(chunk);
        const uint8_t* type = chunk + 4;
        for (int i = 0; i < 4; ++i) {
            const bool letter = (type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z');
            if (!letter) {
                fail("PNG is corrupt: the chunk at offset " + std::to_string(offset) +
                     " has an invalid type (bytes " + hex_bytes(type, 4) + ")");
            }
        }
        if (length > 0x7FFFFFFFu) {
            fail("PNG is corrupt: chunk " + chunk_name(type) + " at offset " + std::to_string(offset) +
                 " declares " + std::to_string(length) + " data bytes, above the PNG maximum of 2^31-1");
        }
        const std::size_t needed = kChunkFraming + length;
        if (needed > remaining) {
            fail("PNG is truncated: chunk " + chunk_name(type) + " at offset " + std::to_string(offset) +
                 " needs " + std::to_string(needed) + " bytes, " + std::to_string(remaining) + " remain");
        }
        const uint32_t stored_crc = read_be32(chunk + 8 + length);
        const uint32_t actual_crc = static_cast<uint32_t>(
            crc32(crc32(0L, Z_NULL, 0), type, static_cast<uInt>(4 + length)));
        if (stored_crc != actual_crc) {
            fail("PNG is corrupt: chunk " + chunk_name(type) + " at offset " + std::to_string(offset) +
                 " fails its CRC check (the image was damaged after it was encoded)");
        }
        const bool is_ihdr = starts_with_bytes(type, 4, "IHDR");
        if (first && !(is_ihdr && length == 13)) {
            fail("PNG is corrupt: the first chunk is " + chunk_name(type) + " with " + std::to_string(length) +
                 " data bytes, expected 'IHDR' with 13");
        }
        first = false;
        offset += needed;
        if (starts_with_bytes(type, 4, "IEND")) {
            saw_iend = true;
            break;
        }
    }
    if (!saw_iend) {
        fail("PNG is truncated: the data ends at offset " + std::to_string(size) + " without an 'IEND' chunk");
    }
    ImageInfo info;
    info.format = "png";
    read_size_with_stb(bytes, size, "PNG", info);
    return info;
}

// Rejects a Huffman table (DHT segment) that lists more than 256 codes. The stb_image
// of Debian 12 (2022-09 snapshot) writes past its 257-entry code length array for such
// a table before checking anything; later stb_image releases reject it as we do here.
// The walk follows stb_image's header reader: it resynchronises on the next 0xFF byte,
// reads bytes past the end as zero, and stops at the first frame or scan header.
void check_jpeg_huffman_tables(const uint8_t* bytes, std::size_t size) {
    auto byte_at = [&](std::size_t at) -> unsigned { return at < size ? bytes[at] : 0u; };
    std::size_t pos = 2;  // after SOI
    while (pos < size) {
        if (bytes[pos] != 0xFF) {
            ++pos;
            continue;
        }
        while (pos < size && bytes[pos] == 0xFF) ++pos;
        if (pos >= size) return;
        const unsigned marker = bytes[pos++];
        const bool frame_or_scan = (marker >= 0xC0 && marker <= 0xC2) || marker == 0xDA || marker == 0xD9;
        if (frame_or_scan) return;
        const bool standalone = marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8);
        if (standalone) continue;
        const std::size_t length = (byte_at(pos) << 8) | byte_at(pos + 1);
        if (marker == 0xC4) {
            long remaining = static_cast<long>(length) - 2;
            std::size_t table = pos + 2;
            while (remaining > 0) {
                unsigned codes = 0;
                for (std::size_t i = 1; i <= 16; ++i) codes += byte_at(table + i);
                if (codes > 256) {
                    fail("JPEG has a corrupt Huffman table: it lists " + std::to_string(codes) +
                         " codes, and a table holds at most 256");
                }
                table += 17 + codes;
                remaining -= static_cast<long>(17 + codes);
            }
        }
        if (length < 2) return;
        pos += length;
    }
}

// Requires the EOI marker at the end, after skipping the zero bytes some encoders pad with.
ImageInfo check_jpeg(const uint8_t* bytes, std::size_t size) {
    std::size_t end = size;
    while (end > 0 && bytes[end - 1] == 0) --end;
    if (end < 4 || bytes[end - 2] != 0xFF || bytes[end - 1] != 0xD9) {
        const std::size_t tail = std::min<std::size_t>(end, 4);
        fail("JPEG is truncated: it does not end with the EOI marker FF D9 (its last bytes are " +
             hex_bytes(bytes + end - tail, tail) + ", " + std::to_string(size) + " bytes in all)");
    }
    check_jpeg_huffman_tables(bytes, size);
    ImageInfo info;
    info.format = "jpeg";
    read_size_with_stb(bytes, size, "JPEG", info);
    return info;
}

// Reads the canvas size from the first chunk of a RIFF/WEBP file: 'VP8 ' (lossy),
// 'VP8L' (lossless) or 'VP8X' (extended), after checking every chunk is complete.
ImageInfo check_webp(const uint8_t* bytes, std::size_t size) {
    constexpr std::size_t kRiffHeader = 12;
    constexpr std::size_t kChunkHeader = 8;
    if (size < kRiffHeader + kChunkHeader) {
        fail("WebP is truncated: " + std::to_string(size) + " bytes, the RIFF and first chunk headers need " +
             std::to_string(kRiffHeader + kChunkHeader));
    }
    const uint64_t declared = uint64_t{read_le32(bytes + 4)} + 8;
    if (declared > size) {
        fail("WebP is truncated: the RIFF header declares " + std::to_string(declared) + " bytes, " +
             std::to_string(size) + " are present");
    }
    if (declared < size) {
        fail("WebP is corrupt: the RIFF header declares " + std::to_string(declared) + " bytes, but " +
             std::to_string(size) + " are present");
    }

    for (std::size_t offset = kRiffHeader; offset < size;) {
        const std::size_t remaining = size - offset;
        if (remaining < kChunkHeader) {
            fail("WebP is truncated: the chunk header at offset " + std::to_string(offset) + " needs " +
                 std::to_string(kChunkHeader) + " bytes, " + std::to_string(remaining) + " remain");
        }
        const uint64_t needed = kChunkHeader + uint64_t{read_le32(bytes + offset + 4)};
        if (needed > remaining) {
            fail("WebP is truncated: chunk " + chunk_name(bytes + offset) + " at offset " + std::to_string(offset) +
                 " needs " + std::to_string(needed) + " bytes, " + std::to_string(remaining) + " remain");
        }
        // Chunks are padded to an even size. The pad byte may be missing after the last one.
        offset += static_cast<std::size_t>(needed + (needed & 1));
    }

    const uint8_t* chunk = bytes + kRiffHeader;
    const uint32_t chunk_size = read_le32(chunk + 4);
    const uint8_t* data = chunk + kChunkHeader;
    ImageInfo info;
    info.format = "webp";
    info.channels = 3;
    if (starts_with_bytes(chunk, 4, "VP8 ")) {
        // Frame tag (3 bytes), start code 9D 01 2A, then 14-bit width and height.
        if (chunk_size < 10 || !starts_with_bytes(data, 10, "\x9D\x01\x2A", 3)) {
            fail("WebP is corrupt: the 'VP8 ' chunk has no valid key frame header");
        }
        info.width = static_cast<int>(read_le16(data + 6) & 0x3FFF);
        info.height = static_cast<int>(read_le16(data + 8) & 0x3FFF);
    } else if (starts_with_bytes(chunk, 4, "VP8L")) {
        // Signature 0x2F, then 14 bits width-1, 14 bits height-1, 1 bit alpha.
        if (chunk_size < 5 || data[0] != 0x2F) {
            fail("WebP is corrupt: the 'VP8L' chunk does not start with the signature byte 2F");
        }
        const uint32_t bits = read_le32(data + 1);
        info.width = static_cast<int>((bits & 0x3FFF) + 1);
        info.height = static_cast<int>(((bits >> 14) & 0x3FFF) + 1);
        info.channels = ((bits >> 28) & 1) != 0 ? 4 : 3;
    } else if (starts_with_bytes(chunk, 4, "VP8X")) {
        // Flags (alpha is 0x10), 3 reserved bytes, 24-bit width-1 and height-1.
        if (chunk_size < 10) {
            fail("WebP is corrupt: the 'VP8X' chunk has " + std::to_string(chunk_size) + " bytes, expected 10");
        }
        info.width = static_cast<int>(read_le24(data + 4) + 1);
        info.height = static_cast<int>(read_le24(data + 7) + 1);
        info.channels = (data[0] & 0x10) != 0 ? 4 : 3;
    } else {
        fail("WebP is corrupt: the first chunk is " + chunk_name(chunk) + ", expected 'VP8 ', 'VP8L' or 'VP8X'");
    }
    if (info.width == 0 || info.height == 0) {
        fail("WebP is corrupt: its size is " + std::to_string(info.width) + "x" + std::to_string(info.height));
    }
    return info;
}

// GIF and BMP are sized from their fixed headers only; their bodies are not checked.
// NOTE: channels stays 0 for them because the header does not fix the decoded layout.
ImageInfo check_gif(const uint8_t* bytes, std::size_t size) {
    if (size < 10) fail("GIF is truncated: " + std::to_string(size) + " bytes, the header needs 10");
    ImageInfo info;
    info.format = "gif";
    info.width = static_cast<int>(read_le16(bytes + 6));
    info.height = static_cast<int>(read_le16(bytes + 8));
    return info;
}

ImageInfo check_bmp(const uint8_t* bytes, std::size_t size) {
    if (size < 26) fail("BMP is truncated: " + std::to_string(size) + " bytes, the headers need 26");
    const uint32_t declared = read_le32(bytes + 2);
    if (declared > size) {
        fail("BMP is truncated: the header declares " + std::to_string(declared) + " bytes, " +
             std::to_string(size) + " are present");
    }
    // A negative height marks a top-down bitmap.
    const auto width = static_cast<int32_t>(read_le32(bytes + 18));
    const auto height = static_cast<int32_t>(read_le32(bytes + 22));
    if (width <= 0 || height == 0 || height == INT32_MIN) {
        fail("BMP has an invalid size " + std::to_string(width) + "x" + std::to_string(height));
    }
    ImageInfo info;
    info.format = "bmp";
    info.width = width;
    info.height = height < 0 ? -height : height;
    return info;
}

std::string describe_bytes(Format format, const uint8_t* bytes, std::size_t size) {
    if (format != Format::unknown) return format_display_name(format);
    return "not a recognized image (first bytes " + hex_bytes(bytes, std::min<std::size_t>(size, 8)) + ")";
}

}  // namespace

DataUrl parse_data_url(std::string_view url) {
    constexpr std::string_view kScheme = "data:";
    constexpr std::string_view kBase64Marker = ";base64";
    constexpr const char* kExpected = "expected 'data:<mime>;base64,<payload>'";

    if (!istarts_with(url, kScheme)) {
        fail("expected a data URL starting with 'data:', got " + quote(url));
    }
    const std::size_t comma = url.find(',', kScheme.size());
    if (comma == std::string_view::npos) {
        fail(std::string("data URL has no ',' before its payload: ") + kExpected + ", got " + quote(url));
    }
    const std::string_view header = url.substr(kScheme.size(), comma - kScheme.size());
    if (header.size() < kBase64Marker.size() ||
        !iequals(header.substr(header.size() - kBase64Marker.size()), kBase64Marker)) {
        fail(std::string("data URL is not base64-encoded: ") + kExpected + ", got " + quote(url.substr(0, comma + 1)));
    }
    const std::string_view mime = header.substr(0, header.find(';'));
    if (mime.empty()) {
        fail(std::string("data URL has no media type: ") + kExpected + ", got " + quote(url.substr(0, comma + 1)));
    }
    const std::string_view payload = url.substr(comma + 1);
    if (payload.empty()) {
        fail("data URL of type " + quote(mime) + " has an empty payload");
    }
    return DataUrl{mime, payload};
}

std::vector<uint8_t> base64_decode(std::string_view text) {
    std::size_t length = text.size();
    std::size_t padding = 0;
    while (padding < 2 && length > 0 && text[length - 1] == '=') {
        --length;
        ++padding;
    }
    const std::size_t groups = length / 4;
    const std::size_t tail = length % 4;
    if (tail == 1) {
        // A stray character (a line break, say) is likelier than a cut payload, so name it first.
        for (std::size_t offset = 0; offset < length; ++offset) {
            if (sextet_value(static_cast<unsigned char>(text[offset])) < 0) fail_invalid_base64(text, offset);
        }
        fail("invalid base64 payload: " + std::to_string(length) +
             " characters before padding leave 1 character in the last group of 4, which cannot encode a "
             "byte (the payload is probably truncated)");
    }
    if (padding > 0 && tail + padding != 4) {
        fail("invalid base64 payload: the last group has " + std::to_string(tail) + " characters and " +
             std::to_string(padding) + " '=', which do not make a group of 4");
    }

    std::vector<uint8_t> out(groups * 3 + (tail == 0 ? 0 : tail - 1));
    const auto* in = reinterpret_cast<const unsigned char*>(text.data());
    uint8_t* dst = out.data();
    for (std::size_t group = 0; group < groups; ++group) {
        const uint32_t value = kDecode0[in[0]] | kDecode1[in[1]] | kDecode2[in[2]] | kDecode3[in[3]];
        if ((value & kInvalidSextet) != 0) fail_invalid_base64(text, group * 4);
        dst[0] = static_cast<uint8_t>(value >> 16);
        dst[1] = static_cast<uint8_t>(value >> 8);
        dst[2] = static_cast<uint8_t>(value);
        in += 4;
        dst += 3;
    }
    if (tail != 0) {
        uint32_t value = kDecode0[in[0]] | kDecode1[in[1]];
        if (tail == 3) value |= kDecode2[in[2]];
        if ((value & kInvalidSextet) != 0) fail_invalid_base64(text, groups * 4);
        dst[0] = static_cast<uint8_t>(value >> 16);
        if (tail == 3) dst[1] = static_cast<uint8_t>(value >> 8);
    }
    return out;
}

std::string base64_encode(const uint8_t* data, std::size_t size) {
    std::string out((size + 2) / 3 * 4, '=');
    char* dst = out.data();
    std::size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const uint32_t value = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | uint32_t{data[i + 2]};
        dst[0] = kAlphabet[(value >> 18) & 63];
        dst[1] = kAlphabet[(value >> 12) & 63];
        dst[2] = kAlphabet[(value >> 6) & 63];
        dst[3] = kAlphabet[value & 63];
        dst += 4;
    }
    const std::size_t rest = size - i;
    if (rest != 0) {
        uint32_t value = uint32_t{data[i]} << 16;
        if (rest == 2) value |= uint32_t{data[i + 1]} << 8;
        dst[0] = kAlphabet[(value >> 18) & 63];
        dst[1] = kAlphabet[(value >> 12) & 63];
        if (rest == 2) dst[2] = kAlphabet[(value >> 6) & 63];
    }
    return out;
}

ImageInfo validate_image(const uint8_t* bytes, std::size_t size, std::string_view mime) {
    if (size == 0) {
        fail("image of type " + quote(mime) + " is empty (0 bytes)");
    }
    const Format claimed = format_for_mime(mime);
    if (claimed == Format::unknown) return ImageInfo{};

    const Format actual = detect_format(bytes, size);
    if (actual != claimed) {
        fail("image bytes do not match the media type: the data URL says " + quote(mime) + " but the bytes are " +
             describe_bytes(actual, bytes, size));
    }
    switch (claimed) {
        case Format::png: return check_png(bytes, size);
        case Format::jpeg: return check_jpeg(bytes, size);
        case Format::webp: return check_webp(bytes, size);
        case Format::gif: return check_gif(bytes, size);
        case Format::bmp: return check_bmp(bytes, size);
        case Format::unknown: break;
    }
    return ImageInfo{};
}

DecodedImage decode_image_data_url(std::string_view url) {
    const DataUrl parsed = parse_data_url(url);
    DecodedImage image;
    image.bytes = base64_decode(parsed.base64);
    image.mime = to_lower(parsed.mime);
    image.info = validate_image(image.bytes.data(), image.bytes.size(), image.mime);
    return image;
}

}  // namespace swarmpod::media
