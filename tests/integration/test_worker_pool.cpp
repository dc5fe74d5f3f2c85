// The worker pool against the emulator: how workers are started, shared, kept warm and
// released, proven with the emulator's billing ledger.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <httplib.h>

#include "integration/abi_session.hpp"
#include "integration/emulator_process.hpp"

namespace {

using nlohmann::json;
using swarmpod::testing::Backend;
using swarmpod::testing::Collector;
using swarmpod::testing::EmulatorProcess;
using swarmpod::testing::emulator_config;
using swarmpod::testing::generate;
using swarmpod::testing::GenerateOutcome;

const std::string kRequest = R"({"prompt": "a lighthouse", "width": 64, "height": 64, "images": 1})";

int count_jobs(const json& ledger, const std::string& action) {
    int count = 0;
    for (const auto& job : ledger["jobs"]) count += job.value("action", "") == action ? 1 : 0;
    return count;
}

bool nothing_runs(const json& ledger) {
    if (ledger.value("running_jobs", -1) != 0 || ledger.value("queued_jobs", -1) != 0) return false;
    for (const auto& worker : ledger["workers"]) {
        if (worker.value("state", "") != "stopped") return false;
    }
    return true;
}

// Runs `count` generations on `backend` at once, the i-th starting i * `stagger` later.
std::vector<GenerateOutcome> generate_staggered(swarmpod_backend* backend, int count,
                                                std::chrono::milliseconds stagger) {
    std::vector<GenerateOutcome> outcomes(static_cast<std::size_t>(count));
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            std::this_thread::sleep_for(stagger * i);
            Collector collector;
            outcomes[static_cast<std::size_t>(i)] = generate(backend, kRequest, "test-key", collector);
        });
    }
    for (auto& thread : threads) thread.join();
    return outcomes;
}

json post_json(const EmulatorProcess& emulator, const std::string& path, const std::string& body) {
    httplib::Client client("127.0.0.1", emulator.port());
    httplib::Headers headers = {{"Authorization", "Bearer test-key"}};
    auto reply = client.Post(path, headers, body, "application/json");
    if (!reply) return json();
    return json::parse(reply->body, nullptr, false);
}

TEST(WorkerPool, AutoDetectsV2AndUsesToken) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "300", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("protocol", 0), 2);
    ASSERT_EQ(collector.images.size(), 1u);
    const json ledger = emulator.wait_for_ledger(nothing_runs);
    EXPECT_EQ(count_jobs(ledger, "lease"), 1);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
}

TEST(WorkerPool, AutoDetectsV1WithoutExtraWorker) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "300", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("protocol", 0), 1);
    const json ledger = emulator.wait_for_ledger(nothing_runs);
    // The refused lease woke one worker; the wakeup and keepalive used that same worker.
    EXPECT_EQ(ledger["workers"].size(), 1u) << ledger["workers"].dump();
}

TEST(WorkerPool, WarmReuseSkipsColdStart) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "1500", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 30"));
    Collector first;
    Collector second;

    GenerateOutcome cold = generate(backend.get(), kRequest, "test-key", first);
    GenerateOutcome warm = generate(backend.get(), kRequest, "test-key", second);

    ASSERT_EQ(cold.status, SWARMPOD_OK) << cold.message;
    ASSERT_EQ(warm.status, SWARMPOD_OK) << warm.message;
    EXPECT_GE(cold.summary["timings"].value("wait_seconds", 0.0), 1.4);
    EXPECT_LT(warm.summary["timings"].value("wait_seconds", 9.0), 0.3);
    EXPECT_EQ(cold.summary.value("worker_id", ""), warm.summary.value("worker_id", ""));
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 1);
}

TEST(WorkerPool, ReleaseAfterKeepWarmStopsBilling) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50",
                              "--idle-timeout-ms", "500"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 1"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(emulator.ledger().value("running_jobs", -1), 1) << "the worker is kept warm right after";

    // The backend stays alive: the pool itself must end the lease after KeepWarmSec.
    const json ledger = emulator.wait_for_ledger(nothing_runs, 5000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
    const int billed_now = ledger.value("total_billed_seconds", -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(emulator.ledger().value("total_billed_seconds", -2), billed_now) << "billing must have stopped";
}

TEST(WorkerPool, TwoConcurrentUseTwoWorkersThirdWaits) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "300", "--generation-ms", "1500",
                              "--max-workers", "5"});
    Backend backend(emulator_config(emulator, "\"MaxConcurrent\": 2, \"KeepWarmSec\": 5"));
    // One generation first, so the pool knows this endpoint's cold start (0.3 s) and
    // generation time (1.5 s): a second worker then saves more waiting than it costs.
    Collector warm_up;
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", warm_up).status, SWARMPOD_OK);
    const std::vector<GenerateOutcome> outcomes = generate_staggered(backend.get(), 3, std::chrono::milliseconds(50));

    std::set<std::string> workers;
    for (const auto& outcome : outcomes) {
        ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
        workers.insert(outcome.summary.value("worker_id", ""));
    }
    EXPECT_EQ(workers.size(), 2u);
    const json ledger = emulator.ledger();
    EXPECT_EQ(ledger["workers"].size(), 2u) << "never more than MaxConcurrent workers";
    EXPECT_EQ(count_jobs(ledger, "lease"), 2);
    double longest_wait = 0;
    for (const auto& outcome : outcomes) {
        longest_wait = std::max(longest_wait, outcome.summary["timings"].value("wait_seconds", 0.0));
    }
    // The third request arrives 100 ms after the first and waits for its 1.5 s generation.
    EXPECT_GE(longest_wait, 1.2) << "the third request waited for a worker to come free";
}

