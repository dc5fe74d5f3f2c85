// Inputs the fuzz targets in tests/fuzz found, kept as unit tests so the default build
// checks them too. The asan preset turns the old behaviour into a test failure (UBSan
// aborts); the plain build checks the returned values.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "media/image.hpp"
#include "runpod/job.hpp"
#include "runpod/retry.hpp"
#include "worker/readiness.hpp"
#include "worker/worker_outputs.hpp"

namespace swarmpod {
namespace {

TEST(FuzzRegression, RetryAfterFarFutureDateClamped) {
    // The year 6015 overflowed system_clock's 64-bit nanosecond count.
    const auto delay = runpod::parse_retry_after("Wed, 21 Oct 6015 07:28:00 GMT");
    ASSERT_TRUE(delay.has_value());
    EXPECT_EQ(*delay, Millis(std::chrono::hours(24)));
}

TEST(FuzzRegression, RetryAfterPastDateIsZero) {
    const auto delay = runpod::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT");
    ASSERT_TRUE(delay.has_value());
    EXPECT_EQ(*delay, Millis(0));
}

// SOI, one DHT segment whose 16 code counts are all 255 (4080 codes), EOI.
std::vector<uint8_t> jpeg_with_oversized_huffman_table() {
    std::vector<uint8_t> bytes = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 19, 0x00};
    bytes.insert(bytes.end(), 16, 0xFF);
    bytes.insert(bytes.end(), {0xFF, 0xD9});
    return bytes;
}

TEST(FuzzRegression, JpegHuffmanTableOver256CodesRejected) {
    const std::vector<uint8_t> bytes = jpeg_with_oversized_huffman_table();
    try {
        media::validate_image(bytes.data(), bytes.size(), "image/jpeg");
        FAIL() << "expected Error(image_invalid)";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::image_invalid);
        EXPECT_NE(std::string(error.what()).find("Huffman"), std::string::npos) << error.what();
    }
}

TEST(FuzzRegression, JpegHuffmanTableAfterGarbageRejected) {
    // stb_image skips bytes up to the next 0xFF, so the check must too.
    std::vector<uint8_t> bytes = jpeg_with_oversized_huffman_table();
    bytes.insert(bytes.begin() + 2, {0x12, 0x34, 0x56});
    EXPECT_THROW(media::validate_image(bytes.data(), bytes.size(), "image/jpeg"), Error);
}

// nlohmann::json's value(key, false) threw type_error for a string `success`, which no
// Error handler caught, so the pool reported SWARMPOD_E_INTERNAL.
TEST(FuzzRegression, LeaseOutputStringSuccessRejected) {
    const auto output =
        nlohmann::json::parse(R"({"success":"https:/-/pod123-7801.prXx123","version":"|1.0.0"})");
    runpod::Job job;
    job.id = "lease-job-1";
    try {
        worker::parse_lease_output(output, job);
        FAIL() << "no error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::worker);
    }
}

// Found by fuzz_lease_output: a release chunk with an empty `reason` gave an empty
// release reason, so the log and the cost ledger named no reason at all.
TEST(FuzzRegression, LeaseEmptyReleaseReasonNamed) {
    runpod::Job job;
    job.id = "lease-job-1";
    job.state = runpod::JobState::completed;
    job.output = nlohmann::json::parse(R"([{"sucss":true,"released":true,"reason":""}])");
    EXPECT_EQ(worker::lease_release_reason(job), "released");
    job.output = job.output.front();
    EXPECT_EQ(worker::lease_release_reason(job), "released");
}

// value("status", "") threw type_error for a number status, out of the readiness loop.
TEST(FuzzRegression, BackendNumberStatusCounted) {
    const auto reply = nlohmann::json::parse(
        R"({"0":{"type":"start","status":0,"enabled":true},)"
        R"("1":{"type":"swarmswarmbackend","stDtus":"disabled","id":1,"enabled":false}})");
    const worker::BackendCounts counts = worker::count_backends(reply);
    EXPECT_EQ(counts.total, 2);
    EXPECT_EQ(counts.running, 0);
    EXPECT_EQ(counts.failed, 0);
}

}  // namespace
}  // namespace swarmpod

// Found by fuzz_validate_image: a BMP whose height field is 0xFFFFFFFF (top-down, -1)
// or INT32_MIN reported a negative or zero size to the host.
TEST(FuzzRegression, BmpWithInvalidHeightRejected) {
    for (uint32_t height : {0xFFFFFFFFu, 0x80000000u, 0u}) {
        std::vector<uint8_t> bmp(64, 0);
        bmp[0] = 'B';
        bmp[1] = 'M';
        bmp[2] = 64;  // file size, little-endian
        bmp[18] = 4;  // width 4
        for (int i = 0; i < 4; ++i) bmp[22 + i] = static_cast<uint8_t>(height >> (8 * i));
        if (height == 0xFFFFFFFFu) {
            // -1 is a valid top-down height of 1 row.
            const auto info = swarmpod::media::validate_image(bmp.data(), bmp.size(), "image/bmp");
            EXPECT_EQ(info.height, 1);
            continue;
        }
        EXPECT_THROW(swarmpod::media::validate_image(bmp.data(), bmp.size(), "image/bmp"), swarmpod::Error) << height;
    }
}
