#include "pool_bench.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

namespace swarmpod::bench {

using nlohmann::json;

namespace {

double ms_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace

GenerationSample timed_generation(swarmpod_backend* backend, Clock::time_point run_start) {
    GenerationSample sample;
    const Clock::time_point called = Clock::now();
    char* result = nullptr;
    sample.status = swarmpod_generate(backend, kOneImageRequest, "test-key", nullptr, nullptr, &result);
    const Clock::time_point returned = Clock::now();
    if (sample.status != SWARMPOD_OK) sample.error = swarmpod_last_error_message();
    sample.submit_ms = ms_between(run_start, called);
    sample.latency_ms = ms_between(called, returned);
    if (result != nullptr) {
        const json summary = json::parse(result, nullptr, false);
        swarmpod_string_free(result);
        if (summary.is_object()) {
            sample.worker_id = summary.value("worker_id", "");
            const json timings = summary.value("timings", json::object());
            sample.wait_seconds = timings.value("wait_seconds", 0.0);
            sample.generation_seconds = timings.value("generation_seconds", 0.0);
        }
    }
    return sample;
}

std::string backend_config(const testing::EmulatorProcess& emulator, const std::string& protocol,
                           const std::string& extra_fields) {
    std::string config = "{\"EndpointId\": \"test-endpoint\", \"RunPodApiKey\": \"test-key\", \"ApiBaseUrl\": \"" +
                         emulator.api_base() + "\", \"AllowInsecureWorkerUrls\": true, \"WorkerProtocol\": \"" +
                         protocol + "\"";
    if (extra_fields.find("\"ModelCachePath\"") == std::string::npos) {
        config += ", \"ModelCachePath\": \"" + new_cache_folder() + "\"";
    }
    if (!extra_fields.empty()) config += ", " + extra_fields;
    return config + "}";
}

std::string new_cache_folder() {
    static std::atomic<int> counter{0};
    const std::filesystem::path folder = std::filesystem::temp_directory_path() /
                                         ("swarmpod-bench-" + std::to_string(getpid()) + "-" + std::to_string(++counter));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    return folder.string();
}

Billing billing_from_ledger(const json& ledger) {
    Billing billing;
    const double now_ms = ledger.value("now_ms", 0.0);
    for (const json& worker : ledger.value("workers", json::array())) {
        const double started = worker.value("started_ms", 0.0);
        const json& stopped = worker.contains("stopped_ms") ? worker["stopped_ms"] : json();
        const bool running = !stopped.is_number();
        billing.exact_seconds += ((running ? now_ms : stopped.get<double>()) - started) / 1000.0;
        billing.running += running ? 1 : 0;
        ++billing.workers;
    }
    billing.rounded_seconds = ledger.value("total_billed_seconds", 0.0);
    return billing;
}

json ledger_when_idle(const testing::EmulatorProcess& emulator, int timeout_ms) {
    return emulator.wait_for_ledger(
        [](const json& ledger) {
            for (const json& worker : ledger.value("workers", json::array())) {
                if (!worker.contains("stopped_ms") || !worker["stopped_ms"].is_number()) return false;
            }
            return true;
        },
        timeout_ms);
}

double mean(const std::vector<double>& values) {
    if (values.empty()) return 0;
    return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double percentile(std::vector<double> values, double fraction) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

std::string machine_description() {
    std::string model = "unknown";
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            model = line.substr(line.find(':') + 2);
            break;
        }
    }
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    // Other processes on the machine delay polls and callbacks, so the load goes with the numbers.
    std::string load = "unknown";
    std::ifstream loadavg("/proc/loadavg");
    std::getline(loadavg, load);
    return "nproc " + std::to_string(std::thread::hardware_concurrency()) + ", CPU " + model + ", " + date +
           ", /proc/loadavg " + load;
}

int int_option(int argc, char** argv, const std::string& name, int fallback) {
    const std::string value = string_option(argc, argv, name, "");
    if (value.empty()) return fallback;
    char* end = nullptr;
    const long parsed = std::strtol(value.c_str(), &end, 10);
    if (end == value.c_str() || *end != '\0') {
        std::fprintf(stderr, "%s expects a whole number, got '%s'\n", name.c_str(), value.c_str());
        std::exit(2);
    }
    return static_cast<int>(parsed);
}

std::string string_option(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (argv[i] == name) return argv[i + 1];
    }
    return fallback;
}

}  // namespace swarmpod::bench