TEST(WorkerPool, WithdrawnQueuedLeaseNeverBills) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "3000",
                              "--max-workers", "1"});
    Backend backend(emulator_config(emulator, "\"MaxConcurrent\": 2, \"KeepWarmSec\": 0"));
    // One generation first, so the pool knows a generation (3 s) takes far longer than a
    // cold start (0.2 s): the second request below then asks for a worker of its own.
    Collector warm_up;
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", warm_up).status, SWARMPOD_OK);
    emulator.wait_for_ledger([](const json& l) { return l.value("live_workers", 1) == 0; }, 5000);
    GenerateOutcome busy;
    std::thread first([&] {
        Collector collector;
        busy = generate(backend.get(), kRequest, "test-key", collector);
    });
    // Wait until the first generation holds the endpoint's only worker.
    emulator.wait_for_ledger([](const json& l) { return l.value("running_jobs", 0) == 1; }, 5000);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    swarmpod_generation* generation = nullptr;
    ASSERT_EQ(swarmpod_generation_new(&generation), SWARMPOD_OK);
    std::thread canceller([generation] {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        swarmpod_generation_cancel(generation);
    });
    Collector collector;
    const auto started = std::chrono::steady_clock::now();
    GenerateOutcome cancelled = generate(backend.get(), kRequest, "test-key", collector, generation);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    canceller.join();
    first.join();
    swarmpod_generation_free(generation);

    EXPECT_EQ(cancelled.status, SWARMPOD_E_CANCELLED) << cancelled.message;
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 1800);
    EXPECT_EQ(busy.status, SWARMPOD_OK) << busy.message;
    const json ledger = emulator.wait_for_ledger(nothing_runs, 5000);
    EXPECT_EQ(ledger["workers"].size(), 2u) << "the warm-up's worker and the busy one; the withdrawn lease started none";
    // The first generation's lease ran and was released; the second was withdrawn
    // before any worker took it.
    int withdrawn = 0;
    for (const auto& job : ledger["jobs"]) {
        if (job.value("action", "") == "lease" && job["started_ms"].is_null()) {
            EXPECT_EQ(job.value("status", ""), "CANCELLED") << job.dump();
            EXPECT_TRUE(job["worker_id"].is_null()) << job.dump();
            ++withdrawn;
        }
    }
    EXPECT_EQ(withdrawn, 1) << ledger["jobs"].dump();
    EXPECT_EQ(count_jobs(ledger, "lease"), 3);
}

// RunPod has one worker, so the second request's lease job waits in the queue while the
// first generation runs. The first worker then serves the second request. The queued lease
// must be withdrawn at that moment, or RunPod later starts a worker for it with no request.
TEST(WorkerPool, LeaseQueuedForAServedRequestIsWithdrawn) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "1500",
                              "--max-workers", "1"});
    Backend backend(emulator_config(emulator, "\"MaxConcurrent\": 2, \"KeepWarmSec\": 1"));
    // One generation first, so the pool has measured a generation (1.5 s) far longer than a
    // cold start (0.2 s). The second request below then starts a lease of its own.
    Collector warm_up;
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", warm_up).status, SWARMPOD_OK);
    const std::vector<GenerateOutcome> outcomes = generate_staggered(backend.get(), 2, std::chrono::milliseconds(100));

    for (const auto& outcome : outcomes) ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    // Past KeepWarmSec, the warm worker is released; a lease left queued would start a worker.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const json ledger = emulator.wait_for_ledger(nothing_runs, 5000);
    EXPECT_EQ(ledger["workers"].size(), 1u) << ledger["jobs"].dump();
    int withdrawn = 0;
    for (const auto& job : ledger["jobs"]) {
        if (job.value("action", "") == "lease" && job["started_ms"].is_null()) {
            EXPECT_EQ(job.value("status", ""), "CANCELLED") << job.dump();
            ++withdrawn;
        }
    }
    EXPECT_EQ(withdrawn, count_jobs(ledger, "lease") - 1) << ledger["jobs"].dump();
    EXPECT_GE(withdrawn, 1) << "the second request started a lease of its own";
}

