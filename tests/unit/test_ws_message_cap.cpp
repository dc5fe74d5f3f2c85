// The WebSocket message cap of WsClient against a Boost.Beast server on loopback. The
// default cap takes an image message of the largest 8-bit 4096 x 4096 PNG (RGBA, stored
// without compression). A message over a configured cap ends the read with too_large
// instead of being buffered.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "media/image.hpp"
#include "swarm/ws_client.hpp"
#include "unit/ws_sending_server.hpp"

namespace {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using swarmpod::Deadline;
using swarmpod::Error;
using swarmpod::Millis;
using swarmpod::Status;
using swarmpod::swarm::ReadResult;
using swarmpod::swarm::WsClient;
using swarmpod::swarm::WsOptions;

void append_be32(std::string& out, uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

void append_chunk(std::string& out, const char* type, const std::string& data) {
    append_be32(out, static_cast<uint32_t>(data.size()));
    const std::size_t type_at = out.size();
    out.append(type, 4);
    out += data;
    const auto* crc_start = reinterpret_cast<const Bytef*>(out.data() + type_at);
    append_be32(out, static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), crc_start, static_cast<uInt>(4 + data.size()))));
}

// A side x side 8-bit RGBA PNG of random pixels with zlib level 0 (stored blocks): the
// largest an 8-bit PNG of that size gets, about 4 x side^2 bytes.
std::string largest_png(int side) {
    const std::size_t row = 1 + static_cast<std::size_t>(side) * 4;
    std::string raw(row * static_cast<std::size_t>(side), '\0');
    std::mt19937_64 random(7);
    for (std::size_t start = 0; start < raw.size(); start += row) {
        // Each row starts with filter byte 0, then random pixel bytes, 8 from each draw.
        for (std::size_t i = start + 1; i < start + row; i += 8) {
            const uint64_t value = random();
            const std::size_t count = std::min<std::size_t>(8, start + row - i);
            std::memcpy(&raw[i], &value, count);
        }
    }
    uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
    std::string packed(packed_size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, reinterpret_cast<const Bytef*>(raw.data()),
                  static_cast<uLong>(raw.size()), 0) != Z_OK) {
        throw std::runtime_error("zlib compress2 failed");
    }
    packed.resize(packed_size);

    std::string png = "\x89PNG\r\n\x1a\n";
    std::string header;
    append_be32(header, static_cast<uint32_t>(side));
    append_be32(header, static_cast<uint32_t>(side));
    header += std::string("\x08\x06\x00\x00\x00", 5);  // depth 8, colour type 6 (RGBA), no interlace
    append_chunk(png, "IHDR", header);
    append_chunk(png, "IDAT", packed);
    append_chunk(png, "IEND", "");
    return png;
}

// SwarmUI's image message around a data URL, with the metadata as a JSON string.
std::string image_message(const std::string& png, int batch_index) {
    const std::string url = "data:image/png;base64," +
                            swarmpod::media::base64_encode(reinterpret_cast<const uint8_t*>(png.data()), png.size());
    return R"({"image":")" + url + R"(","batch_index":")" + std::to_string(batch_index) +
           R"(","request_id":"1","metadata":"{\"sui_image_params\":{\"prompt\":\"largest\"}}"})";
}

// Each image is its own message, so one message of the largest image shows that a batch of
// such images fits too. The data URL is cut out of the message text by hand, because
// parsing 85 MiB of JSON makes this test slow in Debug and sanitizer builds.
TEST(WsMessageCap, DefaultCapTakesLargest4096Png) {
    const std::string png = largest_png(4096);
    std::string sent = image_message(png, 0);
    const std::size_t message_size = sent.size();
    ASSERT_LT(message_size, swarmpod::swarm::kDefaultMaxMessageBytes);
    swarmpod::testing::SendingServer server({std::move(sent)});
    WsClient client{WsOptions{}};
    client.connect(server.url(), "", Deadline::in(Millis(10000)), nullptr);
    client.send_text("{}", Deadline::in(Millis(10000)), nullptr);

    std::string text;
    ASSERT_EQ(client.read(text, Millis(30000), Deadline::in(Millis(60000)), nullptr), ReadResult::message);
    EXPECT_EQ(text.size(), message_size);
    const std::size_t url_start = text.find("data:");
    const std::size_t url_end = text.find('"', url_start);
    ASSERT_NE(url_start, std::string::npos);
    ASSERT_NE(url_end, std::string::npos);
    const swarmpod::media::DecodedImage image =
        swarmpod::media::decode_image_data_url(std::string_view(text).substr(url_start, url_end - url_start));
    EXPECT_EQ(image.info.width, 4096);
    EXPECT_EQ(image.info.height, 4096);
    EXPECT_EQ(image.bytes.size(), png.size());
    EXPECT_EQ(client.read(text, Millis(30000), Deadline::in(Millis(60000)), nullptr), ReadResult::closed);
}

TEST(WsMessageCap, OverCapMessageIsTooLarge) {
    constexpr std::size_t kCap = 1024 * 1024;
    swarmpod::testing::SendingServer server({std::string(kCap + 1, 'x'), "{\"keep_alive\":true}"});
    WsOptions options;
    options.max_message_bytes = kCap;
    WsClient client{options};
    client.connect(server.url(), "", Deadline::in(Millis(10000)), nullptr);
    client.send_text("{}", Deadline::in(Millis(10000)), nullptr);

    std::string text;
    try {
        client.read(text, Millis(10000), Deadline::in(Millis(10000)), nullptr);
        FAIL() << "a message over the cap was read";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::too_large) << error.what();
        EXPECT_NE(std::string(error.what()).find("1 MiB"), std::string::npos) << error.what();
    }
    EXPECT_LE(text.size(), kCap) << "the client buffered past its cap";
}

}  // namespace
