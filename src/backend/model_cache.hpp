// The model lists and SwarmUI feature flags of one endpoint's workers, kept on disk so
// SwarmUI can show models and route requests without waking a worker.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cancel.hpp"
#include "core/clock.hpp"

namespace swarmpod::swarm {
class Client;
}

namespace swarmpod::backend {

// SwarmUI's core model subtypes, as ListModels names them.
const std::vector<std::string>& model_subtypes();

// Throws Error(invalid_argument) naming `subtype` and the accepted names unless it is one of model_subtypes().
void check_model_subtype(const std::string& subtype);

// Returns one ListModels entry with every field SwarmUI's model parser reads without
// a fallback: name, title (the name after its last '/' when missing), description "",
// architecture, class, standard_width and standard_height (ints, 0 when missing),
// loaded false, local false, preview_image "imgs/model_placeholder.jpg" and
// is_supported_model_format true. Other fields of the entry are kept. Returns null for
// an entry without a string name.
nlohmann::json normalize_model(const nlohmann::json& entry);

// Thread-safe. The file is `<directory>/models_<endpoint_id>.json`; a corrupt file is
// ignored (logged) and rewritten at the next store.
class ModelCache {
public:
    // `directory` empty keeps the lists in memory only.
    ModelCache(std::string directory, std::string endpoint_id);

    // Returns {"subtype", "source": "cache", "updated_at": <unix seconds or null>, "models": [...]}.
    nlohmann::json list(const std::string& subtype) const;

    // Replaces the list of `subtype` with the normalized `files` of a ListModels reply
    // and writes the file.
    void store(const std::string& subtype, const nlohmann::json& files);

    // Subtypes that have a stored list, in model_subtypes() order.
    std::vector<std::string> cached_subtypes() const;

    // Up to `max_names` cached names of `subtype` closest to `name`: names containing
    // it (ignoring case) first, then by edit distance, leaving out names that share
    // less than half of their characters with it.
    std::vector<std::string> closest_names(const std::string& subtype, const std::string& name,
                                           std::size_t max_names = 3) const;

    // Returns {"features": [...] or null, "updated_at": <unix seconds or null>}: the SwarmUI
    // feature flags last stored for the endpoint's workers; "features" is null before any.
    nlohmann::json features() const;

    // Replaces the stored feature flags with `features` (sorted, duplicates removed) and
    // writes the file.
    void store_features(std::vector<std::string> features);

    const std::string& file_path() const { return path_; }

    // True at most once per `interval`: whether a passing worker should be asked for its
    // model lists and feature flags again. The first call returns true. Thread-safe.
    bool take_refresh_turn(std::chrono::steady_clock::duration interval);

private:
    struct Entry {
        double updated_at = 0;  // unix seconds
        nlohmann::json models = nlohmann::json::array();
    };

    void load();
    void save_locked() const;

    std::string path_;
    std::string endpoint_id_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry> lists_;
    std::optional<std::vector<std::string>> features_;  // empty optional: never read from a worker
    double features_updated_at_ = 0;
    std::optional<std::chrono::steady_clock::time_point> last_refresh_turn_;
};

// Reads `subtype` from the worker (ListModels of the whole tree, local models only),
// stores it in `cache` and returns the cache's answer with "source": "worker". Throws
// Error(worker) "the worker has no models (is the network volume mounted?)" for an
// empty list, leaving the cache as it was.
nlohmann::json refresh_models(swarm::Client& worker, ModelCache& cache, const std::string& subtype,
                              Deadline deadline, const CancelToken* cancel);

// Returns the union of the "features" of the backends whose status is "running" in a
// ListBackends reply, sorted; no value when no backend is running, because the flags of a
// worker whose backends are still loading are incomplete.
std::optional<std::vector<std::string>> running_backend_features(const nlohmann::json& reply);

// Reads the feature flags of the worker's running SwarmUI backends (ListBackends, the call
// SwarmUI's own Swarm-API-Backend uses for a remote SwarmUI) and stores them in `cache`.
// Never throws: a failed call, or a reply without a running backend, is logged at debug
// level and leaves the stored flags as they were. Returns true when it stored them.
bool refresh_features(swarm::Client& worker, ModelCache& cache, Deadline deadline, const CancelToken* cancel) noexcept;

}  // namespace swarmpod::backend