TEST(WorkerPool, V1TwoIdleWorkersHoldsOnlyTheUsedOne) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "200", "--generation-ms", "50",
                              "--max-workers", "2", "--idle-timeout-ms", "20000"});
    // Two idle workers, woken by hand.
    post_json(emulator, "/v2/test-endpoint/run", R"({"input": {"action": "wakeup"}})");
    post_json(emulator, "/v2/test-endpoint/run", R"({"input": {"action": "wakeup"}})");
    emulator.wait_for_ledger([](const json& l) { return l["workers"].size() == 2 && l.value("queued_jobs", 1) == 0; },
                             5000);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));

    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"WorkerProtocol\": \"v1\""));
    for (int i = 0; i < 3; ++i) {
        Collector collector;
        GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);
        ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
        // After each generation no keepalive may still hold any worker.
        const json ledger = emulator.wait_for_ledger([](const json& l) { return l.value("running_jobs", 1) == 0; });
        EXPECT_EQ(ledger.value("running_jobs", -1), 0) << ledger["jobs"].dump();
    }
}

TEST(WorkerPool, RateLimitStormWithoutDuplicateJob) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    post_json(emulator, "/admin/faults", R"([{"route": "run", "kind": "status", "status": 429, "count": 3}])");
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 1) << "a 429 started nothing, and one job was made";
}

TEST(WorkerPool, WarmWorkerGoneGetsAnotherWorker) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 30"));
    Collector first;
    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", first);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;

    // End the warm lease behind the pool's back: its worker stops.
    const std::string lease_job = outcome.summary["jobs"].value("lease", "");
    ASSERT_FALSE(lease_job.empty());
    post_json(emulator, "/v2/test-endpoint/cancel/" + lease_job, "{}");
    emulator.wait_for_ledger([](const json& l) { return l.value("live_workers", 1) == 0; }, 3000);

    Collector second;
    GenerateOutcome again = generate(backend.get(), kRequest, "test-key", second);
    EXPECT_EQ(again.status, SWARMPOD_OK) << again.message;
    EXPECT_NE(again.summary.value("worker_id", ""), outcome.summary.value("worker_id", ""));
}

TEST(WorkerPool, FreeEndsWarmWorkers) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    {
        Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 300"));
        Collector collector;
        ASSERT_EQ(generate(backend.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
        EXPECT_EQ(emulator.ledger().value("running_jobs", -1), 1);
    }
    const json ledger = emulator.wait_for_ledger(nothing_runs, 5000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
    EXPECT_EQ(ledger.value("live_workers", -1), 0);
}

TEST(WorkerPool, KeysNeverShareWorkers) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 30"));
    Collector first;
    Collector second;
    // The emulator accepts one key; a second user's key is refused, and must not be
    // served by the first user's warm worker.
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", first).status, SWARMPOD_OK);
    GenerateOutcome other = generate(backend.get(), kRequest, "another-users-key", second);
    EXPECT_EQ(other.status, SWARMPOD_E_AUTH) << other.message;
    EXPECT_TRUE(second.images.empty());
}

}  // namespace

namespace {

json backend_status(swarmpod_backend* backend) {
    char* text = nullptr;
    EXPECT_EQ(swarmpod_backend_status(backend, &text), SWARMPOD_OK) << swarmpod_last_error_message();
    json status = json::parse(text ? text : "{}");
    swarmpod_string_free(text);
    return status;
}

TEST(WorkerPool, StatusShowsWarmWorkerWithoutSecrets) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 30, \"RunPodApiKey\": \"test-key\""));
    Collector collector;
    GenerateOutcome outcome = generate(backend.get(), kRequest, nullptr, collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;

    const json status = backend_status(backend.get());
    EXPECT_EQ(status.value("endpoint_id", ""), "test-endpoint");
    EXPECT_EQ(status.value("protocol", ""), "v2");
    EXPECT_EQ(status.value("workers_warm", -1), 1);
    EXPECT_EQ(status.value("max_workers", -1), 10);
    ASSERT_EQ(status["workers"].size(), 1u);
    EXPECT_EQ(status["workers"][0].value("worker_id", ""), outcome.summary.value("worker_id", ""));
    EXPECT_GT(status.value("session_gpu_seconds", 0.0), 0.0);
    const std::string text = status.dump();
    EXPECT_EQ(text.find("test-key"), std::string::npos) << text;
    // The lease token is 64 characters; nothing that long and URL-safe may appear.
    EXPECT_EQ(text.find("token"), std::string::npos) << text;
}

