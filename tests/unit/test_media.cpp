// Tests of data-URL parsing, base64 and image validation, on PNG files written here by
// stb_image_write and stored JPEG and WebP files made by stb_image_write and libwebp.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>

#include "core/error.hpp"
#include "media/image.hpp"

namespace media = swarmpod::media;
using swarmpod::Error;
using swarmpod::Status;

namespace {

std::vector<uint8_t> pixels(int width, int height, int channels) {
    std::vector<uint8_t> data(static_cast<std::size_t>(width * height * channels));
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
    return data;
}

void append_bytes(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* bytes = static_cast<const uint8_t*>(data);
    out->insert(out->end(), bytes, bytes + size);
}

std::vector<uint8_t> make_png(int width, int height, int channels) {
    const std::vector<uint8_t> data = pixels(width, height, channels);
    std::vector<uint8_t> png;
    EXPECT_NE(stbi_write_png_to_func(append_bytes, &png, width, height, channels, data.data(), width * channels), 0);
    return png;
}

std::string data_url(const std::string& mime, const std::vector<uint8_t>& bytes) {
    return "data:" + mime + ";base64," + media::base64_encode(bytes.data(), bytes.size());
}

// Runs `action`, expects Error(image_invalid) and returns its message.
std::string image_error(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::image_invalid) << error.what();
        return error.what();
    }
    ADD_FAILURE() << "expected Error(image_invalid), nothing was thrown";
    return "";
}

// A 16x8 RGB JPEG (quality 50) written by stb_image_write 1.16. It is stored rather
// than written at run time because UBSan reports an int shift overflow in that
// version's JPEG writer, which would stop a sanitizer build of this test.
const std::vector<uint8_t> kJpeg16x8 = {
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x84, 0x00, 0x10, 0x0B, 0x0C, 0x0E, 0x0C,
    0x0A, 0x10, 0x0E, 0x0D, 0x0E, 0x12, 0x11, 0x10, 0x13, 0x18, 0x28, 0x1A, 0x18, 0x16, 0x16,
    0x18, 0x31, 0x23, 0x25, 0x1D, 0x28, 0x3A, 0x33, 0x3D, 0x3C, 0x39, 0x33, 0x38, 0x37, 0x40,
    0x48, 0x5C, 0x4E, 0x40, 0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6D, 0x51, 0x57, 0x5F, 0x62,
    0x67, 0x68, 0x67, 0x3E, 0x4D, 0x71, 0x79, 0x70, 0x64, 0x78, 0x5C, 0x65, 0x67, 0x63, 0x01,
    0x11, 0x12, 0x12, 0x18, 0x15, 0x18, 0x2F, 0x1A, 0x1A, 0x2F, 0x63, 0x42, 0x38, 0x42, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
    0x63, 0x63, 0x63, 0x63, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x08, 0x00, 0x10, 0x03, 0x01,
    0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xC4, 0x01, 0xA2, 0x00, 0x00, 0x01,
    0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x10, 0x00, 0x02, 0x01,
    0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7D, 0x01, 0x02,
    0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22,
    0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27,
    0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47,
    0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85,
    0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2,
    0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8,
    0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5,
    0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA,
    0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0x01, 0x00, 0x03, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,
    0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x11, 0x00, 0x02, 0x01, 0x02, 0x04,
    0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00, 0x01, 0x02, 0x03,
    0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32,
    0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0, 0x15, 0x62,
    0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26, 0x27,
    0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67,
    0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85,
    0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2,
    0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8,
    0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5,
    0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2,
    0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00,
    0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00, 0x16, 0x2F, 0x33, 0x16, 0xA8, 0x54, 0x22, 0xE2,
    0x37, 0x70, 0x00, 0xCF, 0x32, 0x47, 0x9C, 0x67, 0xDD, 0x69, 0x0C, 0xA5, 0xD3, 0x31, 0x82,
    0x11, 0x47, 0x98, 0x49, 0xCE, 0x33, 0xB6, 0x39, 0x0F, 0x3F, 0x55, 0x6A, 0x7D, 0xAF, 0xFC,
    0x7D, 0xCD, 0xFF, 0x00, 0x5D, 0x3F, 0xF6, 0xE2, 0xA3, 0xB7, 0xFF, 0x00, 0x90, 0x5C, 0x9F,
    0xF5, 0xCC, 0x7F, 0xE8, 0x86, 0xA7, 0x6B, 0x5E, 0xDD, 0xED, 0xF7, 0xF5, 0xF5, 0x13, 0x7A,
    0xEB, 0xDA, 0xFF, 0x00, 0xD7, 0xDE, 0x7F, 0xFF, 0xD9,
};

