// RunPod job objects and states as returned by /run, /runsync, /status and /cancel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace swarmpod::runpod {

enum class JobState { in_queue, in_progress, completed, failed, cancelled, timed_out, unknown };

// Parses a status string. "RUNNING" is read as in_progress; anything unrecognised is
// `unknown`, which callers treat as not terminal.
JobState parse_job_state(std::string_view text) noexcept;
const char* job_state_name(JobState state) noexcept;
bool is_terminal(JobState state) noexcept;

struct Job {
    std::string id;
    JobState state = JobState::unknown;
    std::string status_text;         // the raw status string
    nlohmann::json output;           // null when absent
    std::string error;               // "" when absent
    std::optional<int64_t> delay_ms;
    std::optional<int64_t> execution_ms;
    std::string worker_id;           // "" when RunPod did not report it
};

// Builds a Job from a parsed reply. Throws Error(bad_response) naming what is missing
// when the reply has no string `id` or no string `status`.
Job parse_job(const nlohmann::json& reply);

struct StreamChunk {
    nlohmann::json output;
};

struct StreamReply {
    JobState state = JobState::unknown;
    std::string status_text;
    std::vector<StreamChunk> chunks;  // only the chunks produced since the last read
};
StreamReply parse_stream(const nlohmann::json& reply);

// Endpoint /health counters; every key optional (0 when absent).
struct Health {
    int64_t jobs_completed = 0, jobs_failed = 0, jobs_in_progress = 0, jobs_in_queue = 0, jobs_retried = 0;
    int64_t workers_idle = 0, workers_initializing = 0, workers_ready = 0, workers_running = 0,
            workers_throttled = 0, workers_unhealthy = 0;
};
Health parse_health(const nlohmann::json& reply);

}  // namespace swarmpod::runpod