TEST(WorkerPool, StopWorkerEndsItsLease) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 300"));
    Collector collector;
    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    const std::string worker_id = outcome.summary.value("worker_id", "");

    EXPECT_EQ(swarmpod_backend_stop_worker(backend.get(), "no-such-worker"), SWARMPOD_E_NOT_FOUND);
    EXPECT_EQ(swarmpod_backend_stop_worker(backend.get(), worker_id.c_str()), SWARMPOD_OK);

    const json ledger = emulator.wait_for_ledger(nothing_runs, 3000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
    EXPECT_EQ(backend_status(backend.get()).value("workers_warm", -1), 0);
}

}  // namespace

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

extern char** environ;

namespace {

TEST(WorkerPool, KilledProcessOrphanCancelledAtNextStart) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "20000"});
    const std::string cache = std::filesystem::temp_directory_path() / ("swarmpod-orphan-" + std::to_string(getpid()));
    std::filesystem::remove_all(cache);

    // A CLI process holds a worker, then dies without freeing its backend.
    std::vector<std::string> args = {SWARMPOD_CLI_PATH, "generate", "--endpoint", "test-endpoint", "--api-base",
                                     emulator.api_base(), "--api-key", "test-key", "--allow-insecure-worker-urls",
                                     "--prompt", "orphan", "--width", "64", "--height", "64", "--out",
                                     cache + "-unused.png", "--quiet"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = {"XDG_CACHE_HOME=" + cache, "HOME=" + cache};
    std::vector<char*> envp;
    for (auto& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data()), 0);
    emulator.wait_for_ledger([](const json& l) { return l.value("running_jobs", 0) == 1 && l.value("generations", 0) >= 0; },
                             5000);
    // Let it reach the generation, so its lease job is running and recorded.
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ASSERT_EQ(emulator.ledger().value("running_jobs", -1), 1) << "the killed process left its lease running";

    // The next start with the same cache folder and key cancels it.
    Backend backend(emulator_config(emulator, "\"RunPodApiKey\": \"test-key\", \"ModelCachePath\": \"" + cache +
                                                  "/swarmpod\""));
    const json ledger = emulator.wait_for_ledger([](const json& l) { return l.value("running_jobs", 1) == 0; }, 10000);
    EXPECT_EQ(ledger.value("running_jobs", -1), 0) << ledger["jobs"].dump();
    std::filesystem::remove_all(cache);
}

}  // namespace

namespace {

TEST(WorkerPool, V1ConcurrentGenerationsEachHoldTheirWorker) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "300", "--generation-ms", "600",
                              "--max-workers", "3"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"WorkerProtocol\": \"v1\""));
    std::vector<GenerateOutcome> outcomes(3);
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
        threads.emplace_back([&, i] {
            Collector collector;
            outcomes[i] = generate(backend.get(), kRequest, "test-key", collector);
        });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& outcome : outcomes) EXPECT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    const json ledger = emulator.wait_for_ledger([](const json& l) { return l.value("running_jobs", 1) == 0; });
    EXPECT_EQ(ledger.value("running_jobs", -1), 0);
}

}  // namespace

namespace {

TEST(WorkerPool, WorkerStartingIsWaitedOut) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    post_json(emulator, "/admin/faults",
              R"([{"route": "worker:GenerateText2ImageWS", "kind": "status", "status": 503,
                   "error_id": "worker_starting", "retry_after": "1", "count": 2}])");
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(collector.images.size(), 1u);
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 1) << "the same worker served the retries";
}

}  // namespace

namespace {

// RunPod does not always report which worker runs a job. Without the keepalive's worker
// id the pool cannot prove it holds the worker it uses, so it keeps one v1 worker at a
// time and says so in the status snapshot.
TEST(WorkerPool, V1WithoutWorkerIdsKeepsOneWorker) {
    // Generations 5 times longer than the cold start: four requests at once would
    // start more workers if the pool were allowed to.
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "300", "--generation-ms", "1500",
                              "--max-workers", "3"});
    post_json(emulator, "/admin/faults",
              R"([{"route": "status", "kind": "hide_worker_id"}, {"route": "stream", "kind": "hide_worker_id"}])");
    Backend backend(emulator_config(emulator, "\"MaxConcurrent\": 3, \"KeepWarmSec\": 5, \"WorkerProtocol\": \"v1\""));
    Collector warm_up;
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", warm_up).status, SWARMPOD_OK);
    std::vector<GenerateOutcome> outcomes(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            Collector collector;
            outcomes[i] = generate(backend.get(), kRequest, "test-key", collector);
        });
    }
    for (auto& thread : threads) thread.join();

    for (const auto& outcome : outcomes) ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    const json status = backend_status(backend.get());
    EXPECT_NE(status.value("notice", "").find("one v1 worker at a time"), std::string::npos) << status.dump();
    const json ledger = emulator.ledger();
    EXPECT_EQ(ledger["workers"].size(), 1u) << ledger.dump();
    EXPECT_EQ(count_jobs(ledger, "wakeup"), 1);
}

