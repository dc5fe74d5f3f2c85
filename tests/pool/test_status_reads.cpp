// Overlapping /status reads of one job against the emulator process: a slow reply must not
// delay the reply of a read started after it, and ending the reads must not wait for it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include <httplib.h>

#include "http/client.hpp"
#include "integration/emulator_process.hpp"
#include "runpod/client.hpp"
#include "worker/status_reads.hpp"

namespace {

using swarmpod::CancelToken;
using swarmpod::Deadline;
using swarmpod::Millis;
using swarmpod::runpod::Job;
using swarmpod::runpod::JobState;
using swarmpod::testing::EmulatorProcess;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The first read waits 3 s in the emulator before it is handled. A second read started
// 0.5 s later, after the 0.2 s cold start, returns the completed job at once.
TEST(OverlappingStatusReads, SlowReplyDoesNotHoldUpNext) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "200"});
    swarmpod::http::Client http{swarmpod::http::ClientOptions{}};
    swarmpod::runpod::Client client(http, {emulator.api_base(), "test-endpoint", "test-key"});
    const Job wakeup = client.run({{"action", "wakeup"}}, Deadline::in(Millis(5000)));
    httplib::Client admin("127.0.0.1", emulator.port());
    ASSERT_TRUE(admin.Post("/admin/faults", R"([{"route": "status", "kind": "slow", "delay_ms": 3000, "count": 1}])",
                           "application/json"));
    CancelToken stop;

    auto reads =
        std::make_unique<swarmpod::worker::OverlappingStatusReads>(client, wakeup.id, Deadline::in(Millis(20000)), 4);
    reads->start();
    EXPECT_FALSE(reads->wait_for_reply(Millis(500), stop)) << "the slow read returned early";
    const Clock::time_point second_read_at = Clock::now();
    reads->start();
    const std::optional<Job> reply = reads->wait_for_reply(Millis(2000), stop);

    ASSERT_TRUE(reply);
    EXPECT_LT(seconds_since(second_read_at), 1.0);
    EXPECT_EQ(reply->state, JobState::completed);
    const Clock::time_point reset_at = Clock::now();
    reads.reset();
    EXPECT_LT(seconds_since(reset_at), 1.0) << "ending waited for the slow read";
}

// When the limit of reads is reached, start() adds none, so no reply comes before the
// slow one.
TEST(OverlappingStatusReads, LimitStopsNewReads) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "200"});
    swarmpod::http::Client http{swarmpod::http::ClientOptions{}};
    swarmpod::runpod::Client client(http, {emulator.api_base(), "test-endpoint", "test-key"});
    const Job wakeup = client.run({{"action", "wakeup"}}, Deadline::in(Millis(5000)));
    httplib::Client admin("127.0.0.1", emulator.port());
    ASSERT_TRUE(admin.Post("/admin/faults", R"([{"route": "status", "kind": "slow", "delay_ms": 1500, "count": 1}])",
                           "application/json"));
    CancelToken stop;
    swarmpod::worker::OverlappingStatusReads reads(client, wakeup.id, Deadline::in(Millis(20000)), 1);

    reads.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    reads.start();
    EXPECT_FALSE(reads.wait_for_reply(Millis(700), stop)) << "a second read ran past the limit of one";
    const std::optional<Job> reply = reads.wait_for_reply(Millis(3000), stop);

    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->state, JobState::completed);
}

}  // namespace
