// Retry-After parsing and backoff delays.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <gtest/gtest.h>

#include "runpod/retry.hpp"

namespace swarmpod::runpod {
namespace {

using namespace std::chrono_literals;

// Formats `from_now` ahead of the current time as an IMF-fixdate.
std::string http_date_in(std::chrono::seconds from_now) {
    const std::time_t at = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
    std::tm parts{};
    gmtime_r(&at, &parts);
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buffer[64];
    std::snprintf(buffer, sizeof(buffer), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[parts.tm_wday],
                  parts.tm_mday, kMonths[parts.tm_mon], parts.tm_year + 1900, parts.tm_hour, parts.tm_min,
                  parts.tm_sec);
    return buffer;
}

TEST(RunpodRetry, RetryableStatuses) {
    for (long status : {429L, 500L, 502L, 503L, 504L}) EXPECT_TRUE(is_retryable_status(status)) << status;
    for (long status : {200L, 400L, 401L, 403L, 404L, 408L, 501L, 505L}) {
        EXPECT_FALSE(is_retryable_status(status)) << status;
    }
}

TEST(RunpodRetry, RetryAfterSeconds) {
    EXPECT_EQ(parse_retry_after("3"), Millis(3000));
    EXPECT_EQ(parse_retry_after(" 0 "), Millis(0));
    EXPECT_EQ(parse_retry_after("120"), Millis(120000));
    EXPECT_EQ(parse_retry_after("99999999999999999999"), Millis(24LL * 3600 * 1000)) << "huge values saturate";
}

TEST(RunpodRetry, RetryAfterHttpDate) {
    const auto delay = parse_retry_after(http_date_in(3s));
    ASSERT_TRUE(delay.has_value());
    // The date has whole seconds, so the delay is between 2 and 3 seconds.
    EXPECT_GE(*delay, 1900ms);
    EXPECT_LE(*delay, 3000ms);
}

TEST(RunpodRetry, RetryAfterPastDateIsZero) {
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Millis(0));
}

TEST(RunpodRetry, RetryAfterGarbageIsNothing) {
    EXPECT_FALSE(parse_retry_after("").has_value());
    EXPECT_FALSE(parse_retry_after("soon").has_value());
    EXPECT_FALSE(parse_retry_after("-5").has_value());
    EXPECT_FALSE(parse_retry_after("1.5").has_value());
    EXPECT_FALSE(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT").has_value());
    EXPECT_FALSE(parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
    EXPECT_FALSE(parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT").has_value());
    EXPECT_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC").has_value());
}

TEST(RunpodRetry, BackoffGrowsWithinJitterBounds) {
    RetryPolicy policy;
    policy.base_delay = 100ms;
    policy.max_delay = 60000ms;
    for (int attempt = 1; attempt <= 6; ++attempt) {
        const Millis low = policy.base_delay * (1LL << (attempt - 1));
        const Millis high = low * 3 / 2;
        for (int sample = 0; sample < 200; ++sample) {
            const Millis delay = backoff_delay(policy, attempt, std::nullopt);
            ASSERT_GE(delay, low) << "attempt " << attempt;
            ASSERT_LE(delay, high) << "attempt " << attempt;
        }
    }
}

TEST(RunpodRetry, BackoffHasJitter) {
    RetryPolicy policy;
    policy.base_delay = 1000ms;
    const Millis first = backoff_delay(policy, 1, std::nullopt);
    bool varied = false;
    for (int sample = 0; sample < 50 && !varied; ++sample) varied = backoff_delay(policy, 1, std::nullopt) != first;
    EXPECT_TRUE(varied);
}

TEST(RunpodRetry, BackoffIsCapped) {
    RetryPolicy policy;
    policy.base_delay = 500ms;
    policy.max_delay = 2000ms;
    for (int attempt : {4, 5, 10, 100, 1000}) {
        const Millis delay = backoff_delay(policy, attempt, std::nullopt);
        EXPECT_LE(delay, 2000ms) << attempt;
        EXPECT_GE(delay, 2000ms) << attempt;
    }
}

TEST(RunpodRetry, RetryAfterWinsAndIsCapped) {
    RetryPolicy policy;
    policy.base_delay = 500ms;
    policy.max_delay = 5000ms;
    EXPECT_EQ(backoff_delay(policy, 1, Millis(1234)), 1234ms);
    EXPECT_EQ(backoff_delay(policy, 3, Millis(0)), 0ms);
    EXPECT_EQ(backoff_delay(policy, 1, Millis(60000)), 5000ms);
}

}  // namespace
}  // namespace swarmpod::runpod
