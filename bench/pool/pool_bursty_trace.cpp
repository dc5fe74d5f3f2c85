// Bursty trace: 3 bursts of 8 one-image generations, bursts 120 s apart, each burst's
// arrivals spread evenly over 10 s. The endpoint has a 60 s cold start, a 5 s idle
// timeout, and each generation is 5 s of GPU work. All emulator times are divided by
// --scale so a run takes about a minute and a half. Billed seconds and times to image are
// multiplied back and printed in unscaled seconds.
//
// Each configuration runs against its own emulator process; --parallel of them run at
// once. It prints one row per configuration plus the two computed oracles.
//
// StartupTimeoutSec and GenerationTimeoutSec are divided too (120 / scale and
// 100 / scale). Before it has measured anything, the pool assumes half the startup
// timeout (up to 60 s) as cold start and a tenth of the generation timeout (up to 10 s)
// as generation. Scaled this way, those are the 60 s and 10 s of the default timeouts.
//
// Usage: swarmpod_bench_pool_bursty_trace [--scale 5] [--protocol v2] [--parallel 4]
//        [--poll-ms 2000/scale] [--configs "5:8,5:8:returning,..."]
// where each configuration is KeepWarmSec (unscaled seconds, a multiple of --scale),
// MaxConcurrent and optionally "returning". A returning backend starts with the cold
// starts and generation times that one earlier run of the same trace saved, as after a
// SwarmUI restart. Other backends start with an empty cache folder.
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pool_bench.hpp"