// 4x3 lossy (VP8) and 5x2 lossless RGBA (VP8L) WebP files written by libwebp's
// WebPEncodeRGB and WebPEncodeLosslessRGBA.
const std::vector<uint8_t> kLossyWebp = {
    0x52, 0x49, 0x46, 0x46, 0x34, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38,
    0x20, 0x28, 0x00, 0x00, 0x00, 0xD0, 0x01, 0x00, 0x9D, 0x01, 0x2A, 0x04, 0x00, 0x03, 0x00,
    0x01, 0x40, 0x26, 0x25, 0x9C, 0x02, 0x74, 0x01, 0x0E, 0xFE, 0x03, 0xC8, 0x00, 0x00, 0xFE,
    0x0B, 0xAB, 0x7F, 0xE3, 0x9F, 0x5F, 0x41, 0x34, 0x3E, 0x4C, 0x1F, 0x15, 0xF0, 0x00, 0x00,
};
const std::vector<uint8_t> kLosslessWebp = {
    0x52, 0x49, 0x46, 0x46, 0x3C, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38,
    0x4C, 0x30, 0x00, 0x00, 0x00, 0x2F, 0x04, 0x40, 0x00, 0x10, 0x4F, 0x20, 0x16, 0x4C, 0xAE,
    0x19, 0xE4, 0x6F, 0x9B, 0xC3, 0x50, 0x5C, 0x81, 0x42, 0x41, 0xDA, 0x06, 0x2C, 0x96, 0xD0,
    0xEE, 0x24, 0xE8, 0x1F, 0x6A, 0x1A, 0x49, 0x81, 0xB3, 0x77, 0xFC, 0x74, 0x68, 0xC1, 0x13,
    0x5A, 0x88, 0xE8, 0x7F, 0xCC, 0xDA, 0x7D, 0x03,
};

}  // namespace

// ---- base64 ------------------------------------------------------------------------

TEST(Base64, EncodesRfc4648Vectors) {
    const std::vector<std::pair<std::string, std::string>> vectors = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        const auto* bytes = reinterpret_cast<const uint8_t*>(plain.data());
        EXPECT_EQ(media::base64_encode(bytes, plain.size()), encoded) << plain;
        const std::vector<uint8_t> decoded = media::base64_decode(encoded);
        EXPECT_EQ(std::string(decoded.begin(), decoded.end()), plain) << encoded;
    }
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
    std::mt19937 random(1234);
    for (std::size_t length = 0; length < 300; ++length) {
        std::vector<uint8_t> data(length);
        for (auto& byte : data) byte = static_cast<uint8_t>(random());
        const std::string encoded = media::base64_encode(data.data(), data.size());
        EXPECT_EQ(encoded.size() % 4, 0u);
        EXPECT_EQ(media::base64_decode(encoded), data) << "length " << length;
    }
    std::vector<uint8_t> all(256);
    for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<uint8_t>(i);
    EXPECT_EQ(media::base64_decode(media::base64_encode(all.data(), all.size())), all);
}

