// Holding a woken v1 worker when the wakeup's result is read late, against the emulator
// process. These tests use the pool's C++ interface to set the endpoint idle timeout the
// pool assumes (5 s through the C ABI) to the emulator's 1 s.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

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

void set_faults(const EmulatorProcess& emulator, const std::string& rules) {
    httplib::Client client("127.0.0.1", emulator.port());
    ASSERT_TRUE(client.Post("/admin/faults", rules, "application/json"));
}

std::vector<json> jobs_of(const json& ledger, const std::string& action) {
    std::vector<json> found;
    for (const auto& job : ledger["jobs"]) {
        if (job.value("action", "") == action) found.push_back(job);
    }
    return found;
}

const auto kNoReport = [](int, const std::string&, const std::string&) {};

// Every /status reply comes 2.5 s late until the second wakeup job, so the first
// wakeup's result is read about 2 s after its worker became idle, past the 1 s idle
// timeout. Instead of a keepalive that would boot a worker with an unknown URL, the pool
// wakes a worker again and holds that one.
TEST(V1Hold, WokenWorkerIdledOutIsWokenAgain) {
    EmulatorProcess emulator(
        {"--protocol", "v1", "--cold-start-ms", "500", "--idle-timeout-ms", "1000", "--max-workers", "2"});
    set_faults(emulator, R"([{"route": "status", "kind": "slow", "delay_ms": 2500}])");
    swarmpod::http::Client http{swarmpod::http::ClientOptions{}};
    worker::JobTracker tracker;
    worker::ProtocolMemory protocols;
    worker::PoolSettings settings;
    settings.max_workers = 1;
    settings.keep_warm_sec = 0;
    settings.max_poll_interval = Millis(250);
    settings.startup_timeout_sec = 30;
    settings.forced_protocol = 1;
    settings.url_policy.allow_insecure_loopback = true;
    settings.endpoint_idle_seconds = 1;
    worker::WorkerPool pool(http, swarmpod::runpod::EndpointConfig{emulator.api_base(), "test-endpoint", "test-key"},
                            settings, tracker, protocols);

    std::thread clear_faults([&] {
        emulator.wait_for_ledger([](const json& l) { return jobs_of(l, "wakeup").size() >= 2; }, 15000);
        set_faults(emulator, "[]");
    });
    CancelToken cancel;
    worker::Checkout checkout;
    std::string failure;
    try {
        checkout = pool.acquire(cancel, kNoReport);
    } catch (const std::exception& error) {
        failure = error.what();
    }
    clear_faults.join();
    ASSERT_EQ(failure, "");
    const json held_ledger = emulator.ledger();
    const std::string held_worker = checkout.lease.worker_id;
    pool.release(checkout, worker::WorkerPool::ReleaseMode::keep_warm);
    pool.shutdown();

    const std::vector<json> wakeups = jobs_of(held_ledger, "wakeup");
    const std::vector<json> keepalives = jobs_of(held_ledger, "keepalive");
    ASSERT_EQ(wakeups.size(), 2u) << held_ledger.dump();
    ASSERT_EQ(keepalives.size(), 1u) << "no keepalive for the worker that idled out\n" << held_ledger.dump();
    EXPECT_EQ(keepalives[0].value("worker_id", "a"), wakeups[1].value("worker_id", "b")) << held_ledger.dump();
    EXPECT_EQ(held_worker, wakeups[1].value("worker_id", "")) << held_ledger.dump();
    const json after = emulator.wait_for_ledger(
        [](const json& l) { return l.value("running_jobs", 1) == 0 && l.value("queued_jobs", 1) == 0; });
    EXPECT_EQ(after.value("running_jobs", -1), 0) << after.dump();
}

}  // namespace