namespace {

using nlohmann::json;
using namespace swarmpod::bench;

// The trace in unscaled seconds.
constexpr int kBursts = 3;
constexpr int kPerBurst = 8;
constexpr double kBurstSpreadSec = 10;
constexpr double kBurstPeriodSec = 120;
constexpr double kColdStartSec = 60;
constexpr double kGenerationSec = 5;
constexpr double kIdleTimeoutSec = 5;
// A worker stops this long after its lease job is cancelled (the emulator's default is
// 100 ms, so 1 s at a scale of 10).
constexpr double kCancelStopSec = 1;

std::vector<double> arrivals_sec() {
    std::vector<double> arrivals;
    for (int burst = 0; burst < kBursts; ++burst) {
        for (int i = 0; i < kPerBurst; ++i) {
            arrivals.push_back(burst * kBurstPeriodSec + i * kBurstSpreadSec / (kPerBurst - 1));
        }
    }
    return arrivals;
}

struct Setting {
    int keep_warm_sec = 30;  // unscaled
    int max_concurrent = 10;
    bool returning = false;  // start with the times persisted by an earlier run
};

struct Row {
    Setting setting;
    Billing billing;
    std::vector<double> tti_sec;  // unscaled
    int failures = 0;
    std::string first_error;
    int distinct_workers = 0;
};

Row run_trace(const Setting& setting, int scale, const std::string& protocol, int poll_ms,
              const std::string& cache_folder) {
    auto scaled_ms = [scale](double seconds) { return std::to_string(static_cast<int>(seconds * 1000 / scale)); };
    swarmpod::testing::EmulatorProcess emulator(
        {"--protocol", protocol, "--cold-start-ms", scaled_ms(kColdStartSec), "--generation-ms",
         scaled_ms(kGenerationSec), "--idle-timeout-ms", scaled_ms(kIdleTimeoutSec), "--cancel-stop-ms",
         scaled_ms(kCancelStopSec), "--max-workers", "64"});
    const std::string config = backend_config(
        emulator, protocol,
        "\"KeepWarmSec\": " + std::to_string(setting.keep_warm_sec / scale) +
            ", \"MaxConcurrent\": " + std::to_string(setting.max_concurrent) +
            ", \"PollIntervalMs\": " + std::to_string(poll_ms) +
            ", \"StartupTimeoutSec\": " + std::to_string(120 / scale) +
            ", \"GenerationTimeoutSec\": " + std::to_string(100 / scale) + ", \"ModelCachePath\": \"" + cache_folder +
            "\"");
    swarmpod_backend* backend = nullptr;
    Row row;
    row.setting = setting;
    if (swarmpod_backend_new(config.c_str(), &backend) != SWARMPOD_OK) {
        row.failures = kBursts * kPerBurst;
        row.first_error = swarmpod_last_error_message();
        return row;
    }

    const std::vector<double> arrivals = arrivals_sec();
    std::vector<GenerationSample> samples(arrivals.size());
    std::vector<std::thread> requests;
    const Clock::time_point start = Clock::now();
    for (std::size_t i = 0; i < arrivals.size(); ++i) {
        requests.emplace_back([&, i] {
            std::this_thread::sleep_until(start + std::chrono::microseconds(
                                                      static_cast<long long>(arrivals[i] * 1e6 / scale)));
            samples[i] = timed_generation(backend, start);
        });
    }
    for (auto& thread : requests) thread.join();

    // Keep the backend alive until its pool has released every warm worker by itself:
    // freeing it earlier would end them and hide the keep-warm cost.
    const int release_wait_ms = setting.keep_warm_sec * 1000 / scale + 10000;
    const json ledger = ledger_when_idle(emulator, release_wait_ms);
    swarmpod_backend_free(backend);
    row.billing = billing_from_ledger(ledger);
    row.billing.exact_seconds *= scale;

    std::vector<std::string> workers;
    for (const GenerationSample& sample : samples) {
        if (sample.status != SWARMPOD_OK) {
            if (row.failures++ == 0) row.first_error = sample.error;
            continue;
        }
        row.tti_sec.push_back(sample.latency_ms * scale / 1000.0);
        workers.push_back(sample.worker_id);
    }
    std::sort(workers.begin(), workers.end());
    row.distinct_workers = static_cast<int>(std::unique(workers.begin(), workers.end()) - workers.begin());
    return row;
}

Row run_setting(const Setting& setting, int scale, const std::string& protocol, int poll_ms) {
    const std::string cache_folder = new_cache_folder();
    if (setting.returning) run_trace(setting, scale, protocol, poll_ms, cache_folder);
    return run_trace(setting, scale, protocol, poll_ms, cache_folder);
}

std::vector<Setting> parse_settings(const std::string& text, int scale) {
    std::vector<Setting> settings;
    std::stringstream list(text);
    for (std::string item; std::getline(list, item, ',');) {
        Setting setting;
        char mode[16] = "";
        const int fields = std::sscanf(item.c_str(), "%d:%d:%15s", &setting.keep_warm_sec, &setting.max_concurrent, mode);
        setting.returning = fields == 3 && std::string(mode) == "returning";
        if (fields < 2 || (fields == 3 && !setting.returning) || setting.keep_warm_sec % scale != 0) {
            std::fprintf(stderr,
                         "invalid configuration '%s': expected KEEPWARM:MAXCONCURRENT[:returning] with KEEPWARM a "
                         "multiple of --scale (%d)\n",
                         item.c_str(), scale);
            std::exit(2);
        }
        settings.push_back(setting);
    }
    return settings;
}

// The cheapest billing when requests may wait: one worker, booted so it is ready at the
// first arrival, runs all generations back to back. Between bursts it idles or, when the
// idle gap is longer than a cold start plus the stop delay, stops and a new one boots in
// time. Assumes a burst's spread is shorter than its total generation time.
double oracle_any_latency() {
    const double idle_gap = kBurstPeriodSec - kPerBurst * kGenerationSec;
    const double per_gap = std::min(std::max(idle_gap, 0.0), kColdStartSec + kCancelStopSec);
    return kColdStartSec + kBursts * kPerBurst * kGenerationSec + (kBursts - 1) * per_gap +
           kCancelStopSec;
}

// The cheapest billing when no request waits: workers boot ahead of the arrivals (perfect
// foresight) and every generation starts on arrival. Each job goes to the free worker
// that finished last (best fit). Between two jobs a worker idles, or it stops and a new
// one boots in time when the gap is longer than a cold start. Returns billed seconds and the
// peak number of busy workers, which must not exceed MaxConcurrent.
std::pair<double, int> oracle_no_wait() {
    const double tail = kCancelStopSec;
    struct Worker {
        double free_at;
    };
    std::vector<Worker> workers;
    double billed = 0;
    int peak = 0;
    for (double arrival : arrivals_sec()) {
        int best = -1;
        for (std::size_t w = 0; w < workers.size(); ++w) {
            if (workers[w].free_at <= arrival && (best < 0 || workers[w].free_at > workers[best].free_at)) {
                best = static_cast<int>(w);
            }
        }
        if (best >= 0 && arrival - workers[best].free_at < kColdStartSec + tail) {
            billed += arrival - workers[best].free_at;
        } else {
            if (best >= 0) workers.erase(workers.begin() + best);
            billed += kColdStartSec + tail;
            workers.push_back({0});
            best = static_cast<int>(workers.size()) - 1;
        }
        billed += kGenerationSec;
        workers[best].free_at = arrival + kGenerationSec;
        int busy = 0;
        for (const Worker& worker : workers) busy += worker.free_at > arrival ? 1 : 0;
        peak = std::max(peak, busy);
    }
    return {billed, peak};
}

}  // namespace