TEST(Base64, AcceptsMissingPadding) {
    const std::vector<uint8_t> one = media::base64_decode("Zg");
    EXPECT_EQ(std::string(one.begin(), one.end()), "f");
    const std::vector<uint8_t> two = media::base64_decode("Zm9vYmE");
    EXPECT_EQ(std::string(two.begin(), two.end()), "fooba");
}

TEST(Base64, NamesOffsetOfInvalidCharacter) {
    const std::string message = image_error([] { media::base64_decode("Zm9vYmFyZm9v!mFy"); });
    EXPECT_NE(message.find("'!'"), std::string::npos) << message;
    EXPECT_NE(message.find("offset 12"), std::string::npos) << message;
}

TEST(Base64, NamesOffsetInLastGroup) {
    const std::string message = image_error([] { media::base64_decode("Zm9vY*"); });
    EXPECT_NE(message.find("offset 5"), std::string::npos) << message;
}

TEST(Base64, RejectsUrlSafeAlphabet) {
    const std::string message = image_error([] { media::base64_decode("ab-_"); });
    EXPECT_NE(message.find("offset 2"), std::string::npos) << message;
    EXPECT_NE(message.find("URL-safe"), std::string::npos) << message;
}

TEST(Base64, RejectsPaddingInsideData) {
    const std::string message = image_error([] { media::base64_decode("Zg==Zm9v"); });
    EXPECT_NE(message.find("'=' padding at offset 2"), std::string::npos) << message;
}

