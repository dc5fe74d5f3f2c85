#include "backend/backend.hpp"

#include "backend/duration_stats.hpp"
#include "backend/forward.hpp"

#include <cmath>
#include <cstdio>
#include <functional>

#include "log/log.hpp"
#include "media/image.hpp"
#include "runpod/client.hpp"
#include "runpod/diagnosis.hpp"
#include "swarm/client.hpp"
#include "worker/job_journal.hpp"
#include "worker/pool.hpp"
#include "worker/protocol.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

constexpr int kMaxImagesPerRequest = 100;
// How long shutdown waits for running generations to notice cancellation.
constexpr Millis kShutdownWait{10000};
// How long shutdown spends ending RunPod jobs, all pools at once.
constexpr Millis kEndJobsWithin{15000};
// How often a busy backend writes generation_times.json; the last samples are written
// when the backend is freed. Cold starts are rare, so each is written at once.
constexpr Millis kGenerationTimesSaveInterval{30000};

// Reads a count field of the request ("images" or "batchsize"): absent means 1, and a
// present value must be a whole number (or a string of digits, as SwarmUI accepts) from 1
// to kMaxImagesPerRequest. Throws Error(invalid_argument) naming the field.
int read_image_count(const json& request, const char* field) {
    const auto found = request.find(field);
    if (found == request.end()) return 1;
    const json& value = *found;
    const bool whole = value.is_number_integer() ||
                       (value.is_string() && !value.get<std::string>().empty() &&
                        value.get<std::string>().size() <= 18 &&
                        value.get<std::string>().find_first_not_of("0123456789") == std::string::npos);
    const long long count = !whole              ? -1
                            : value.is_string() ? std::stoll(value.get<std::string>())
                                                : value.get<long long>();
    if (count < 1 || count > kMaxImagesPerRequest) {
        throw Error(Status::invalid_argument, std::string("The request field '") + field +
                                                  "' must be a whole number from 1 to " +
                                                  std::to_string(kMaxImagesPerRequest) + ", got " + value.dump() + ".");
    }
    return static_cast<int>(count);
}

// Returns why `text` is not JSON, as " (...)" to append to a message, or "" when it parses.
// The parser's own message is not quoted, because it repeats the bytes it read, which may
// not be UTF-8.
std::string describe_parse_failure(const std::string& text) {
    try {
        const json parsed = json::parse(text);
        if (parsed.is_object()) return "";
    } catch (const json::parse_error& error) {
        const std::string where = "byte " + std::to_string(error.byte);
        if (std::string(error.what()).find("UTF-8") != std::string::npos) {
            return " (it is not valid UTF-8 at " + where + ")";
        }
        return " (invalid JSON at " + where + ")";
    } catch (const std::exception&) {
        return " (invalid JSON)";
    }
    return "";
}

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
    return worker::key_fingerprint(api_key);
}

Backend::Backend(Config config) : config_(std::move(config)) {
    http::ClientOptions options;
    options.ca_bundle = config_.ca_bundle;
    options.user_agent = "swarmpod/0.1";
    http_ = std::make_unique<http::Client>(options);
    if (!config_.api_key.empty()) log::add_secret(config_.api_key);
    journal_ = std::make_unique<worker::JobJournal>(cache_directory(config_.model_cache_path));
    cold_starts_ = std::make_unique<DurationStats>(cache_directory(config_.model_cache_path), "cold_starts.json",
                                                   "cold-start");
    generation_times_ = std::make_unique<DurationStats>(cache_directory(config_.model_cache_path),
                                                        "generation_times.json", "generation-time",
                                                        kGenerationTimesSaveInterval);
    jobs_.set_journal(journal_.get());
    if (!config_.api_key.empty()) clean_orphans_async(config_.api_key);
    models_ = std::make_unique<ModelCache>(cache_directory(config_.model_cache_path), config_.endpoint_id);
    remember_protocols(cache_directory(config_.model_cache_path));
    SP_INFO("Backend created for endpoint {} ({})", config_.endpoint_id, config_.api_base_url);
}

void Backend::remember_protocols(const std::string& directory) {
    if (directory.empty()) return;
    const std::string path = directory + "/protocols.json";
    const std::optional<json> saved = read_json_file(path);
    if (saved && saved->is_object()) {
        for (const auto& [endpoint, protocol] : saved->items()) {
            if (protocol.is_number_integer() && (protocol == 1 || protocol == 2)) {
                protocols_.set(endpoint, protocol.get<int>());
            }
        }
    } else if (saved) {
        SP_WARN("Ignoring {}: it is not a JSON object; it is rewritten at the next detection", path);
    }
    protocols_.set_persist([path](const std::map<std::string, int>& all) {
        const std::string failure = write_file_atomically(path, json(all).dump());
        if (!failure.empty()) SP_WARN("Could not save the detected worker protocols to {}: {}", path, failure);
    });
}

