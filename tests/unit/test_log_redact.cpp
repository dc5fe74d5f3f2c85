// The "swarmpod" logger, its host callback sink and secret redaction.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "log/log.hpp"
#include "swarmpod/swarmpod.h"

namespace swarmpod::log {
namespace {

struct Captured {
    std::mutex mutex;
    std::vector<std::pair<int, std::string>> lines;
};

void capture(void* user_data, int level, const char* message) {
    auto* captured = static_cast<Captured*>(user_data);
    std::lock_guard<std::mutex> lock(captured->mutex);
    captured->lines.emplace_back(level, message);
}

// Removes the host callback when a test ends, so later tests start silent.
struct CallbackReset {
    ~CallbackReset() { set_host_callback(nullptr, nullptr, SWARMPOD_LOG_OFF); }
};

TEST(LogRedact, RegisteredSecretIsMasked) {
    add_secret("rpa_TESTKEY_abcdef123456");
    EXPECT_EQ(redact("key=rpa_TESTKEY_abcdef123456 and again rpa_TESTKEY_abcdef123456."),
              "key=*** and again ***.");
    remove_secret("rpa_TESTKEY_abcdef123456");
}

TEST(LogRedact, BearerValueIsMasked) {
    EXPECT_EQ(redact("Authorization: Bearer xyz next"), "Authorization: Bearer *** next");
    EXPECT_EQ(redact("authorization: bearer xyz"), "authorization: bearer ***");
    EXPECT_EQ(redact("{\"h\":\"BEARER tok.en-1\"}"), "{\"h\":\"BEARER ***\"}");
    EXPECT_EQ(redact("'Bearer abc' and Bearer def\tend"), "'Bearer ***' and Bearer ***\tend");
    EXPECT_EQ(redact("no token here"), "no token here");
    EXPECT_EQ(redact("ends with Bearer "), "ends with Bearer ");
}

TEST(LogRedact, SecretInsideUrlIsMasked) {
    add_secret("wtok_0123456789");
    EXPECT_EQ(redact("GET https://abc-7801.proxy.runpod.net/API/x?worker_token=wtok_0123456789&y=1"),
              "GET https://abc-7801.proxy.runpod.net/API/x?worker_token=***&y=1");
    remove_secret("wtok_0123456789");
}

TEST(LogRedact, LongerSecretIsMaskedWhole) {
    add_secret("abcdef");
    add_secret("abcdef-longer");
    EXPECT_EQ(redact("x abcdef-longer y abcdef z"), "x *** y *** z");
    remove_secret("abcdef");
    remove_secret("abcdef-longer");
}

TEST(LogRedact, ShortSecretIsIgnored) {
    add_secret("abc12");
    EXPECT_EQ(redact("abc12 stays"), "abc12 stays");
    remove_secret("abc12");
}

TEST(LogRedact, RemoveSecretStopsMasking) {
    add_secret("secret-value-1");
    add_secret("secret-value-1");
    remove_secret("secret-value-1");
    EXPECT_EQ(redact("secret-value-1"), "***") << "a second registration keeps it masked";
    remove_secret("secret-value-1");
    EXPECT_EQ(redact("secret-value-1"), "secret-value-1");
    remove_secret("never-added-secret");  // harmless
}

TEST(LogCallback, ReceivesLinesAtSetLevelOnly) {
    CallbackReset reset;
    Captured captured;
    add_secret("rpa_TESTKEY_abcdef123456");
    set_host_callback(&capture, &captured, SWARMPOD_LOG_INFO);

    SP_TRACE("trace {}", 1);
    SP_DEBUG("debug {}", 2);
    SP_INFO("info {}", 3);
    SP_WARN("warn with key {}", "rpa_TESTKEY_abcdef123456");
    SP_ERROR("error {}", 5);
    remove_secret("rpa_TESTKEY_abcdef123456");

    ASSERT_EQ(captured.lines.size(), 3u);
    EXPECT_EQ(captured.lines[0].first, SWARMPOD_LOG_INFO);
    EXPECT_EQ(captured.lines[0].second, "info 3");
    EXPECT_EQ(captured.lines[1].first, SWARMPOD_LOG_WARN);
    EXPECT_EQ(captured.lines[1].second, "warn with key ***");
    EXPECT_EQ(captured.lines[2].first, SWARMPOD_LOG_ERROR);
    EXPECT_EQ(captured.lines[2].second, "error 5");
}

TEST(LogCallback, TraceLevelReceivesEverything) {
    CallbackReset reset;
    Captured captured;
    set_host_callback(&capture, &captured, SWARMPOD_LOG_TRACE);
    SP_TRACE("t");
    SP_DEBUG("d");
    ASSERT_EQ(captured.lines.size(), 2u);
    EXPECT_EQ(captured.lines[0].first, SWARMPOD_LOG_TRACE);
    EXPECT_EQ(captured.lines[1].first, SWARMPOD_LOG_DEBUG);
}

TEST(LogCallback, NothingWithoutCallback) {
    Captured captured;
    set_host_callback(&capture, &captured, SWARMPOD_LOG_TRACE);
    set_host_callback(nullptr, nullptr, SWARMPOD_LOG_TRACE);
    SP_ERROR("dropped");
    EXPECT_TRUE(captured.lines.empty());
    EXPECT_EQ(logger().level(), spdlog::level::off);

    set_host_callback(&capture, &captured, SWARMPOD_LOG_OFF);
    SP_ERROR("dropped too");
    EXPECT_TRUE(captured.lines.empty());
    set_host_callback(nullptr, nullptr, SWARMPOD_LOG_OFF);
}

TEST(LogCallback, LoggerStaysOutOfSpdlogRegistry) {
    EXPECT_EQ(logger().name(), "swarmpod");
    EXPECT_EQ(spdlog::get("swarmpod"), nullptr);
    EXPECT_NE(spdlog::default_logger_raw(), &logger());
}

TEST(LogCallback, CallbackSwapWhileLoggingIsSafe) {
    CallbackReset reset;
    Captured first;
    Captured second;
    set_host_callback(&capture, &first, SWARMPOD_LOG_INFO);

    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&stop, t] {
            while (!stop.load()) SP_INFO("writer {}", t);
        });
    }
    // Swap until both callbacks have received lines, so the swaps overlap the writers.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (int i = 0; std::chrono::steady_clock::now() < give_up; ++i) {
        set_host_callback(&capture, (i % 2 == 0) ? &second : &first, SWARMPOD_LOG_INFO);
        std::scoped_lock lock(first.mutex, second.mutex);
        if (first.lines.size() > 100 && second.lines.size() > 100) break;
    }
    set_host_callback(nullptr, nullptr, SWARMPOD_LOG_OFF);
    stop = true;
    for (auto& writer : writers) writer.join();

    EXPECT_GT(first.lines.size(), 100u);
    EXPECT_GT(second.lines.size(), 100u);
    const std::size_t total = first.lines.size() + second.lines.size();
    // After the callback is cleared nothing more arrives.
    SP_INFO("after");
    EXPECT_EQ(first.lines.size() + second.lines.size(), total);
}

}  // namespace
}  // namespace swarmpod::log