TEST(Base64, RejectsSingleCharacterTail) {
    const std::string message = image_error([] { media::base64_decode("Zm9vY"); });
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(Base64, RejectsWrongPaddingCount) {
    const std::string message = image_error([] { media::base64_decode("Zm9=="); });
    EXPECT_NE(message.find("group of 4"), std::string::npos) << message;
}

TEST(Base64, RejectsLineBreak) {
    const std::string message = image_error([] { media::base64_decode("Zm9v\nYmFy"); });
    EXPECT_NE(message.find("byte 0x0A at offset 4"), std::string::npos) << message;
}

// ---- data URLs -----------------------------------------------------------------------

TEST(DataUrl, SplitsMimeAndPayload) {
    const media::DataUrl url = media::parse_data_url("data:image/png;base64,iVBORw0K");
    EXPECT_EQ(url.mime, "image/png");
    EXPECT_EQ(url.base64, "iVBORw0K");
}

TEST(DataUrl, AcceptsUpperCaseSchemeAndMarker) {
    const media::DataUrl url = media::parse_data_url("DATA:Image/PNG;BASE64,AAAA");
    EXPECT_EQ(url.mime, "Image/PNG");
    EXPECT_EQ(url.base64, "AAAA");
}

TEST(DataUrl, SkipsMimeParameters) {
    const media::DataUrl url = media::parse_data_url("data:image/png;name=a.png;base64,AAAA");
    EXPECT_EQ(url.mime, "image/png");
    EXPECT_EQ(url.base64, "AAAA");
}

TEST(DataUrl, RejectsSavedPathWithShortQuote) {
    const std::string path =
        "View/local/raw/2026-08-21/1234567-a very long prompt that keeps going and going and going.png";
    const std::string message = image_error([&] { media::parse_data_url(path); });
    EXPECT_NE(message.find("expected a data URL starting with 'data:', got 'View/local/raw/"), std::string::npos)
        << message;
    EXPECT_EQ(message.find("going.png"), std::string::npos) << "the input should be cut: " << message;
    EXPECT_NE(message.find("characters)"), std::string::npos) << message;
}

TEST(DataUrl, RejectsMissingBase64Marker) {
    const std::string message = image_error([] { media::parse_data_url("data:image/png,rawbytes"); });
    EXPECT_NE(message.find("not base64-encoded"), std::string::npos) << message;
}

TEST(DataUrl, RejectsMissingComma) {
    const std::string message = image_error([] { media::parse_data_url("data:image/png;base64"); });
    EXPECT_NE(message.find("no ','"), std::string::npos) << message;
}

TEST(DataUrl, RejectsMissingMime) {
    const std::string message = image_error([] { media::parse_data_url("data:;base64,AAAA"); });
    EXPECT_NE(message.find("no media type"), std::string::npos) << message;
}

TEST(DataUrl, RejectsEmptyPayload) {
    const std::string message = image_error([] { media::parse_data_url("data:image/png;base64,"); });
    EXPECT_NE(message.find("empty payload"), std::string::npos) << message;
    EXPECT_NE(message.find("'image/png'"), std::string::npos) << message;
}

TEST(DataUrl, EscapesControlBytesInMessage) {
    const std::string message = image_error([] { media::parse_data_url(std::string("\x01\xFFnot a url", 11)); });
    EXPECT_NE(message.find("'\\x01\\xFFnot a url'"), std::string::npos) << message;
}

// ---- decode_image_data_url -------------------------------------------------------------

TEST(DecodeImage, PngRoundTrip) {
    const std::vector<uint8_t> png = make_png(7, 5, 3);
    const media::DecodedImage image = media::decode_image_data_url(data_url("image/png", png));
    EXPECT_EQ(image.bytes, png);
    EXPECT_EQ(image.mime, "image/png");
    EXPECT_EQ(image.info.format, "png");
    EXPECT_EQ(image.info.width, 7);
    EXPECT_EQ(image.info.height, 5);
    EXPECT_EQ(image.info.channels, 3);
}

TEST(DecodeImage, PngWithAlphaAndUpperCaseMime) {
    const std::vector<uint8_t> png = make_png(3, 9, 4);
    const media::DecodedImage image = media::decode_image_data_url(data_url("IMAGE/PNG", png));
    EXPECT_EQ(image.mime, "image/png");
    EXPECT_EQ(image.info.width, 3);
    EXPECT_EQ(image.info.height, 9);
    EXPECT_EQ(image.info.channels, 4);
}

TEST(DecodeImage, JpegRoundTrip) {
    const std::vector<uint8_t>& jpeg = kJpeg16x8;
    const media::DecodedImage image = media::decode_image_data_url(data_url("image/jpeg", jpeg));
    EXPECT_EQ(image.bytes, jpeg);
    EXPECT_EQ(image.info.format, "jpeg");
    EXPECT_EQ(image.info.width, 16);
    EXPECT_EQ(image.info.height, 8);
    EXPECT_EQ(image.info.channels, 3);
}

TEST(DecodeImage, JpegWithTrailingZeroPadding) {
    std::vector<uint8_t> jpeg = kJpeg16x8;
    jpeg.insert(jpeg.end(), 5, 0);
    const media::DecodedImage image = media::decode_image_data_url(data_url("image/jpg", jpeg));
    EXPECT_EQ(image.info.format, "jpeg");
    EXPECT_EQ(image.info.width, 16);
}

TEST(DecodeImage, LossyWebpSize) {
    const media::DecodedImage image = media::decode_image_data_url(data_url("image/webp", kLossyWebp));
    EXPECT_EQ(image.info.format, "webp");
    EXPECT_EQ(image.info.width, 4);
    EXPECT_EQ(image.info.height, 3);
    EXPECT_EQ(image.info.channels, 3);
}

TEST(DecodeImage, LosslessWebpSizeAndAlpha) {
    const media::DecodedImage image = media::decode_image_data_url(data_url("image/webp", kLosslessWebp));
    EXPECT_EQ(image.info.width, 5);
    EXPECT_EQ(image.info.height, 2);
    EXPECT_EQ(image.info.channels, 4);
}

TEST(DecodeImage, ExtendedWebpCanvasSize) {
    // RIFF header, then a VP8X chunk: alpha flag, 3 reserved bytes, 640-1 and 480-1 as 24-bit values.
    const std::vector<uint8_t> webp = {
        'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0,
        0x10, 0, 0, 0, 0x7F, 0x02, 0x00, 0xDF, 0x01, 0x00,
    };
    const media::ImageInfo info = media::validate_image(webp.data(), webp.size(), "image/webp");
    EXPECT_EQ(info.width, 640);
    EXPECT_EQ(info.height, 480);
    EXPECT_EQ(info.channels, 4);
}

TEST(DecodeImage, UnknownMimePassesThrough) {
    const std::vector<uint8_t> bytes = {0x00, 0x00, 0x00, 0x20, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f'};
    const media::DecodedImage image = media::decode_image_data_url(data_url("image/avif", bytes));
    EXPECT_EQ(image.bytes, bytes);
    EXPECT_EQ(image.mime, "image/avif");
    EXPECT_EQ(image.info.format, "");
    EXPECT_EQ(image.info.width, 0);
    EXPECT_EQ(image.info.height, 0);
}

TEST(DecodeImage, GifSizeFromHeader) {
    const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 0x2C, 0x01, 0xC8, 0x00, 0x00, 0x00, 0x00, 0x3B};
    const media::ImageInfo info = media::validate_image(gif.data(), gif.size(), "image/gif");
    EXPECT_EQ(info.format, "gif");
    EXPECT_EQ(info.width, 300);
    EXPECT_EQ(info.height, 200);
}

TEST(DecodeImage, BmpSizeFromHeader) {
    // File header (14 bytes) and the start of a BITMAPINFOHEADER: 30 wide, 20 high, top-down.
    std::vector<uint8_t> bmp = {'B', 'M', 30, 0, 0, 0, 0, 0, 0, 0, 26, 0, 0, 0, 40, 0, 0, 0,
                                30, 0, 0, 0, 0xEC, 0xFF, 0xFF, 0xFF};
    bmp.resize(30, 0);
    const media::ImageInfo info = media::validate_image(bmp.data(), bmp.size(), "image/bmp");
    EXPECT_EQ(info.format, "bmp");
    EXPECT_EQ(info.width, 30);
    EXPECT_EQ(info.height, 20);

    bmp.resize(28);
    const std::string message = image_error([&] { media::validate_image(bmp.data(), bmp.size(), "image/bmp"); });
    EXPECT_NE(message.find("BMP is truncated: the header declares 30 bytes, 28 are present"), std::string::npos)
        << message;
}

TEST(DecodeImage, RejectsGifLabelledPng) {
    const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '7', 'a', 1, 0, 1, 0, 0x3B};
    const std::string message = image_error([&] { media::validate_image(gif.data(), gif.size(), "image/png"); });
    EXPECT_NE(message.find("the bytes are GIF"), std::string::npos) << message;
}