Backend::~Backend() {
    shutdown();
}

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
    if (shutting_down_)
        throw Error(Status::shutting_down, "The backend is shutting down and takes no new generations.");
    running_.insert(cancel);
}

void Backend::unregister_generation(CancelToken* cancel) {
    // Notified under the lock: once the last generation is gone, shutdown may free this
    // backend, so nothing here may touch it after the lock is released.
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(cancel);
    idle_.notify_all();
}

void Backend::generate(const std::string& request_json, const std::string& call_api_key, CancelToken& cancel,
                       const Callbacks& callbacks, json& summary) {
    const Clock::time_point started = Clock::now();
    summary = json{{"status", "running"}, {"endpoint_id", config_.endpoint_id}, {"images", json::array()}};

    register_generation(&cancel);
    ScopeExit unregister([&] { unregister_generation(&cancel); });
    // A handle cancelled before the call touches no worker: a warm one stays warm.
    if (cancel.cancelled()) throw Error(Status::cancelled, "The generation was cancelled before it started.");

    const std::string api_key = choose_api_key(call_api_key);
    log::add_secret(api_key);

    json request = json::parse(request_json, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
        throw Error(Status::invalid_argument, "The generation request is not a JSON object" +
                                                  describe_parse_failure(request_json) +
                                                  "; pass a SwarmUI GenerateText2Image body such as "
                                                  "{\"prompt\": \"a cat\", \"images\": 1}.");
    }
    // SwarmUI runs `images` jobs of `batchsize` images each, so that product is what comes back.
    const int images = read_image_count(request, "images");
    const int batch_size = read_image_count(request, "batchsize");
    if (images * batch_size > kMaxImagesPerRequest) {
        throw Error(Status::invalid_argument,
                    "The request asks for " + std::to_string(images * batch_size) + " images ('images' " +
                        std::to_string(images) + " times 'batchsize' " + std::to_string(batch_size) +
                        "), more than the " + std::to_string(kMaxImagesPerRequest) +
                        " allowed per request; lower 'images' or 'batchsize'.");
    }
    // The model name is logged, matched against the cached list and sent to the worker.
    if (request.contains("model") && !request["model"].is_string()) {
        throw Error(Status::invalid_argument, "The request field 'model' must be a model name as a string, such as "
                                              "\"OfficialStableDiffusion/sd_xl_base_1.0\", got " +
                                                  request["model"].dump() + ".");
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

    worker::WorkerPool& pool = pool_for(api_key);
    auto report = [&](int phase, const std::string& message, const std::string& worker_id) {
        emit(static_cast<Phase>(phase), message, worker_id, -1, -1);
    };

    // A v2 worker that released itself answers 401 worker_unauthorized; the request then
    // gets another worker once. Other failures end the generation.
    constexpr int kMaxWorkerGoneRetries = 2;
    constexpr int kMaxTransientRetries = 5;
    int gone_retries = 0;
    int transient_retries = 0;
    const Deadline generation_deadline = Deadline::in(std::chrono::seconds(config_.generation_timeout_sec));
    while (true) {
        worker::Checkout checkout = pool.acquire(cancel, report);
        const worker::Lease& lease = checkout.lease;
        summary["worker_id"] = lease.worker_id;
        summary["protocol"] = lease.protocol;
        summary["jobs"] = json{{"hold", lease.hold_job_id}};
        if (!lease.wakeup_job_id.empty()) summary["jobs"]["wakeup"] = lease.wakeup_job_id;
        summary["jobs"][lease.protocol == 2 ? "lease" : "keepalive"] = lease.hold_job_id;

        const Clock::time_point generating_at = Clock::now();
        bool healthy = true;
        bool get_another_worker = false;
        while (!get_another_worker) {  // attempts on this worker
            try {
                const double gpu_seconds_before =
                    (checkout.was_warm ? 0.0 : checkout.waited_seconds) + checkout.warm_idle_seconds;
                const ForwardContext context{*http_,  config_, lease,         cancel,
                                             callbacks, emit,   summary,       started,
                                             models_.get(), gpu_seconds_before, &checkout.lease.session_id,
                                             &checkout.lease.spare_socket};
                const int delivered = forward_generation(context, request, ImageCount{images, batch_size});
                const double generation_seconds = seconds_between(generating_at, Clock::now());
                pool.release(checkout, worker::WorkerPool::ReleaseMode::keep_warm);
                // GPU time of this generation, and its share of the worker's cold start and
                // warm idle time, as estimates of what RunPod bills.
                const double cold_start_share = checkout.was_warm ? 0.0 : checkout.waited_seconds;
                const double gpu_seconds = generation_seconds + cold_start_share + checkout.warm_idle_seconds;
                summary["timings"] = json{{"wait_seconds", checkout.waited_seconds},
                                          {"generation_seconds", generation_seconds},
                                          {"total_seconds", seconds_between(started, Clock::now())}};
                summary["gpu_seconds"] = gpu_seconds;
                summary["cold_start_seconds"] = cold_start_share;
                summary["warm_idle_seconds"] = checkout.warm_idle_seconds;
                summary["estimated_cost"] = gpu_seconds * config_.cost_per_gpu_second;
                summary["released"] = config_.keep_warm_sec == 0;
                summary["kept_warm_seconds"] = config_.keep_warm_sec;
                summary["status"] = "ok";
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    session_gpu_seconds_ += gpu_seconds;
                    ++generations_done_;
                }
                emit(Phase::done, "Done: " + std::to_string(delivered) + " image(s)", lease.worker_id, 1.0, 1.0);
                return;
            } catch (const Error& error) {
                // The v2 gateway reports its SwarmUI as starting (503) or briefly unreachable (502):
                // wait as it asks, within the generation deadline, and send the request again.
                if (swarm::is_worker_transient(error) && !cancel.cancelled() && summary["images"].empty() &&
                    ++transient_retries <= kMaxTransientRetries && !generation_deadline.expired()) {
                    const auto* worker_error = dynamic_cast<const swarm::WorkerError*>(&error);
                    Millis wait = worker_error != nullptr && worker_error->retry_after() > Millis(0)
                                      ? worker_error->retry_after()
                                      : Millis(1000);
                    wait = std::min({wait, Millis(5000), generation_deadline.remaining()});
                    SP_INFO("Worker {} is not ready yet ({}); trying again in {} ms", lease.worker_id, error.what(),
                            wait.count());
                    if (!cancel.wait_for(wait)) continue;
                }
                const bool lease_ended = swarm::is_lease_ended(error);
                // Only a worker that is gone is dropped. A timeout (a proxy cut, a slow model)
                // or a worker error leaves a worker that can serve the next request.
                healthy = !lease_ended && error.status() != Status::network;
                pool.release(checkout, !healthy ? worker::WorkerPool::ReleaseMode::broken
                                       : error.status() == Status::cancelled
                                           ? worker::WorkerPool::ReleaseMode::cancelled
                                           : worker::WorkerPool::ReleaseMode::keep_warm);
                summary["timings"] = json{{"wait_seconds", checkout.waited_seconds},
                                          {"total_seconds", seconds_between(started, Clock::now())}};
                {
                    std::lock_guard<std::mutex> lock(mutex_);
                    last_error_ = error.what();
                }
                const bool nothing_delivered = !cancel.cancelled() && summary["images"].empty();
                // A warm worker can end between generations (its lease released, the worker
                // stopped). When nothing was delivered yet, the request gets another worker.
                const bool worker_gone = lease_ended || error.status() == Status::network;
                if (worker_gone && nothing_delivered && ++gone_retries <= kMaxWorkerGoneRetries) {
                    SP_INFO("Worker {} is gone ({}); getting another worker", lease.worker_id, error.what());
                    get_another_worker = true;
                    continue;
                }
                throw;
            } catch (...) {
                pool.release(checkout, worker::WorkerPool::ReleaseMode::broken);
                throw;
            }
        }
    }
}

