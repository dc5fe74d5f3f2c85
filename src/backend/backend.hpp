// Backend: one configured endpoint. Orchestrates a generation from request to images:
// key choice, worker acquisition, the call to the worker's SwarmUI, image validation,
// and release of every billed job.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/duration_stats.hpp"
#include "backend/config.hpp"
#include "backend/model_cache.hpp"
#include "backend/progress.hpp"
#include "core/cancel.hpp"
#include "http/client.hpp"
#include "worker/job_journal.hpp"
#include "worker/job_tracker.hpp"
#include "worker/pool.hpp"
#include "worker/protocol_memory.hpp"

namespace swarmpod::backend {

class Backend {
public:
    explicit Backend(Config config);
    ~Backend();
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    // Runs one generation on the calling thread; callbacks run on this thread too.
    // `summary` is filled as the generation proceeds, on success and on failure.
    // Throws Error on failure after ending every job it started.
    void generate(const std::string& request_json, const std::string& call_api_key, CancelToken& cancel,
                  const Callbacks& callbacks, nlohmann::json& summary);

    // Reads /health and classifies it. Starts no job.
    nlohmann::json endpoint_health(const std::string& call_api_key);

    // Status snapshot: workers, counts, GPU-seconds, last error; never a key or token.
    nlohmann::json status();

    // Releases a held worker now, or after its current generation. False when no pool holds it.
    bool stop_worker(const std::string& worker_id);

    // Cancels running generations, waits for them to return (bounded), and cancels
    // every job still tracked. Idempotent; the destructor calls it.
    void shutdown() noexcept;

    const Config& config() const { return config_; }

    // Returns the models of one subtype as swarmpod_backend_list_models describes.
    // refresh false reads only the cache and never starts a worker; refresh true reads
    // the list from a worker (starting one if none is warm) and updates the cache.
    nlohmann::json list_models(const std::string& subtype, bool refresh, const std::string& call_api_key);

    // Returns the stored SwarmUI feature flags of the endpoint's workers, as
    // swarmpod_backend_features describes. Never starts a worker.
    nlohmann::json features() const { return models_->features(); }

private:
    std::string choose_api_key(const std::string& call_api_key) const;
    void register_generation(CancelToken* cancel);
    void unregister_generation(CancelToken* cancel);
    worker::WorkerPool& pool_for(const std::string& api_key);
    void clean_orphans_async(const std::string& api_key);
    // Loads the worker protocols detected by earlier runs from <directory>/protocols.json
    // and saves each new detection there.
    void remember_protocols(const std::string& directory);
    // Looks for a per-call key's orphans the first time that key is used (mutex_ held).
    void clean_orphans_once_locked(const std::string& api_key);

    Config config_;
    std::unique_ptr<http::Client> http_;
    std::unique_ptr<worker::JobJournal> journal_;
    std::unique_ptr<DurationStats> cold_starts_;
    std::unique_ptr<DurationStats> generation_times_;
    worker::JobTracker jobs_;
    worker::ProtocolMemory protocols_;

    std::mutex mutex_;
    std::condition_variable idle_;
    std::set<CancelToken*> running_;
    std::set<std::string> orphan_checked_keys_;  // per-call keys whose orphans were looked for
    bool shutting_down_ = false;
    std::atomic<bool> shut_down_{false};  // the first shutdown() finished; later calls return at once
    // One pool per API key, so one user's key never serves another user's request.
    std::map<std::string, std::unique_ptr<worker::WorkerPool>> pools_;
    double session_gpu_seconds_ = 0;
    int generations_done_ = 0;
    std::string last_error_;
    std::vector<std::thread> background_;  // orphan clean-ups, joined at shutdown

    // Model lists: the cache, and the worker checkout that a refresh uses.
    void with_worker(const std::string& api_key, CancelToken& cancel,
                     const std::function<void(const worker::Lease&)>& use);
    std::unique_ptr<ModelCache> models_;
};

// A short stable fingerprint of an API key, for grouping and logs; never the key.
std::string key_fingerprint(const std::string& api_key);

}  // namespace swarmpod::backend
