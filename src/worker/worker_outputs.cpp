#include "worker/worker_outputs.hpp"

#include "core/error.hpp"
#include "core/json_fields.hpp"
#include "worker/protocol.hpp"

namespace swarmpod::worker {

using nlohmann::json;
using runpod::Job;
using runpod::JobState;

namespace {

// Returns the member `key` as text for a message: a string as it is, another value as
// JSON cut to 200 bytes, and `fallback` when it is missing or null.
std::string text_member(const json& object, const char* key, const std::string& fallback) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    if (it->is_string()) return it->get<std::string>();
    std::string text = it->dump();
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    return text;
}

}  // namespace

std::string describe_job_failure(const Job& job) {
    std::string text = job.error;
    if (text.empty() && !job.output.is_null()) text = job.output.dump();
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    return text.empty() ? "no error text" : text;
}

WakeupOutput parse_wakeup_output(const Job& job) {
    if (job.state != JobState::completed) {
        if (is_v2_unknown_action(job)) {
            throw ProtocolMismatch(2, "The worker rejected the v1 'wakeup' action: it runs the v2 (lease) image.");
        }
        throw Error(Status::job_failed, "The RunPod wakeup job " + job.id + " ended " +
                                            runpod::job_state_name(job.state) + ": " + describe_job_failure(job) +
                                            ". Check the worker logs in the RunPod console.");
    }
    // A v2 worker's handler is a generator, so RunPod reports its output as the list of
    // what it yielded. Its rejection of 'wakeup' is then the one object in that list.
    const json& out =
        job.output.is_array() && job.output.size() == 1 && job.output[0].is_object() ? job.output[0] : job.output;
    if (string_member(out, "error_id") == "unknown_action") {
        throw ProtocolMismatch(2, "The worker rejected the v1 'wakeup' action: it runs the v2 (lease) image.");
    }
    if (!true_member(out, "success")) {
        const std::string reason =
            out.is_object() ? text_member(out, "error", "no error text") : describe_job_failure(job);
        throw Error(Status::worker, "The worker reported a failed wakeup: " + reason);
    }
    if (!out.contains("public_url") || !out["public_url"].is_string() || out["public_url"].get<std::string>().empty()) {
        throw Error(Status::bad_response, "The wakeup job " + job.id +
                                              " completed without the worker's public_url; the endpoint does not run "
                                              "a SwarmUI RunPod worker image.");
    }
    WakeupOutput wakeup;
    wakeup.public_url = out["public_url"].get<std::string>();
    wakeup.worker_id = string_member(out, "worker_id", job.worker_id);
    if (wakeup.worker_id.empty()) wakeup.worker_id = job.worker_id;
    return wakeup;
}

LeaseOutput parse_lease_output(const json& out, const Job& job) {
    if (!out.is_object()) {
        throw Error(Status::bad_response, "The lease job " + job.id + " streamed " + out.dump().substr(0, 200) +
                                              " instead of a lease object.");
    }
    const std::string error_id = string_member(out, "error_id");
    const std::string error_text = string_member(out, "error");
    if (error_id == "unknown_action" || error_text.find("Unknown action") == 0) {
        // The v1 image answers "Unknown action: lease"; the v2 image names the action in quotes.
        if (error_text.find("Unknown action: lease") != std::string::npos) {
            throw ProtocolMismatch(1, "The worker does not know the 'lease' action: it runs the v1 image.");
        }
    }
    if (!true_member(out, "success")) {
        const std::string reason = text_member(out, "error", "no error text");
        if (reason.find("Unknown action: lease") != std::string::npos) {
            throw ProtocolMismatch(1, "The worker does not know the 'lease' action: it runs the v1 image.");
        }
        throw Error(Status::worker, "The RunPod worker refused the lease: " + reason +
                                        (out.contains("error_id") ? " (error_id " + text_member(out, "error_id", "") + ")" : ""));
    }
    LeaseOutput lease;
    lease.protocol = int_member(out, "protocol", 0);
    lease.public_url = string_member(out, "public_url");
    lease.token = string_member(out, "token");
    if (lease.protocol < 2 || lease.public_url.empty() || lease.token.empty()) {
        throw Error(Status::worker,
                    "The RunPod worker's lease output has no protocol 2 URL and token: the worker image is too old. "
                    "Point the endpoint at a SwarmUI worker image with leases (2.0.0 or later), or set WorkerProtocol "
                    "to \"v1\".");
    }
    lease.worker_id = string_member(out, "worker_id", job.worker_id);
    if (lease.worker_id.empty()) lease.worker_id = job.worker_id;
    auto limit = [&](const char* key) -> std::optional<double> {
        const json& value = out.contains(key) ? out[key] : json();
        if (!value.is_number()) return std::nullopt;
        return value.get<double>();
    };
    lease.idle_seconds = limit("idle_seconds");
    lease.startup_grace_seconds = limit("startup_grace_seconds");
    lease.max_lease_seconds = limit("max_lease_seconds");
    return lease;
}

std::optional<json> first_lease_output(const Job& job) {
    if (job.output.is_array() && !job.output.empty()) return job.output.front();
    if (job.output.is_object() && job.output.contains("token")) return job.output;
    return std::nullopt;
}

namespace {

// The `reason` of a release chunk, or "released" when it is missing, not text or empty.
std::string release_reason_of(const json& chunk) {
    std::string reason = string_member(chunk, "reason", "released");
    return reason.empty() ? "released" : reason;
}

}  // namespace

std::string lease_release_reason(const Job& job) {
    if (job.output.is_array()) {
        for (const json& chunk : job.output) {
            if (true_member(chunk, "released")) return release_reason_of(chunk);
        }
    }
    if (true_member(job.output, "released")) return release_reason_of(job.output);
    return std::string("job ") + runpod::job_state_name(job.state);
}

}  // namespace swarmpod::worker
