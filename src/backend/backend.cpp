#include "backend/backend.hpp"

#include "backend/forward.hpp"

#include <cmath>
#include <cstdio>
#include <functional>

#include "log/log.hpp"
#include "media/image.hpp"
#include "runpod/client.hpp"
#include "runpod/diagnosis.hpp"
#include "swarm/client.hpp"
#include "worker/v1_worker.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

constexpr int kMaxImagesPerRequest = 100;
// How long shutdown waits for running generations to notice cancellation.
constexpr Millis kShutdownWait{10000};

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

class ScopeExit {
public:
    explicit ScopeExit(std::function<void()> action) : action_(std::move(action)) {}
    ~ScopeExit() {
        if (action_) action_();
    }
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;

private:
    std::function<void()> action_;
};

}  // namespace

std::string key_fingerprint(const std::string& api_key) {
    // FNV-1a, shortened: enough to tell keys apart in logs and pool names, useless to
    // recover the key.
    uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned char c : api_key) {
        hash ^= c;
        hash *= 0x100000001b3ull;
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return std::string("key-") + std::string(text, 8);
}

Backend::Backend(Config config) : config_(std::move(config)) {
    http::ClientOptions options;
    options.ca_bundle = config_.ca_bundle;
    options.user_agent = "swarmpod/0.1";
    http_ = std::make_unique<http::Client>(options);
    if (!config_.api_key.empty()) log::add_secret(config_.api_key);
    SP_INFO("Backend created for endpoint {} ({})", config_.endpoint_id, config_.api_base_url);
}

Backend::~Backend() { shutdown(); }

std::string Backend::choose_api_key(const std::string& call_api_key) const {
    // The backend's own key comes first, so an administrator's endpoint key is used for
    // everyone; the requesting user's key is the fallback.
    if (!config_.api_key.empty()) return config_.api_key;
    if (!call_api_key.empty()) return call_api_key;
    throw Error(Status::no_api_key,
                "RunPod API key not found: set it in User Settings → API Keys, or in the backend settings "
                "(RunPodApiKey).");
}

void Backend::register_generation(CancelToken* cancel) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutting_down_) throw Error(Status::shutting_down, "The backend is shutting down and takes no new generations.");
    running_.insert(cancel);
}

void Backend::unregister_generation(CancelToken* cancel) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        running_.erase(cancel);
    }
    idle_.notify_all();
}

void Backend::generate(const std::string& request_json, const std::string& call_api_key, CancelToken& cancel,
                       const Callbacks& callbacks, json& summary) {
    const Clock::time_point started = Clock::now();
    summary = json{{"status", "running"}, {"endpoint_id", config_.endpoint_id}, {"images", json::array()}};

    register_generation(&cancel);
    ScopeExit unregister([&] { unregister_generation(&cancel); });

    const std::string api_key = choose_api_key(call_api_key);
    log::add_secret(api_key);

    json request = json::parse(request_json, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
        throw Error(Status::invalid_argument,
                    "The generation request is not a JSON object; pass a SwarmUI GenerateText2Image body such as "
                    "{\"prompt\": \"a cat\", \"images\": 1}.");
    }
    int images = 1;
    if (request.contains("images")) {
        const json& value = request["images"];
        const bool whole = value.is_number_integer() ||
                           (value.is_string() && !value.get<std::string>().empty() &&
                            value.get<std::string>().find_first_not_of("0123456789") == std::string::npos);
        long long count = !whole ? -1 : value.is_string() ? std::stoll(value.get<std::string>()) : value.get<long long>();
        if (count < 1 || count > kMaxImagesPerRequest) {
            throw Error(Status::invalid_argument, "The request field 'images' must be a whole number from 1 to " +
                                                      std::to_string(kMaxImagesPerRequest) + ", got " + value.dump() +
                                                      ".");
        }
        images = static_cast<int>(count);
    }

    const EmitFn emit = [&](Phase phase, const std::string& message, const std::string& worker_id, double overall,
                            double current) {
        if (!callbacks.on_progress) return;
        ProgressEvent event;
        event.phase = phase;
        event.elapsed_seconds = seconds_between(started, Clock::now());
        event.message = message;
        event.worker_id = worker_id;
        event.overall_percent = overall;
        event.current_percent = current;
        if (!callbacks.on_progress(event)) cancel.cancel();
    };

    if (config_.worker_protocol == WorkerProtocol::v2) {
        // NOTE: only protocol v1 (wakeup + keepalive) is implemented so far; v2 lease
        // workers answer v1 actions with an unknown-action error.
        throw Error(Status::invalid_config,
                    "WorkerProtocol \"v2\" is not supported by this version of swarmpod yet; use \"v1\" or \"auto\".");
    }

    runpod::Client runpod_client(*http_, runpod::EndpointConfig{config_.api_base_url, config_.endpoint_id, api_key});
    worker::V1Protocol protocol(runpod_client, jobs_, api_key);
    worker::V1Options options;
    options.max_poll_interval = Millis(config_.poll_interval_ms);
    options.startup_deadline = Deadline::in(std::chrono::seconds(config_.startup_timeout_sec));
    // The keepalive must outlast the generation; cancelling it ends it early.
    options.keepalive_seconds = config_.generation_timeout_sec + 60;
    options.url_policy.allow_insecure_loopback = config_.allow_insecure_worker_urls;

    auto report = [&](int phase, const std::string& message, const std::string& worker_id) {
        emit(static_cast<Phase>(phase), message, worker_id, -1, -1);
    };
    worker::Lease lease = protocol.acquire(options, report, cancel);
    summary["worker_id"] = lease.worker_id;
    summary["jobs"] = json{{"wakeup", lease.wakeup_job_id}, {"keepalive", lease.hold_job_id}};
    summary["protocol"] = lease.protocol;

    auto finish_summary = [&] {
        const Clock::time_point now = Clock::now();
        const double startup = seconds_between(lease.requested_at, lease.ready_at);
        const double held = seconds_between(lease.ready_at, lease.released_at == Clock::time_point{} ? now
                                                                                                     : lease.released_at);
        // RunPod bills from worker start to stop per second, rounded up. We see the
        // start only as our wakeup's wait, so this is an estimate that leaves out the
        // endpoint's idle tail after release.
        const double gpu_seconds = std::ceil(startup + held);
        summary["released"] = lease.hold_job_id.empty();
        summary["timings"] = json{{"startup_seconds", startup},
                                  {"queue_seconds", lease.queue_seconds},
                                  {"held_seconds", held},
                                  {"total_seconds", seconds_between(started, now)}};
        summary["gpu_seconds"] = gpu_seconds;
        summary["estimated_cost"] = gpu_seconds * config_.cost_per_gpu_second;
    };

    try {
        const Clock::time_point generating_at = Clock::now();
        const ForwardContext context{*http_, config_, lease, cancel, callbacks, emit, summary};
        const int delivered = forward_generation(context, std::move(request), images);
        const double generation_seconds = seconds_between(generating_at, Clock::now());
        protocol.release(lease);
        finish_summary();
        summary["timings"]["generation_seconds"] = generation_seconds;
        summary["status"] = "ok";
        emit(Phase::done, "Done: " + std::to_string(delivered) + " image(s)", lease.worker_id, 1.0, 1.0);
    } catch (...) {
        protocol.release(lease);
        finish_summary();
        throw;
    }
}

