// Parsers of what a SwarmUI RunPod worker returns from its jobs: the v1 `wakeup` output
// and the v2 lease job's first and final outputs. They only read JSON. Checking the URL
// against the allow-list and registering the token as a secret are left to the callers.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runpod/job.hpp"

namespace swarmpod::worker {

// The parts of a v1 wakeup output that swarmpod uses:
// {success: true, public_url, session_id, version, worker_id}.
struct WakeupOutput {
    std::string public_url;  // as reported, not yet checked against the allow-list
    std::string worker_id;   // from the output, else the job's worker id
};

// Reads a wakeup job that has reached a terminal state. Throws ProtocolMismatch when a
// v2 worker rejected the action, Error(job_failed) when the job did not complete,
// Error(worker) when the worker reported a failed wakeup, and Error(bad_response) when
// the output has no public_url.
WakeupOutput parse_wakeup_output(const runpod::Job& job);

// The first output of a v2 lease job: {success: true, public_url, token, worker_id,
// lease, version, protocol, idle_seconds, startup_grace_seconds, max_lease_seconds}.
struct LeaseOutput {
    int protocol = 0;
    std::string public_url;  // as reported, not yet checked against the allow-list
    std::string token;       // the per-lease bearer token
    std::string worker_id;   // from the output, else the job's worker id
    // The limits the worker applied after its own clamping, in seconds; empty when the
    // output has no number for them.
    std::optional<double> idle_seconds;
    std::optional<double> startup_grace_seconds;
    std::optional<double> max_lease_seconds;
};

// Reads a lease job's first output. `job` gives the id for messages and the worker id
// RunPod reported. Throws ProtocolMismatch when a v1 worker rejected the action,
// Error(worker) when the worker refused the lease or sent no protocol 2 URL and token,
// and Error(bad_response) when the output is not an object.
LeaseOutput parse_lease_output(const nlohmann::json& output, const runpod::Job& job);

// Returns the first output from a lease job's /status output, which aggregates the
// streamed outputs as [first, final]; an object with a token counts as the first output.
std::optional<nlohmann::json> first_lease_output(const runpod::Job& job);

// Returns the reason in a lease job's final output {success: true, released: true,
// reason}, "released" when that output has no reason, or "job <STATE>" without one.
std::string lease_release_reason(const runpod::Job& job);

// Returns a job's error text, else its output as JSON, cut to 400 bytes, for messages.
std::string describe_job_failure(const runpod::Job& job);

}  // namespace swarmpod::worker