TEST(DecodeImage, RejectsPngLabelledJpeg) {
    const std::vector<uint8_t> png = make_png(2, 2, 3);
    const std::string message = image_error([&] { media::decode_image_data_url(data_url("image/jpeg", png)); });
    EXPECT_NE(message.find("'image/jpeg'"), std::string::npos) << message;
    EXPECT_NE(message.find("the bytes are PNG"), std::string::npos) << message;
}

TEST(DecodeImage, RejectsJpegLabelledPng) {
    const std::vector<uint8_t> jpeg = kJpeg16x8;
    const std::string message = image_error([&] { media::decode_image_data_url(data_url("image/png", jpeg)); });
    EXPECT_NE(message.find("'image/png'"), std::string::npos) << message;
    EXPECT_NE(message.find("the bytes are JPEG"), std::string::npos) << message;
}

TEST(DecodeImage, RejectsHtmlLabelledPng) {
    const std::string html = "<html>502 Bad Gateway</html>";
    const std::vector<uint8_t> bytes(html.begin(), html.end());
    const std::string message = image_error([&] { media::decode_image_data_url(data_url("image/png", bytes)); });
    EXPECT_NE(message.find("not a recognized image (first bytes 3C 68 74 6D"), std::string::npos) << message;
}

TEST(DecodeImage, CorruptBase64NamesOffset) {
    const std::vector<uint8_t> png = make_png(2, 2, 3);
    std::string url = data_url("image/png", png);
    const std::size_t payload_start = url.find(',') + 1;
    url[payload_start + 9] = '%';
    const std::string message = image_error([&] { media::decode_image_data_url(url); });
    EXPECT_NE(message.find("'%' (0x25) at offset 9"), std::string::npos) << message;
}

