// Shared parts of the worker pool benchmarks: one timed generation through the C ABI,
// GPU time read from the emulator's billing ledger, and summary statistics.
#pragma once

#include <swarmpod/swarmpod.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/emulator_process.hpp"

namespace swarmpod::bench {

using Clock = std::chrono::steady_clock;

// One 64x64 image; the emulator's --generation-ms sets how long it takes.
inline const char* const kOneImageRequest = R"({"prompt": "benchmark", "width": 64, "height": 64, "images": 1})";

struct GenerationSample {
    int32_t status = SWARMPOD_E_INTERNAL;
    std::string error;        // swarmpod_last_error_message() after a failure
    double submit_ms = 0;     // when swarmpod_generate was called, since the run started
    double latency_ms = 0;    // from that call to its return with the image
    double wait_seconds = 0;  // timings.wait_seconds of the result: time in the worker pool
    double generation_seconds = 0;
    std::string worker_id;
};

// Calls swarmpod_generate once with kOneImageRequest and times it.
GenerationSample timed_generation(swarmpod_backend* backend, Clock::time_point run_start);

// A backend config for the emulator's endpoint, forced to `protocol` ("v1" or "v2"),
// with `extra_fields` (JSON members without braces) appended. Unless `extra_fields`
// sets ModelCachePath, the backend gets a new empty cache folder, so no measured cold
// start or generation time carries over from another run.
std::string backend_config(const testing::EmulatorProcess& emulator, const std::string& protocol,
                           const std::string& extra_fields);

// A new empty folder under the system's temporary directory.
std::string new_cache_folder();

struct Billing {
    double exact_seconds = 0;   // sum over workers of (stop, or now when running) - start
    double rounded_seconds = 0; // the ledger's total_billed_seconds: per-worker ceil
    int workers = 0;
    int running = 0;            // workers not stopped when the ledger was read
};

Billing billing_from_ledger(const nlohmann::json& ledger);

// Polls the ledger until no worker runs, for at most `timeout_ms`; returns the last one.
nlohmann::json ledger_when_idle(const testing::EmulatorProcess& emulator, int timeout_ms);

double mean(const std::vector<double>& values);
// Nearest-rank percentile, `fraction` in [0, 1]; 0 for an empty list.
double percentile(std::vector<double> values, double fraction);

// "nproc N, CPU <model>, <UTC date>, /proc/loadavg ...", for the header of every report.
std::string machine_description();

// Reads an integer option "--name VALUE" from argv, or returns `fallback`. Exits with
// status 2 and a message when the value is not an integer.
int int_option(int argc, char** argv, const std::string& name, int fallback);
std::string string_option(int argc, char** argv, const std::string& name, const std::string& fallback);

}  // namespace swarmpod::bench