// With worker ids reported, the same load may use more than one v1 worker and the
// status has no notice.
TEST(WorkerPool, V1WithWorkerIdsHasNoNotice) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "300", "--generation-ms", "100"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 5, \"WorkerProtocol\": \"v1\""));
    Collector collector;
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
    const json status = backend_status(backend.get());
    EXPECT_EQ(status.value("notice", "?"), "") << status.dump();
}

}  // namespace

namespace {

// Starts `count` generations at once on a new backend with `fields` and returns the
// workers the emulator booted for them (the ledger's list).
json workers_for_burst(EmulatorProcess& emulator, const std::string& fields, int count) {
    post_json(emulator, "/admin/reset", "{}");
    Backend backend(emulator_config(emulator, fields));
    std::vector<GenerateOutcome> outcomes(count);
    std::vector<std::thread> threads;
    for (int i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            Collector collector;
            outcomes[i] = generate(backend.get(), kRequest, "test-key", collector);
        });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& outcome : outcomes) EXPECT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    return emulator.ledger()["workers"];
}

// The scale-out rule needs the endpoint's cold start and generation time. Both are
// persisted in the cache folder, so a backend created later (a SwarmUI restart) knows
// that generations take 0.1 s and queues a burst of three on one worker. Without them
// the pool measures the 1 s cold start first but still assumes a 6 s generation, and
// starts two more workers that bill for nothing.
TEST(WorkerPool, PersistedTimesShapeTheFirstBurst) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "1000", "--generation-ms", "100",
                              "--max-workers", "4"});
    const std::string cache = (std::filesystem::temp_directory_path() /
                               ("swarmpod-persisted-times-" + std::to_string(getpid())))
                                  .string();
    const std::string fields = "\"MaxConcurrent\": 3, \"KeepWarmSec\": 2, \"ModelCachePath\": \"" + cache + "\"";
    {
        Backend first(emulator_config(emulator, fields));
        Collector collector;
        ASSERT_EQ(generate(first.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
    }
    EXPECT_TRUE(std::filesystem::exists(cache + "/generation_times.json"));

    const json informed = workers_for_burst(emulator, fields, 3);
    EXPECT_EQ(informed.size(), 1u) << "known 0.1 s generations queue on one worker\n" << informed.dump();
    const json uninformed = workers_for_burst(emulator, "\"MaxConcurrent\": 3, \"KeepWarmSec\": 2", 3);
    // Usually 3; 2 when a request arrives only after the first worker is free again.
    EXPECT_GE(uninformed.size(), 2u) << "an assumed 6 s generation starts more workers\n"
                                     << uninformed.dump();
    std::filesystem::remove_all(cache);
}

}  // namespace

namespace {

// Before any time of the endpoint is measured, the pool assumes a 10 s cold start (half of
// StartupTimeoutSec 20) and a 5.2 s generation (a tenth of GenerationTimeoutSec 52). Three
// requests at once: the third would wait 20.4 s on the first worker, 10.4 s more than on a
// new one. That beats one cold start, but by less than 10%, so on assumed times the pool
// queues all three on one worker. Once the first worker is ready (6 s cold start), the
// third would save 4.4 s, less than that cold start.
TEST(WorkerPool, AssumedTimesNeedLargerSaving) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "6000", "--generation-ms", "100",
                              "--max-workers", "3"});
    const json workers = workers_for_burst(
        emulator, "\"MaxConcurrent\": 3, \"KeepWarmSec\": 2, \"StartupTimeoutSec\": 20, \"GenerationTimeoutSec\": 52", 3);
    EXPECT_EQ(workers.size(), 1u) << workers.dump();
}

}  // namespace