TEST(DecodeImage, RejectsPaddingOnlyPayload) {
    const std::string message = image_error([] { media::decode_image_data_url("data:image/png;base64,=="); });
    EXPECT_NE(message.find("invalid base64 payload"), std::string::npos) << message;
}

TEST(ValidateImage, RejectsEmptyImage) {
    const uint8_t none[1] = {0};
    const std::string message = image_error([&] { media::validate_image(none, 0, "image/png"); });
    EXPECT_NE(message.find("'image/png' is empty (0 bytes)"), std::string::npos) << message;
}

TEST(DecodeImage, RejectsNonDataUrl) {
    const std::string message = image_error([] { media::decode_image_data_url("View/local/raw/a.png"); });
    EXPECT_NE(message.find("expected a data URL starting with 'data:', got 'View/local/raw/a.png'"),
              std::string::npos)
        << message;
}

// ---- structural checks -----------------------------------------------------------------

TEST(ValidatePng, RejectsTruncatedIdat) {
    std::vector<uint8_t> png = make_png(32, 32, 3);
    const std::size_t idat = 8 + 25;  // signature, then IHDR with 13 data bytes
    ASSERT_EQ(std::string(png.begin() + static_cast<long>(idat) + 4, png.begin() + static_cast<long>(idat) + 8),
              "IDAT");
    png.resize(idat + 20);
    const std::string message = image_error([&] { media::validate_image(png.data(), png.size(), "image/png"); });
    EXPECT_NE(message.find("PNG is truncated: chunk 'IDAT' at offset 33 needs"), std::string::npos) << message;
    EXPECT_NE(message.find("bytes, 20 remain"), std::string::npos) << message;
}

TEST(ValidatePng, RejectsDamagedIdatByCrc) {
    std::vector<uint8_t> png = make_png(32, 32, 3);
    const std::size_t idat_data = 8 + 25 + 8;  // signature, IHDR, then IDAT's length and type
    png[idat_data + 10] ^= 0x5a;               // damage a byte inside well-framed IDAT data
    const std::string message = image_error([&] { media::validate_image(png.data(), png.size(), "image/png"); });
    EXPECT_NE(message.find("chunk 'IDAT' at offset 33 fails its CRC check"), std::string::npos) << message;
}

TEST(ValidatePng, RejectsMissingIend) {
    std::vector<uint8_t> png = make_png(4, 4, 3);
    png.resize(png.size() - 12);  // IEND is 12 bytes with no data
    const std::string message = image_error([&] { media::validate_image(png.data(), png.size(), "image/png"); });
    EXPECT_NE(message.find("without an 'IEND' chunk"), std::string::npos) << message;
}

TEST(ValidatePng, RejectsCutChunkHeader) {
    std::vector<uint8_t> png = make_png(4, 4, 3);
    png.resize(png.size() - 5);
    const std::string message = image_error([&] { media::validate_image(png.data(), png.size(), "image/png"); });
    EXPECT_NE(message.find("chunk header at offset"), std::string::npos) << message;
    EXPECT_NE(message.find("needs 12 bytes, 7 remain"), std::string::npos) << message;
}

TEST(ValidatePng, RejectsFirstChunkOtherThanIhdr) {
    std::vector<uint8_t> png = make_png(4, 4, 3);
    std::vector<uint8_t> no_header(png.begin(), png.begin() + 8);
    no_header.insert(no_header.end(), png.end() - 12, png.end());
    const std::string message =
        image_error([&] { media::validate_image(no_header.data(), no_header.size(), "image/png"); });
    EXPECT_NE(message.find("the first chunk is 'IEND'"), std::string::npos) << message;
}