json Backend::endpoint_health(const std::string& call_api_key) {
    const std::string api_key = choose_api_key(call_api_key);
    log::add_secret(api_key);
    runpod::Client client(*http_, runpod::EndpointConfig{config_.api_base_url, config_.endpoint_id, api_key});
    const runpod::Health health = client.health(Deadline::in(Millis(20000)));
    const runpod::Diagnosis diagnosis = runpod::diagnose(health);
    return json{{"endpoint_id", config_.endpoint_id},
                {"jobs",
                 {{"completed", health.jobs_completed},
                  {"failed", health.jobs_failed},
                  {"inProgress", health.jobs_in_progress},
                  {"inQueue", health.jobs_in_queue},
                  {"retried", health.jobs_retried}}},
                {"workers",
                 {{"idle", health.workers_idle},
                  {"initializing", health.workers_initializing},
                  {"ready", health.workers_ready},
                  {"running", health.workers_running},
                  {"throttled", health.workers_throttled},
                  {"unhealthy", health.workers_unhealthy}}},
                {"diagnosis", diagnosis.code},
                {"message", diagnosis.message}};
}

void Backend::shutdown() noexcept {
    try {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!shutting_down_) SP_INFO("Shutting down backend for endpoint {}", config_.endpoint_id);
        shutting_down_ = true;
        for (CancelToken* token : running_) token->cancel();
        if (!idle_.wait_for(lock, kShutdownWait, [this] { return running_.empty(); })) {
            SP_ERROR("{} generation(s) did not stop within {} s of shutdown", running_.size(),
                     kShutdownWait.count() / 1000);
        }
    } catch (const std::exception& error) {
        SP_ERROR("Shutdown wait failed: {}", error.what());
    }
    // Generations release their own jobs; anything still tracked was left behind by a
    // failure to cancel and gets one more try here.
    for (const worker::TrackedJob& job : jobs_.snapshot()) {
        try {
            runpod::Client client(*http_, runpod::EndpointConfig{config_.api_base_url, job.endpoint_id, job.api_key});
            client.cancel(job.job_id, Deadline::in(Millis(5000)));
            jobs_.remove(job.job_id);
            SP_INFO("Cancelled leftover {} job {} at shutdown", job.kind, job.job_id);
        } catch (const std::exception& error) {
            SP_ERROR("Could not cancel leftover job {} at shutdown: {}; cancel it in the RunPod console", job.job_id,
                     error.what());
        }
    }
}

}  // namespace swarmpod::backend