namespace {

// A worker image that crashes at boot leaves the lease job queued. While it waits, the
// pool reads the endpoint's /health and tells the user why, instead of only timing out.
TEST(WorkerPool, CrashLoopingImageIsDiagnosed) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--max-workers", "2"});
    post_json(emulator, "/admin/faults", R"([{"route": "*", "kind": "crash_loop", "count": 1000}])");
    Backend backend(emulator_config(emulator, "\"StartupTimeoutSec\": 6, \"KeepWarmSec\": 0"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

    EXPECT_NE(outcome.status, SWARMPOD_OK);
    EXPECT_NE(outcome.message.find("unhealthy"), std::string::npos) << outcome.message;
    bool progress_named_it = false;
    for (const auto& event : collector.progress) progress_named_it |= event.message.find("unhealthy") != std::string::npos;
    EXPECT_TRUE(progress_named_it) << "the waiting user saw the diagnosis before the timeout";
    const json ledger = emulator.wait_for_ledger(nothing_runs, 5000);
    EXPECT_TRUE(nothing_runs(ledger)) << ledger.dump();
}

}  // namespace

namespace {

// Freeing a backend that holds several workers while RunPod does not answer /cancel
// returns in about 15 s, not 15 s per worker: the workers are ended side by side.
TEST(WorkerPool, FreeIsBoundedWhenRunPodDoesNotAnswer) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "1000", "--generation-ms", "2000",
                              "--max-workers", "3"});
    auto backend = std::make_unique<Backend>(emulator_config(emulator, "\"MaxConcurrent\": 3, \"KeepWarmSec\": 120"));
    // Nothing is known about this endpoint, so once the first worker is ready the pool
    // assumes 6 s generations and starts a worker for each of the other two requests.
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
        threads.emplace_back([&] {
            Collector collector;
            EXPECT_EQ(generate(backend->get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
        });
    }
    for (auto& thread : threads) thread.join();
    const int held = backend_status(backend->get()).value("workers_warm", 0);
    ASSERT_GE(held, 2) << "the test needs several held workers";
    post_json(emulator, "/admin/faults", R"([{"route": "cancel", "kind": "slow", "delay_ms": 60000}])");

    const auto started = std::chrono::steady_clock::now();
    backend.reset();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    EXPECT_LT(seconds, 20.0) << held << " workers were ended one after the other";
    EXPECT_GT(seconds, 10.0) << "each end waited for RunPod's answer";
}

}  // namespace

namespace {

// Each released lease stays in the status snapshot as a cost ledger entry: when the
// worker took the job, was ready and was released, and the seconds RunPod bills.
TEST(WorkerPool, ReleasedLeaseIsInCostLedger) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "400", "--generation-ms", "200"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
    const json ledger = emulator.wait_for_ledger(nothing_runs, 3000);

    const json status = backend_status(backend.get());
    ASSERT_EQ(status["released_leases"].size(), 1u) << status.dump();
    const json& lease = status["released_leases"][0];
    EXPECT_GE(lease.value("picked_after_seconds", -1.0), 0.35) << lease.dump();
    EXPECT_GE(lease.value("ready_after_seconds", -1.0), lease.value("picked_after_seconds", 0.0));
    EXPECT_GE(lease.value("released_after_seconds", -1.0), lease.value("ready_after_seconds", 0.0) + 0.15);
    EXPECT_EQ(lease.value("generations", 0), 1);
    EXPECT_FALSE(lease.value("release_reason", "").empty());
    // The estimate adds RunPod's default 5 s idle tail. The emulator stops a cancelled
    // worker after 0.1 s, so the estimate exceeds the emulator's bill by up to that tail.
    const double emulator_billed = ledger["workers"][0].value("billed_seconds", 0.0);
    EXPECT_GE(lease.value("estimated_billed_seconds", 0.0), emulator_billed) << ledger.dump();
    EXPECT_LE(lease.value("estimated_billed_seconds", 0.0), emulator_billed + 7) << ledger.dump();
    EXPECT_EQ(lease.value("estimated_billed_seconds", 0.0), status.value("estimated_billed_seconds", -1.0));
}

}  // namespace

namespace {

// A lease job that RunPod fails before the worker is ready is followed by one more try,
// so the waiting request still gets an image.
TEST(WorkerPool, FailedLeaseJobIsTriedOnceMore) {
    // Workers boot at once, so the first /stream poll (150 ms after /run) finds the lease
    // job running, and the rule ends it there.
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "0", "--generation-ms", "50"});
    post_json(emulator, "/admin/faults",
              R"([{"route": "stream", "kind": "end_job", "job_status": "FAILED", "count": 1}])");
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(collector.images.size(), 1u);
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 2) << "one failed lease, one that served";
}

// A second failure is reported, not tried a third time.
TEST(WorkerPool, TwoFailedLeaseJobsFail) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "0", "--generation-ms", "50"});
    post_json(emulator, "/admin/faults",
              R"([{"route": "stream", "kind": "end_job", "job_status": "FAILED", "count": 5}])");
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0"));
    Collector collector;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

    EXPECT_EQ(outcome.status, SWARMPOD_E_JOB_FAILED) << outcome.message;
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 2);
}

}  // namespace