TEST(ValidatePng, RejectsInvalidChunkType) {
    std::vector<uint8_t> png = make_png(4, 4, 3);
    png[8 + 25 + 4] = '1';
    const std::string message = image_error([&] { media::validate_image(png.data(), png.size(), "image/png"); });
    EXPECT_NE(message.find("at offset 33 has an invalid type (bytes 31 44 41 54)"), std::string::npos) << message;
}

TEST(ValidatePng, RejectsBadIhdrContent) {
    std::vector<uint8_t> png = make_png(4, 4, 3);
    png[8 + 8 + 8] = 3;  // bit depth 3 is not a PNG bit depth
    // Give IHDR a matching CRC, so the header check (not the CRC check) is what fails.
    const uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), png.data() + 12, 17));
    for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    const std::string message = image_error([&] { media::validate_image(png.data(), png.size(), "image/png"); });
    EXPECT_NE(message.find("PNG header is invalid: stb_image reports"), std::string::npos) << message;
}

TEST(ValidatePng, IgnoresBytesAfterIend) {
    std::vector<uint8_t> png = make_png(4, 4, 3);
    png.push_back(0x42);
    const media::ImageInfo info = media::validate_image(png.data(), png.size(), "image/png");
    EXPECT_EQ(info.width, 4);
}

TEST(ValidateJpeg, RejectsTruncated) {
    std::vector<uint8_t> jpeg = kJpeg16x8;
    jpeg.resize(jpeg.size() / 2);
    const std::string message = image_error([&] { media::validate_image(jpeg.data(), jpeg.size(), "image/jpeg"); });
    EXPECT_NE(message.find("JPEG is truncated: it does not end with the EOI marker FF D9"), std::string::npos)
        << message;
}

TEST(ValidateJpeg, RejectsHeaderOnly) {
    const std::vector<uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xD9};
    const std::string message = image_error([&] { media::validate_image(jpeg.data(), jpeg.size(), "image/jpeg"); });
    EXPECT_NE(message.find("JPEG header is invalid"), std::string::npos) << message;
}

TEST(ValidateWebp, RejectsTruncated) {
    std::vector<uint8_t> webp = kLossyWebp;
    webp.resize(webp.size() - 10);
    const std::string message = image_error([&] { media::validate_image(webp.data(), webp.size(), "image/webp"); });
    EXPECT_NE(message.find("WebP is truncated: the RIFF header declares 60 bytes, 50 are present"),
              std::string::npos)
        << message;
}

TEST(ValidateWebp, RejectsExtraBytes) {
    std::vector<uint8_t> webp = kLossyWebp;
    webp.push_back(0);
    webp.push_back(0);
    const std::string message = image_error([&] { media::validate_image(webp.data(), webp.size(), "image/webp"); });
    EXPECT_NE(message.find("declares 60 bytes, but 62 are present"), std::string::npos) << message;
}

TEST(ValidateWebp, RejectsChunkLongerThanFile) {
    std::vector<uint8_t> webp = kLossyWebp;
    webp[16] = 0x60;  // 'VP8 ' chunk size 96 in a 60-byte file
    const std::string message = image_error([&] { media::validate_image(webp.data(), webp.size(), "image/webp"); });
    EXPECT_NE(message.find("chunk 'VP8 ' at offset 12 needs 104 bytes, 48 remain"), std::string::npos) << message;
}

TEST(ValidateWebp, RejectsUnknownFirstChunk) {
    std::vector<uint8_t> webp = kLossyWebp;
    webp[15] = 'Q';
    const std::string message = image_error([&] { media::validate_image(webp.data(), webp.size(), "image/webp"); });
    EXPECT_NE(message.find("the first chunk is 'VP8Q'"), std::string::npos) << message;
}
