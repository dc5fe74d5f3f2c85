// v1 keepalive renewal in the worker pool, against the emulator process. A keepalive job
// keeps a v1 worker for a fixed window. A generation that outlasts the window needs a new
// keepalive queued behind the running one. Cancelling the running one is no way to renew,
// because RunPod stops the worker of a cancelled job. These tests use the pool's C++
// interface because the C ABI does not expose the window: it is 3600 s in production.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "http/client.hpp"
#include "integration/emulator_process.hpp"
#include "worker/job_tracker.hpp"
#include "worker/pool.hpp"
#include "worker/protocol_memory.hpp"

namespace {

using nlohmann::json;
using swarmpod::CancelToken;
using swarmpod::Millis;
using swarmpod::testing::EmulatorProcess;
namespace worker = swarmpod::worker;

// One pool on the emulator's endpoint with a 3 s keepalive window, renewed 2 s before
// its end.
struct PoolFixture {
    explicit PoolFixture(const EmulatorProcess& emulator) {
        worker::PoolSettings settings;
        settings.max_workers = 1;
        settings.keep_warm_sec = 30;
        settings.max_poll_interval = Millis(250);
        settings.startup_timeout_sec = 20;
        settings.forced_protocol = 1;
        settings.url_policy.allow_insecure_loopback = true;
        settings.keepalive_seconds = 3;
        settings.keepalive_margin = Millis(2000);
        pool = std::make_unique<worker::WorkerPool>(
            http, swarmpod::runpod::EndpointConfig{emulator.api_base(), "test-endpoint", "test-key"}, settings,
            tracker, protocols);
    }
    ~PoolFixture() { pool->shutdown(); }

    swarmpod::http::Client http{swarmpod::http::ClientOptions{}};
    worker::JobTracker tracker;
    worker::ProtocolMemory protocols;
    std::unique_ptr<worker::WorkerPool> pool;
};

std::vector<json> keepalives(const json& ledger) {
    std::vector<json> found;
    for (const auto& job : ledger["jobs"]) {
        if (job.value("action", "") == "keepalive") found.push_back(job);
    }
    return found;
}

const auto kNoReport = [](int, const std::string&, const std::string&) {};

// A generation of 6 s on a 3 s window. The pool queues a second keepalive (and a third)
// while the first runs. Each one starts on the same worker when the one before it ends
// by itself, and none is cancelled while running.
TEST(KeepaliveRenewal, LongGenerationKeepsTheSameWorker) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "200", "--max-workers", "1"});
    PoolFixture fixture(emulator);
    CancelToken cancel;
    worker::Checkout checkout = fixture.pool->acquire(cancel, kNoReport);
    std::this_thread::sleep_for(std::chrono::seconds(6));

    const json held = emulator.ledger();
    fixture.pool->release(checkout, worker::WorkerPool::ReleaseMode::keep_warm);

    const std::vector<json> jobs = keepalives(held);
    ASSERT_GE(jobs.size(), 2u) << held.dump();
    std::set<std::string> workers;
    for (const auto& job : jobs) {
        EXPECT_NE(job.value("status", ""), "CANCELLED") << "a keepalive was cancelled while holding: " << job.dump();
        workers.insert(job.value("worker_id", ""));
    }
    EXPECT_EQ(workers.size(), 1u) << held.dump();
    EXPECT_EQ(held.value("running_jobs", -1), 1) << "one keepalive holds the worker at any time";
    EXPECT_EQ(held["workers"].size(), 1u);
    EXPECT_EQ(fixture.pool->status().value("single_worker_reason", "?"), "");
}

// With room for a second worker, the emulator (like RunPod) may start the queued
// renewal on a new worker. The pool must not keep that worker: it ends the stray
// keepalive and releases the first worker after the generation, so nothing bills after.
TEST(KeepaliveRenewal, RenewalOnAnotherWorkerIsEndedAndReleased) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "200", "--max-workers", "2"});
    PoolFixture fixture(emulator);
    CancelToken cancel;
    worker::Checkout checkout = fixture.pool->acquire(cancel, kNoReport);
    std::this_thread::sleep_for(std::chrono::seconds(4));
    fixture.pool->release(checkout, worker::WorkerPool::ReleaseMode::keep_warm);

    const json ledger = emulator.wait_for_ledger(
        [](const json& l) { return l.value("running_jobs", 1) == 0 && l.value("queued_jobs", 1) == 0; }, 8000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0) << ledger.dump();
    // The stray renewal is ended before the first keepalive's window is over. Taking it
    // over would keep a worker the generation does not run on.
    const std::vector<json> jobs = keepalives(ledger);
    ASSERT_EQ(jobs.size(), 2u) << "one renewal, not tried again on yet another worker\n" << ledger.dump();
    const json& first = jobs[0];
    for (std::size_t i = 1; i < jobs.size(); ++i) {
        if (jobs[i].value("worker_id", "") == first.value("worker_id", "")) continue;
        EXPECT_EQ(jobs[i].value("status", ""), "CANCELLED") << jobs[i].dump();
        EXPECT_LT(jobs[i].value("ended_ms", 1e12), first.value("ended_ms", 0.0)) << ledger.dump();
    }
    EXPECT_EQ(fixture.pool->status().value("warm", -1), 0) << "a worker with no held keepalive is not kept warm";
}

}  // namespace
