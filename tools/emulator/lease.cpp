#include "lease.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "util.hpp"

namespace emulator {
namespace {

constexpr const char* v2_version = "2.0.0";
constexpr int v2_protocol = 2;
// The worker image's defaults (SWARMUI_IDLE_SECONDS, SWARMUI_STARTUP_GRACE_SECONDS, SWARMUI_MAX_LEASE_SECONDS).
constexpr double default_idle_seconds = 120;
constexpr double default_grace_seconds = 600;
constexpr double max_lease_cap_seconds = 3600;
// The image polls SwarmUI every 5 s; 1 s here keeps tests short while staying coarse like the real monitor.
constexpr std::int64_t lease_poll_ms = 1000;

// A lease limit counts only when it is a JSON number (booleans are not numbers here); anything else is unset.
double limit_input(const nlohmann::json& input, const char* key, double fallback, double low, double high)
{
    if (!input.contains(key) || !input[key].is_number()) {
        return fallback;
    }
    return std::clamp(input[key].get<double>(), low, high);
}

void push_chunk(Job& job, nlohmann::json chunk)
{
    job.chunks.push_back(std::move(chunk));
}

void finish_with_chunk(Job& job, nlohmann::json chunk, std::int64_t now)
{
    push_chunk(job, std::move(chunk));
    complete_job(job, job.chunks, now);
}

void release(Worker& worker, Job& job, const char* reason, std::int64_t now)
{
    // The token is revoked before the final output, so a client that sees "released" can no longer call in.
    if (worker.server) {
        worker.server->set_token(std::nullopt);
    }
    spdlog::info("worker {}: lease {} released ({})", worker.id, job.id, reason);
    finish_with_chunk(job, {{"success", true}, {"released", true}, {"reason", reason}}, now);
}

} // namespace

void start_lease_job(const Config& config, Worker& worker, Job& job, std::int64_t now)
{
    (void)config;
    job.streaming = true;
    if (job.action == "health") {
        finish_with_chunk(job, {{"success", true}, {"worker_id", worker.id}, {"version", v2_version},
                                {"protocol", v2_protocol}},
                          now);
        return;
    }
    if (job.action != "lease") {
        finish_with_chunk(job,
                          {{"success", false},
                           {"error", "Unknown action '" + job.action +
                                         "'. This worker supports 'lease' and 'health'."},
                           {"error_id", "unknown_action"}},
                          now);
        return;
    }

    double idle_seconds = limit_input(job.input, "idle_seconds", default_idle_seconds, 5, 3600);
    double grace_seconds = limit_input(job.input, "startup_grace_seconds", default_grace_seconds, 5, 3600);
    double max_seconds =
        limit_input(job.input, "max_lease_seconds", max_lease_cap_seconds, 60, max_lease_cap_seconds);
    std::string token = make_url_safe_token(64);
    worker.leases += 1;
    if (worker.server) {
        worker.server->set_token(token);
    }
    push_chunk(job, {{"success", true},
                     {"public_url", worker.url},
                     {"token", token},
                     {"worker_id", worker.id},
                     {"lease", worker.leases},
                     {"version", v2_version},
                     {"protocol", v2_protocol},
                     {"idle_seconds", idle_seconds},
                     {"startup_grace_seconds", grace_seconds},
                     {"max_lease_seconds", max_seconds}});
    job.handler_state = {{"lease_start_ms", now},
                         {"idle_ms", static_cast<std::int64_t>(idle_seconds * 1000)},
                         {"grace_ms", static_cast<std::int64_t>(grace_seconds * 1000)},
                         {"max_ms", static_cast<std::int64_t>(max_seconds * 1000)},
                         {"last_busy_ms", -1}};
    job.next_event_ms = now + lease_poll_ms;
}

void run_lease_timer(const Config& config, Worker& worker, Job& job, std::int64_t now)
{
    (void)config;
    auto& state = job.handler_state;
    const auto lease_start = state["lease_start_ms"].get<std::int64_t>();
    auto last_busy = state["last_busy_ms"].get<std::int64_t>();
    bool busy = false;
    if (worker.server) {
        busy = worker.server->api().live_generations() > 0;
        std::int64_t last_activity = worker.server->api().last_activity_ms();
        if (last_activity > lease_start) {
            last_busy = std::max(last_busy, last_activity);
        }
    }
    if (busy) {
        last_busy = now;
    }
    state["last_busy_ms"] = last_busy;
    job.next_event_ms = now + lease_poll_ms;
    if (busy) {
        return;
    }

    const auto max_ms = state["max_ms"].get<std::int64_t>();
    if (max_ms > 0 && now - lease_start >= max_ms) {
        release(worker, job, "max_lifetime", now);
    } else if (last_busy < 0 && now - lease_start >= state["grace_ms"].get<std::int64_t>()) {
        release(worker, job, "startup_grace_expired", now);
    } else if (last_busy >= 0 && now - last_busy >= state["idle_ms"].get<std::int64_t>()) {
        release(worker, job, "idle", now);
    }
}

} // namespace emulator