namespace {

// A warm worker's next generation reuses the SwarmUI session its lease opened, which
// saves a GetNewSession round trip per generation.
TEST(WorkerPool, WarmWorkerReusesItsSession) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 10"));
    for (int i = 0; i < 2; ++i) {
        Collector collector;
        ASSERT_EQ(generate(backend.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
    }

    const json images = emulator.ledger()["images"];
    ASSERT_EQ(images.size(), 2u);
    EXPECT_EQ(images[0].value("session", "a"), images[1].value("session", "b"));
    EXPECT_EQ(images[0].value("worker_id", "a"), images[1].value("worker_id", "b"));
}

// A reused session that the worker forgot is renewed once, and the generation succeeds.
TEST(WorkerPool, ForgottenSessionIsRenewed) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 10"));
    Collector first;
    ASSERT_EQ(generate(backend.get(), kRequest, "test-key", first).status, SWARMPOD_OK);
    post_json(emulator, "/admin/invalidate-sessions", "{}");
    Collector second;

    GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", second);

    EXPECT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    EXPECT_EQ(outcome.summary.value("session_renewals", 0), 1) << outcome.summary.dump();
    const json images = emulator.ledger()["images"];
    ASSERT_EQ(images.size(), 2u);
    EXPECT_NE(images[0].value("session", "a"), images[1].value("session", "a"));
}

}  // namespace

namespace {

// Four first requests on a v1 endpoint with WorkerProtocol auto send one lease probe
// between them, and a later backend with the same cache folder sends none: the
// detected protocol is saved.
TEST(WorkerPool, ProtocolProbedOnceAndRemembered) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "300", "--generation-ms", "50",
                              "--max-workers", "4"});
    const std::string cache = (std::filesystem::temp_directory_path() /
                               ("swarmpod-protocol-memory-" + std::to_string(getpid())))
                                  .string();
    std::filesystem::remove_all(cache);  // left by an earlier process with the same id
    const std::string fields = "\"KeepWarmSec\": 0, \"ModelCachePath\": \"" + cache + "\"";
    {
        Backend backend(emulator_config(emulator, fields));
        std::vector<std::thread> threads;
        for (int i = 0; i < 4; ++i) {
            threads.emplace_back([&] {
                Collector collector;
                EXPECT_EQ(generate(backend.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
            });
        }
        for (auto& thread : threads) thread.join();
    }
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 1) << emulator.ledger()["jobs"].dump();
    EXPECT_TRUE(std::filesystem::exists(cache + "/protocols.json"));

    post_json(emulator, "/admin/reset", "{}");
    {
        Backend later(emulator_config(emulator, fields));
        Collector collector;
        EXPECT_EQ(generate(later.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
        EXPECT_EQ(backend_status(later.get()).value("protocol", ""), "v1");
    }
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 0) << "a restarted backend probes no more";
    std::filesystem::remove_all(cache);
}

// The endpoint moved from a v1 to a v2 image after swarmpod saved v1 for it. The v2
// worker rejects the 'wakeup' job, and RunPod reports that rejection inside an array, as it
// does everything a v2 handler yields. The pool must still detect the new protocol.
TEST(WorkerPool, SavedV1OnAV2EndpointIsDetectedAgain) {
    EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", "200", "--generation-ms", "50"});
    const std::string cache =
        (std::filesystem::temp_directory_path() / ("swarmpod-protocol-changed-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(cache);
    std::filesystem::create_directories(cache);
    std::ofstream(cache + "/protocols.json") << R"({"test-endpoint": 1})";
    {
        Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"ModelCachePath\": \"" + cache + "\""));
        Collector collector;

        const GenerateOutcome outcome = generate(backend.get(), kRequest, "test-key", collector);

        ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
        EXPECT_EQ(backend_status(backend.get()).value("protocol", ""), "v2");
    }
    const json ledger = emulator.ledger();
    EXPECT_EQ(count_jobs(ledger, "wakeup"), 1) << ledger["jobs"].dump();
    EXPECT_EQ(count_jobs(ledger, "lease"), 1) << ledger["jobs"].dump();
    std::ifstream saved(cache + "/protocols.json");
    const json protocols = json::parse(saved, nullptr, false);
    EXPECT_EQ(protocols.value("test-endpoint", 0), 2) << protocols.dump();
    std::filesystem::remove_all(cache);
}

}  // namespace