worker::WorkerPool& Backend::pool_for(const std::string& api_key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = pools_.find(api_key);
    if (found != pools_.end()) return *found->second;
    worker::PoolSettings settings;
    settings.max_workers = config_.max_concurrent;
    settings.keep_warm_sec = config_.keep_warm_sec;
    settings.max_poll_interval = Millis(config_.poll_interval_ms);
    settings.startup_timeout_sec = config_.startup_timeout_sec;
    settings.generation_timeout_sec = config_.generation_timeout_sec;
    settings.forced_protocol = config_.worker_protocol == WorkerProtocol::v1   ? 1
                               : config_.worker_protocol == WorkerProtocol::v2 ? 2
                                                                               : 0;
    settings.url_policy.allow_insecure_loopback = config_.allow_insecure_worker_urls;
    settings.cold_start_estimate = [this] { return cold_starts_->estimate(config_.endpoint_id); };
    settings.record_cold_start = [this](double seconds) { cold_starts_->record(config_.endpoint_id, seconds); };
    settings.generation_estimate = [this] { return generation_times_->estimate(config_.endpoint_id); };
    settings.record_generation = [this](double seconds) { generation_times_->record(config_.endpoint_id, seconds); };
    auto pool = std::make_unique<worker::WorkerPool>(
        *http_, runpod::EndpointConfig{config_.api_base_url, config_.endpoint_id, api_key}, settings, jobs_,
        protocols_);
    worker::WorkerPool& result = *pool;
    pools_.emplace(api_key, std::move(pool));
    clean_orphans_once_locked(api_key);
    SP_DEBUG("Created the worker pool for endpoint {} and key {}", config_.endpoint_id, key_fingerprint(api_key));
    return result;
}