int main(int argc, char** argv) {
    // At 5, the default KeepWarmSec of 5 s is one whole second of emulator time.
    const int scale = int_option(argc, argv, "--scale", 5);
    const std::string protocol = string_option(argc, argv, "--protocol", "v2");
    const int parallel = std::max(1, int_option(argc, argv, "--parallel", 4));
    const int poll_ms = int_option(argc, argv, "--poll-ms", 2000 / scale);
    const std::string default_list =
        "5:8,5:8:returning,10:8,10:8:returning,0:8,0:8:returning,5:2,30:8,60:8";
    const std::vector<Setting> settings = parse_settings(string_option(argc, argv, "--configs", default_list), scale);

    std::printf("# pool_bursty_trace: %s\n", machine_description().c_str());
    std::printf("# %d bursts x %d generations over %.0f s, %.0f s apart; cold start %.0f s, generation %.0f s, "
                "idle timeout %.0f s; emulator time / %d, PollIntervalMs %d, protocol %s, %d configs %d at once\n",
                kBursts, kPerBurst, kBurstSpreadSec, kBurstPeriodSec, kColdStartSec, kGenerationSec, kIdleTimeoutSec,
                scale, poll_ms, protocol.c_str(), static_cast<int>(settings.size()), parallel);
    const auto [no_wait, peak] = oracle_no_wait();
    std::printf("# oracle, requests may wait: %.1f s; oracle, no request waits: %.1f s (needs %d workers at once); "
                "naive model (one cold worker per generation): %.1f s\n",
                oracle_any_latency(), no_wait, peak,
                kBursts * kPerBurst * (kColdStartSec + kGenerationSec + kCancelStopSec));

    std::vector<Row> rows(settings.size());
    for (std::size_t first = 0; first < settings.size(); first += static_cast<std::size_t>(parallel)) {
        std::vector<std::thread> wave;
        for (std::size_t i = first; i < std::min(settings.size(), first + static_cast<std::size_t>(parallel)); ++i) {
            wave.emplace_back([&, i] { rows[i] = run_setting(settings[i], scale, protocol, poll_ms); });
        }
        for (auto& thread : wave) thread.join();
    }

    std::printf("keep_warm_sec max_concurrent history workers billed_s ledger_rounded_s(emulator) tti_mean_s "
                "tti_p95_s tti_max_s failures\n");
    for (const Row& row : rows) {
        std::printf("%d %d %s %d %.1f %.0f %.1f %.1f %.1f %d%s%s\n", row.setting.keep_warm_sec,
                    row.setting.max_concurrent, row.setting.returning ? "returning" : "fresh",
                    row.billing.workers, row.billing.exact_seconds, row.billing.rounded_seconds, mean(row.tti_sec),
                    percentile(row.tti_sec, 0.95), percentile(row.tti_sec, 1.0), row.failures,
                    row.billing.running > 0 ? " (workers still running at the end)" : "",
                    row.first_error.empty() ? "" : (" first error: " + row.first_error).c_str());
    }
    return 0;
}