namespace {

// A woken v1 worker stops after the endpoint's idle timeout (1 s here) once its wakeup
// job completes. One /status reply that comes back 3 s late, across the wakeup's end,
// must not lose that worker: the keepalive still goes to it, no second worker starts,
// and nothing runs afterwards.
TEST(WorkerPool, V1SlowWakeupReadKeepsWokenWorker) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "2000", "--generation-ms", "50",
                              "--idle-timeout-ms", "1000", "--max-workers", "2"});
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"WorkerProtocol\": \"v1\""));
    GenerateOutcome outcome;
    std::thread generation([&] {
        Collector collector;
        outcome = generate(backend.get(), kRequest, "test-key", collector);
    });

    // One second into the 2 s cold start, the next /status read becomes slow.
    const json booting = emulator.wait_for_ledger([](const json& l) { return l["workers"].size() == 1; });
    ASSERT_EQ(booting["workers"].size(), 1u) << booting.dump();
    const int64_t started_ms = booting["workers"][0].value("started_ms", int64_t{0});
    const int64_t wait_ms = started_ms + 1000 - booting.value("now_ms", int64_t{0});
    if (wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    post_json(emulator, "/admin/faults", R"([{"route": "status", "kind": "slow", "delay_ms": 3000, "count": 1}])");
    generation.join();

    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    httplib::Client admin("127.0.0.1", emulator.port());
    auto rules = admin.Get("/admin/faults");
    ASSERT_TRUE(rules);
    EXPECT_EQ(json::parse(rules->body, nullptr, false)[0].value("count", -1), 0) << "the slow reply never happened";
    const json ledger = emulator.wait_for_ledger(nothing_runs);
    EXPECT_EQ(ledger["workers"].size(), 1u) << ledger["jobs"].dump();
    EXPECT_EQ(count_jobs(ledger, "wakeup"), 1) << ledger["jobs"].dump();
    EXPECT_EQ(count_jobs(ledger, "keepalive"), 1) << ledger["jobs"].dump();
    EXPECT_TRUE(nothing_runs(ledger)) << ledger.dump();
}

// With WorkerProtocol auto, the first acquisition on a v1 endpoint sends a lease probe,
// which boots the worker and is refused. The cold start recorded for the endpoint must be
// that boot (1.5 s in the emulator), not the few hundred milliseconds from the wakeup
// on the already running worker.
TEST(WorkerPool, V1ProbeBootIsTheColdStart) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "1500", "--generation-ms", "50"});
    const std::string cache = (std::filesystem::temp_directory_path() /
                               ("swarmpod-probe-cold-start-" + std::to_string(getpid())))
                                  .string();
    std::filesystem::remove_all(cache);
    {
        Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"ModelCachePath\": \"" + cache + "\""));
        Collector collector;
        ASSERT_EQ(generate(backend.get(), kRequest, "test-key", collector).status, SWARMPOD_OK);
    }
    EXPECT_EQ(count_jobs(emulator.ledger(), "lease"), 1) << "the test needs the probe";

    std::ifstream file(cache + "/cold_starts.json");
    ASSERT_TRUE(file.good()) << "no cold_starts.json in " << cache;
    const json saved = json::parse(file, nullptr, false);
    ASSERT_TRUE(saved.contains("test-endpoint")) << saved.dump();
    ASSERT_EQ(saved["test-endpoint"].size(), 1u) << saved.dump();
    const double seconds = saved["test-endpoint"][0].get<double>();
    EXPECT_GE(seconds, 1.4) << saved.dump();
    EXPECT_LT(seconds, 10.0) << saved.dump();
    std::filesystem::remove_all(cache);
}

}  // namespace

namespace {

// Every /status reply comes 2.5 s late until the first keepalive is sent, so that
// keepalive follows the wakeup after the woken worker has idled out (1 s) and boots a new
// worker whose loopback URL cannot be derived. The pool ends it and wakes a worker
// again, and the generation still runs.
TEST(WorkerPool, V1KeepaliveAfterIdleOutWakesAgain) {
    EmulatorProcess emulator({"--protocol", "v1", "--cold-start-ms", "500", "--generation-ms", "50",
                              "--idle-timeout-ms", "1000", "--max-workers", "2"});
    post_json(emulator, "/admin/faults", R"([{"route": "status", "kind": "slow", "delay_ms": 2500}])");
    Backend backend(emulator_config(emulator, "\"KeepWarmSec\": 0, \"WorkerProtocol\": \"v1\""));
    GenerateOutcome outcome;
    std::thread generation([&] {
        Collector collector;
        outcome = generate(backend.get(), kRequest, "test-key", collector);
    });
    const json late = emulator.wait_for_ledger([](const json& l) { return count_jobs(l, "keepalive") > 0; }, 10000);
    post_json(emulator, "/admin/faults", "[]");
    generation.join();

    ASSERT_EQ(count_jobs(late, "keepalive"), 1) << late.dump();
    ASSERT_EQ(outcome.status, SWARMPOD_OK) << outcome.message;
    const json ledger = emulator.wait_for_ledger(nothing_runs);
    EXPECT_EQ(count_jobs(ledger, "wakeup"), 2) << ledger["jobs"].dump();
    EXPECT_EQ(count_jobs(ledger, "keepalive"), 2) << ledger["jobs"].dump();
    EXPECT_TRUE(nothing_runs(ledger)) << ledger.dump();
}

}  // namespace
