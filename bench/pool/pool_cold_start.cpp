// Cold-start slack: time to the first image minus the emulator's cold start and
// generation time, for one generation on an endpoint with no worker running.
//
// Every run starts a fresh emulator, so no worker is warm. Run k uses a cold start of
// --cold-start-ms + k * --cold-start-step-ms, which spreads the moment the worker boots
// over the pool's poll period. A fixed cold start would always hit the same phase of the
// poll schedule and report one point of the distribution.
//
// Usage: swarmpod_bench_pool_cold_start [--runs 20] [--poll-ms 2000] [--cold-start-ms 8000]
//        [--cold-start-step-ms 100] [--generation-ms 500]
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "pool_bench.hpp"

namespace {

using nlohmann::json;
using swarmpod::bench::Clock;

// Client-side times of the pool's log lines, keyed by worker id: when the lease output
// arrived and when the worker's SwarmUI reported a running backend.
struct LogTimes {
    std::mutex mutex;
    std::map<std::string, Clock::time_point> leased;
    std::map<std::string, Clock::time_point> ready;
};

std::string word_after(const std::string& text, const std::string& prefix) {
    const auto at = text.find(prefix);
    if (at == std::string::npos) return "";
    const auto start = at + prefix.size();
    return text.substr(start, text.find(' ', start) - start);
}

void SWARMPOD_CALL record_log(void* user_data, int32_t, const char* message) {
    auto* times = static_cast<LogTimes*>(user_data);
    const Clock::time_point now = Clock::now();
    const std::string text = message;
    std::lock_guard<std::mutex> lock(times->mutex);
    if (text.rfind("Leased worker ", 0) == 0) times->leased[word_after(text, "Leased worker ")] = now;
    if (text.rfind("Worker ", 0) == 0 && text.find(" is ready after ") != std::string::npos) {
        times->ready[word_after(text, "Worker ")] = now;
    }
}

double ms(Clock::duration duration) { return std::chrono::duration<double, std::milli>(duration).count(); }

}  // namespace

int main(int argc, char** argv) {
    using namespace swarmpod::bench;
    const int runs = int_option(argc, argv, "--runs", 20);
    const int poll_ms = int_option(argc, argv, "--poll-ms", 2000);
    const int cold_start_ms = int_option(argc, argv, "--cold-start-ms", 8000);
    const int step_ms = int_option(argc, argv, "--cold-start-step-ms", 100);
    const int generation_ms = int_option(argc, argv, "--generation-ms", 500);

    LogTimes times;
    swarmpod_set_log_callback(&record_log, &times, SWARMPOD_LOG_INFO);

    std::printf("# pool_cold_start: %s\n", machine_description().c_str());
    std::printf("# PollIntervalMs %d, cold start %d + k*%d ms, generation %d ms, %d runs, protocol v2\n", poll_ms,
                cold_start_ms, step_ms, generation_ms, runs);
    std::printf("run cold_ms slack_ms dispatch_ms lease_seen_ms readiness_ms handover_ms generate_extra_ms\n");

    std::vector<double> slack, dispatch, lease_seen, readiness, handover, generate_extra;
    int failures = 0;
    for (int k = 0; k < runs; ++k) {
        const int cold = cold_start_ms + k * step_ms;
        swarmpod::testing::EmulatorProcess emulator({"--protocol", "v2", "--cold-start-ms", std::to_string(cold),
                                                     "--generation-ms", std::to_string(generation_ms),
                                                     "--max-workers", "1"});
        swarmpod_backend* backend = nullptr;
        const std::string config = backend_config(emulator, "v2",
                                                  "\"KeepWarmSec\": 0, \"StartupTimeoutSec\": 120, "
                                                  "\"PollIntervalMs\": " + std::to_string(poll_ms));
        if (swarmpod_backend_new(config.c_str(), &backend) != SWARMPOD_OK) {
            std::fprintf(stderr, "swarmpod_backend_new failed: %s\n", swarmpod_last_error_message());
            return 1;
        }
        const Clock::time_point called = Clock::now();
        const GenerationSample sample = timed_generation(backend, called);
        swarmpod_backend_free(backend);
        if (sample.status != SWARMPOD_OK) {
            std::printf("%d %d failed: %s\n", k, cold, sample.error.c_str());
            ++failures;
            continue;
        }
        const json ledger = emulator.ledger();
        json lease_job;
        for (const json& job : ledger["jobs"]) {
            if (job.value("action", "") == "lease") lease_job = job;
        }
        // Emulator times are ms since the emulator started; only differences are used.
        const double queued_to_taken = lease_job.value("started_ms", 0.0) - lease_job.value("submitted_ms", 0.0);
        Clock::time_point leased{}, ready{};
        {
            std::lock_guard<std::mutex> lock(times.mutex);
            leased = times.leased[sample.worker_id];
            ready = times.ready[sample.worker_id];
        }
        const double wait_ms = sample.wait_seconds * 1000.0;
        slack.push_back(sample.latency_ms - cold - generation_ms);
        dispatch.push_back(queued_to_taken - cold);
        lease_seen.push_back(ms(leased - called) - queued_to_taken);
        readiness.push_back(ms(ready - leased));
        handover.push_back(wait_ms - ms(ready - called));
        generate_extra.push_back(sample.latency_ms - wait_ms - generation_ms);
        std::printf("%d %d %.0f %.0f %.0f %.0f %.0f %.0f\n", k, cold, slack.back(), dispatch.back(), lease_seen.back(),
                    readiness.back(), handover.back(), generate_extra.back());
        std::fflush(stdout);
    }
    swarmpod_set_log_callback(nullptr, nullptr, SWARMPOD_LOG_OFF);

    auto line = [](const char* name, const std::vector<double>& values) {
        std::printf("%-18s median %6.0f ms  p90 %6.0f ms  mean %6.0f ms\n", name, percentile(values, 0.5),
                    percentile(values, 0.9), mean(values));
    };
    std::printf("\n");
    line("slack", slack);
    line("  dispatch", dispatch);
    line("  lease seen", lease_seen);
    line("  readiness", readiness);
    line("  handover", handover);
    line("  generate extra", generate_extra);
    std::printf("failures %d of %d\n", failures, runs);
    return failures == 0 ? 0 : 1;
}
