// Scale-out: --requests one-image generations submitted at once to a backend with
// MaxConcurrent --max-concurrent. The ideal makespan is one cold start plus
// ceil(requests / max-concurrent) generations back to back on every worker.
//
// Usage: swarmpod_bench_pool_scale_out [--requests 64] [--max-concurrent 8]
//        [--cold-start-ms 6000] [--generation-ms 500] [--poll-ms 2000] [--keep-warm-sec 30]
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "pool_bench.hpp"

int main(int argc, char** argv) {
    using namespace swarmpod::bench;
    const int requests = int_option(argc, argv, "--requests", 64);
    const int max_concurrent = int_option(argc, argv, "--max-concurrent", 8);
    const int cold_start_ms = int_option(argc, argv, "--cold-start-ms", 6000);
    const int generation_ms = int_option(argc, argv, "--generation-ms", 500);
    const int poll_ms = int_option(argc, argv, "--poll-ms", 2000);
    const int keep_warm_sec = int_option(argc, argv, "--keep-warm-sec", 30);

    swarmpod::testing::EmulatorProcess emulator(
        {"--protocol", "v2", "--cold-start-ms", std::to_string(cold_start_ms), "--generation-ms",
         std::to_string(generation_ms), "--max-workers", std::to_string(std::max(8, max_concurrent))});
    const std::string config = backend_config(
        emulator, "v2",
        "\"MaxConcurrent\": " + std::to_string(max_concurrent) + ", \"PollIntervalMs\": " + std::to_string(poll_ms) +
            ", \"KeepWarmSec\": " + std::to_string(keep_warm_sec) +
            ", \"StartupTimeoutSec\": 120, \"GenerationTimeoutSec\": 300");
    swarmpod_backend* backend = nullptr;
    if (swarmpod_backend_new(config.c_str(), &backend) != SWARMPOD_OK) {
        std::fprintf(stderr, "swarmpod_backend_new failed: %s\n", swarmpod_last_error_message());
        return 1;
    }

    std::printf("# pool_scale_out: %s\n", machine_description().c_str());
    std::printf("# %d requests at once, MaxConcurrent %d, cold start %d ms, generation %d ms, PollIntervalMs %d, "
                "protocol v2\n",
                requests, max_concurrent, cold_start_ms, generation_ms, poll_ms);

    std::vector<GenerationSample> samples(static_cast<std::size_t>(requests));
    std::vector<std::thread> threads;
    const Clock::time_point start = Clock::now();
    for (int i = 0; i < requests; ++i) {
        threads.emplace_back([&, i] { samples[static_cast<std::size_t>(i)] = timed_generation(backend, start); });
    }
    for (auto& thread : threads) thread.join();
    const double makespan_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    const nlohmann::json ledger = emulator.ledger();
    swarmpod_backend_free(backend);

    int failures = 0;
    std::map<std::string, int> per_worker;
    std::vector<double> latencies;
    for (const GenerationSample& sample : samples) {
        if (sample.status != SWARMPOD_OK) {
            if (failures++ == 0) std::printf("first failure: %s\n", sample.error.c_str());
            continue;
        }
        ++per_worker[sample.worker_id];
        latencies.push_back(sample.latency_ms);
    }
    const int rounds = (requests + max_concurrent - 1) / max_concurrent;
    const double ideal_ms = cold_start_ms + static_cast<double>(rounds) * generation_ms;
    int fewest = requests, max_per_worker = 0;
    for (const auto& [worker, count] : per_worker) {
        fewest = std::min(fewest, count);
        max_per_worker = std::max(max_per_worker, count);
    }
    std::printf("workers used %zu (emulator started %zu), generations per worker %d..%d, failures %d\n",
                per_worker.size(), ledger["workers"].size(), fewest, max_per_worker, failures);
    std::printf("ideal %.0f ms = %d + %d x %d; makespan %.0f ms; ratio %.3f; latency median %.0f ms p95 %.0f ms\n",
                ideal_ms, cold_start_ms, rounds, generation_ms, makespan_ms, makespan_ms / ideal_ms,
                percentile(latencies, 0.5), percentile(latencies, 0.95));
    return failures == 0 ? 0 : 1;
}