json Backend::status() {
    std::lock_guard<std::mutex> lock(mutex_);
    json workers = json::array();
    int warm = 0, starting = 0, in_use = 0;
    double billed = 0;
    std::string last_error = last_error_;
    std::string notice;
    json released = json::array();
    for (const auto& [key, pool] : pools_) {
        json pool_status = pool->status();
        for (auto& worker : pool_status["workers"]) {
            worker["pool"] = key_fingerprint(key);
            workers.push_back(worker);
        }
        for (auto& lease : pool_status["released_leases"]) {
            lease["pool"] = key_fingerprint(key);
            released.push_back(lease);
        }
        warm += pool_status.value("warm", 0);
        starting += pool_status.value("starting", 0);
        in_use += pool_status.value("in_use", 0);
        billed += pool_status.value("estimated_billed_seconds", 0.0);
        if (last_error.empty()) last_error = pool_status.value("last_error", "");
        if (notice.empty()) notice = pool_status.value("single_worker_reason", "");
    }
    const int protocol = protocols_.get(config_.endpoint_id);
    return json{{"endpoint_id", config_.endpoint_id},
                {"status", shutting_down_ ? "shutting_down" : "running"},
                {"protocol", protocol == 0 ? std::string(worker_protocol_name(config_.worker_protocol))
                                           : "v" + std::to_string(protocol)},
                {"workers", workers},
                {"released_leases", released},
                {"workers_warm", warm},
                {"workers_starting", starting},
                {"workers_in_use", in_use},
                {"max_workers", config_.max_concurrent},
                {"running_generations", running_.size()},
                {"generations", generations_done_},
                {"session_gpu_seconds", session_gpu_seconds_},
                {"estimated_billed_seconds", billed},
                {"estimated_cost", billed * config_.cost_per_gpu_second},
                {"last_error", last_error},
                {"notice", notice},
                {"config", describe_config(config_)}};
}

void Backend::clean_orphans_once_locked(const std::string& api_key) {
    // The backend's own key was handled when the backend was created.
    if (api_key == config_.api_key || !orphan_checked_keys_.insert(api_key).second) return;
    clean_orphans_async(api_key);
}

void Backend::clean_orphans_async(const std::string& api_key) {
    // Runs beside the caller: cancelling needs RunPod, and creating a backend or starting
    // a generation must not wait for it.
    background_.emplace_back([this, api_key] {
        try {
            runpod::Client client(*http_, runpod::EndpointConfig{config_.api_base_url, config_.endpoint_id, api_key});
            journal_->clean_orphans(
                config_.endpoint_id, key_fingerprint(api_key), [&](const worker::JournalEntry& entry) {
                    try {
                        const runpod::Job job = client.cancel(entry.job_id, Deadline::in(Millis(10000)));
                        return runpod::is_terminal(job.state);
                    } catch (const Error& error) {
                        // Expired or unknown: nothing runs any more.
                        return error.status() == Status::not_found;
                    }
                });
        } catch (const std::exception& error) {
            SP_WARN("Cleaning up jobs left by an earlier run failed: {}", error.what());
        }
    });
}

bool Backend::stop_worker(const std::string& worker_id) {
    std::vector<worker::WorkerPool*> pools;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& [key, pool] : pools_) pools.push_back(pool.get());
    }
    for (worker::WorkerPool* pool : pools) {
        if (pool->stop_worker(worker_id)) return true;
    }
    return false;
}

json Backend::endpoint_health(const std::string& call_api_key) {
    const std::string api_key = choose_api_key(call_api_key);
    log::add_secret(api_key);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!shutting_down_) clean_orphans_once_locked(api_key);
    }
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
    if (shut_down_) return;
    try {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!shutting_down_) SP_INFO("Shutting down backend for endpoint {}", config_.endpoint_id);
        shutting_down_ = true;
        for (CancelToken* token : running_) token->cancel();
        if (!idle_.wait_for(lock, kShutdownWait, [this] { return running_.empty(); })) {
            SP_ERROR("{} generation(s) did not stop within {} s of shutdown (a host callback that does not return "
                     "holds them); their workers are ended now, and the backend is freed when they return",
                     running_.size(), kShutdownWait.count() / 1000);
        }
    } catch (const std::exception& error) {
        SP_ERROR("Shutdown wait failed: {}", error.what());
    }
    // End every held worker, then retry any job whose end was not confirmed.
    std::map<std::string, std::unique_ptr<worker::WorkerPool>> pools;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pools.swap(pools_);
    }
    // Every pool ends its workers at the same time, within one shared bound, so that
    // freeing the backend takes about kEndJobsWithin even when RunPod does not respond.
    const Deadline jobs_deadline = Deadline::in(kEndJobsWithin);
    std::vector<std::thread> pool_enders;
    for (auto& [key, pool] : pools) {
        worker::WorkerPool* target = pool.get();
        try {
            pool_enders.emplace_back([target] { target->shutdown(kEndJobsWithin); });
        } catch (const std::exception&) {
            target->shutdown(kEndJobsWithin);
        }
    }
    for (auto& ender : pool_enders) ender.join();
    // A generation still running (its host callback has not returned) uses its pool and
    // this backend, so both live until it returns. Its worker is already ended above.
    try {
        std::unique_lock<std::mutex> lock(mutex_);
        idle_.wait(lock, [this] { return running_.empty(); });
    } catch (const std::exception& error) {
        SP_ERROR("Shutdown wait failed: {}", error.what());
    }
    pools.clear();
    std::vector<std::thread> background;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        background.swap(background_);
    }
    for (auto& thread : background) {
        if (thread.joinable()) thread.join();
    }
    for (const worker::TrackedJob& job : jobs_.snapshot()) {
        try {
            if (jobs_deadline.expired()) {
                throw Error(Status::timeout, "RunPod did not confirm earlier cancels in time");
            }
            runpod::Client client(*http_, runpod::EndpointConfig{config_.api_base_url, job.endpoint_id, job.api_key});
            client.cancel(job.job_id, jobs_deadline);
            jobs_.remove(job.job_id);
            SP_INFO("Cancelled leftover {} job {} at shutdown", job.kind, job.job_id);
        } catch (const std::exception& error) {
            SP_ERROR("Could not cancel leftover job {} at shutdown: {} Cancel it in the RunPod console; the next "
                     "start with this key and cache folder cancels it too.",
                     job.job_id, worker::with_period(error.what()));
        }
    }
    shut_down_ = true;
}

// ------------------------------------------------------------- model lists

json Backend::list_models(const std::string& subtype, bool refresh, const std::string& call_api_key) {
    check_model_subtype(subtype);
    if (!refresh) return models_->list(subtype);

    const std::string api_key = choose_api_key(call_api_key);
    log::add_secret(api_key);
    CancelToken cancel;
    register_generation(&cancel);
    ScopeExit unregister([&] { unregister_generation(&cancel); });
    json answer;
    with_worker(api_key, cancel, [&](const worker::Lease& lease) {
        swarm::Client worker(*http_, swarm::WorkerAddress{lease.public_url, lease.token});
        answer = refresh_models(worker, *models_, subtype,
                                Deadline::in(std::chrono::seconds(config_.generation_timeout_sec)), &cancel);
        answer["worker_id"] = lease.worker_id;
        refresh_features(worker, *models_, Deadline::in(Millis(2000)), &cancel);
    });
    return answer;
}

// Checks out a worker from the key's pool for `use` and gives it back, as generate does.
void Backend::with_worker(const std::string& api_key, CancelToken& cancel,
                          const std::function<void(const worker::Lease&)>& use) {
    worker::WorkerPool& pool = pool_for(api_key);
    const worker::LifecycleFn report = [](int, const std::string&, const std::string&) {};
    worker::Checkout checkout = pool.acquire(cancel, report);
    try {
        use(checkout.lease);
    } catch (const Error& error) {
        const bool healthy =
            !swarm::is_lease_ended(error) && error.status() != Status::network && error.status() != Status::timeout;
        pool.release(checkout,
                     healthy ? worker::WorkerPool::ReleaseMode::keep_warm : worker::WorkerPool::ReleaseMode::broken);
        throw;
    } catch (...) {
        pool.release(checkout, worker::WorkerPool::ReleaseMode::broken);
        throw;
    }
    pool.release(checkout, worker::WorkerPool::ReleaseMode::keep_warm);
}

}  // namespace swarmpod::backend
