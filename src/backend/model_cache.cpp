#include "backend/model_cache.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "backend/duration_stats.hpp"
#include "core/error.hpp"
#include "log/log.hpp"
#include "swarm/client.hpp"

namespace swarmpod::backend {
namespace {

using nlohmann::json;

constexpr const char* kPlaceholderPreview = "imgs/model_placeholder.jpg";
// Bounds on the feature flags taken from a worker. SwarmUI 0.9.8's flags are short ids such
// as "comfyui" and a worker lists a few dozen, so anything beyond these is not a flag.
constexpr std::size_t kMaxFeatureFlags = 500;
constexpr std::size_t kMaxFeatureFlagBytes = 100;

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

int int_field(const json& entry, const char* key) {
    const auto it = entry.find(key);
    if (it == entry.end()) return 0;
    if (it->is_number_integer()) {
        const auto value = it->get<long long>();
        return value < 0 || value > std::numeric_limits<int>::max() ? 0 : static_cast<int>(value);
    }
    if (it->is_number_float()) {
        const double value = it->get<double>();
        return value < 0 || value > std::numeric_limits<int>::max() ? 0 : static_cast<int>(value);
    }
    return 0;
}

std::string string_field(const json& entry, const char* key) {
    const auto it = entry.find(key);
    return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// SwarmUI names are paths that usually end in an extension; a user types the stem.
std::string stem(const std::string& name) {
    const std::size_t slash = name.rfind('/');
    std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    const std::size_t dot = base.rfind('.');
    if (dot != std::string::npos && dot > 0) base.erase(dot);
    return lower(base);
}

// Keeps only characters that are safe in a file name on every platform.
std::string file_safe(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const bool safe = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        out += safe ? c : '_';
    }
    return out;
}

// Keeps the strings of a JSON array of feature flags that look like flags, sorted and
// without duplicates.
std::vector<std::string> feature_flags_from(const json& list) {
    std::set<std::string> flags;
    if (!list.is_array()) return {};
    for (const json& flag : list) {
        if (!flag.is_string()) continue;
        const std::string& text = flag.get_ref<const std::string&>();
        if (text.empty() || text.size() > kMaxFeatureFlagBytes) continue;
        flags.insert(text);
        if (flags.size() >= kMaxFeatureFlags) break;
    }
    return {flags.begin(), flags.end()};
}

}  // namespace

const std::vector<std::string>& model_subtypes() {
    static const std::vector<std::string> subtypes = {"Stable-Diffusion", "LoRA", "VAE", "Embedding",
                                                      "ControlNet", "Clip", "ClipVision"};
    return subtypes;
}

void check_model_subtype(const std::string& subtype) {
    const auto& known = model_subtypes();
    if (std::find(known.begin(), known.end(), subtype) != known.end()) return;
    std::string names;
    for (const std::string& name : known) names += (names.empty() ? "" : ", ") + name;
    throw Error(Status::invalid_argument,
                "Unknown model subtype '" + subtype.substr(0, 60) + "'; use one of " + names + " (case-sensitive).");
}

json normalize_model(const json& entry) {
    if (!entry.is_object()) return nullptr;
    const std::string name = string_field(entry, "name");
    if (name.empty()) return nullptr;
    json model = entry;
    std::string title = string_field(entry, "title");
    if (title.empty()) {
        const std::size_t slash = name.rfind('/');
        title = slash == std::string::npos ? name : name.substr(slash + 1);
    }
    model["name"] = name;
    model["title"] = title;
    model["description"] = string_field(entry, "description");
    model["architecture"] = string_field(entry, "architecture");
    model["class"] = string_field(entry, "class");
    model["standard_width"] = int_field(entry, "standard_width");
    model["standard_height"] = int_field(entry, "standard_height");
    model["loaded"] = false;
    model["local"] = false;
    // The worker's preview paths (/ViewSpecial/...) do not exist on the local SwarmUI.
    model["preview_image"] = kPlaceholderPreview;
    model["is_supported_model_format"] = true;
    return model;
}

ModelCache::ModelCache(std::string directory, std::string endpoint_id)
    : path_(directory.empty() ? std::string() : directory + "/models_" + file_safe(endpoint_id) + ".json"),
      endpoint_id_(std::move(endpoint_id)) {
    load();
}

void ModelCache::load() {
    if (path_.empty()) return;
    const std::optional<json> saved = read_json_file(path_);
    if (!saved) return;
    const json& root = *saved;
    const auto subtypes = root.is_object() ? root.find("subtypes") : root.end();
    if (root.is_discarded() || !root.is_object() || subtypes == root.end() || !subtypes->is_object()) {
        SP_WARN("Ignoring the model cache {}: it is not a swarmpod model list; it is rewritten at the next refresh",
                path_);
        return;
    }
    for (const auto& [subtype, stored] : subtypes->items()) {
        if (!stored.is_object() || !stored.contains("models") || !stored["models"].is_array()) continue;
        Entry entry;
        entry.updated_at = stored.value("updated_at", 0.0);
        for (const json& model : stored["models"]) {
            json normalized = normalize_model(model);
            if (!normalized.is_null()) entry.models.push_back(std::move(normalized));
        }
        lists_[subtype] = std::move(entry);
    }
    const auto features = root.find("features");
    if (features != root.end() && features->is_object() && features->contains("list")) {
        features_ = feature_flags_from((*features)["list"]);
        features_updated_at_ = features->value("updated_at", 0.0);
    }
}

void ModelCache::save_locked() const {
    if (path_.empty()) return;
    json subtypes = json::object();
    for (const auto& [subtype, entry] : lists_) {
        subtypes[subtype] = json{{"updated_at", entry.updated_at}, {"models", entry.models}};
    }
    json root = {{"endpoint_id", endpoint_id_}, {"subtypes", std::move(subtypes)}};
    if (features_) root["features"] = json{{"updated_at", features_updated_at_}, {"list", *features_}};
    const std::string failure = write_file_atomically(path_, root.dump());
    if (!failure.empty()) SP_WARN("Could not save the model cache {}: {}", path_, failure);
}

json ModelCache::list(const std::string& subtype) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = lists_.find(subtype);
    if (it == lists_.end()) {
        return json{{"subtype", subtype}, {"source", "cache"}, {"updated_at", nullptr}, {"models", json::array()}};
    }
    return json{{"subtype", subtype},
                {"source", "cache"},
                {"updated_at", it->second.updated_at},
                {"models", it->second.models}};
}

void ModelCache::store(const std::string& subtype, const json& files) {
    Entry entry;
    entry.updated_at = unix_now();
    if (files.is_array()) {
        for (const json& file : files) {
            json normalized = normalize_model(file);
            if (!normalized.is_null()) entry.models.push_back(std::move(normalized));
        }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    lists_[subtype] = std::move(entry);
    save_locked();
}

json ModelCache::features() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!features_) return json{{"features", nullptr}, {"updated_at", nullptr}};
    return json{{"features", *features_}, {"updated_at", features_updated_at_}};
}

bool ModelCache::take_refresh_turn(std::chrono::steady_clock::duration interval) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mutex_);
    if (last_refresh_turn_ && now - *last_refresh_turn_ < interval) return false;
    last_refresh_turn_ = now;
    return true;
}

void ModelCache::store_features(std::vector<std::string> features) {
    const json flags = feature_flags_from(json(std::move(features)));
    std::lock_guard<std::mutex> lock(mutex_);
    features_ = flags.get<std::vector<std::string>>();
    features_updated_at_ = unix_now();
    save_locked();
}

std::vector<std::string> ModelCache::cached_subtypes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const std::string& subtype : model_subtypes()) {
        if (lists_.count(subtype) != 0) out.push_back(subtype);
    }
    return out;
}

std::vector<std::string> ModelCache::closest_names(const std::string& subtype, const std::string& name,
                                                   std::size_t max_names) const {
    const std::string wanted = stem(name);
    std::vector<std::pair<std::size_t, std::string>> ranked;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        const auto it = lists_.find(subtype);
        if (it == lists_.end() || wanted.empty()) return {};
        for (const json& model : it->second.models) {
            const std::string candidate = model.value("name", std::string());
            const std::string candidate_stem = stem(candidate);
            if (candidate_stem.find(wanted) != std::string::npos || wanted.find(candidate_stem) != std::string::npos) {
                ranked.emplace_back(0, candidate);
                continue;
            }
            const std::size_t distance = edit_distance(wanted, candidate_stem);
            if (distance * 2 <= std::max(wanted.size(), candidate_stem.size())) ranked.emplace_back(distance, candidate);
        }
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (std::size_t i = 0; i < ranked.size() && i < max_names; ++i) out.push_back(ranked[i].second);
    return out;
}

json refresh_models(swarm::Client& worker, ModelCache& cache, const std::string& subtype, Deadline deadline,
                    const CancelToken* cancel) {
    const json reply = worker.list_models(subtype, deadline, cancel);
    const json& files = reply["files"];
    if (files.empty()) {
        throw Error(Status::worker, "The worker has no models (is the network volume mounted?): ListModels returned "
                                    "no " + subtype + " models (worker at " + worker.address().base_url + ").");
    }
    cache.store(subtype, files);
    json answer = cache.list(subtype);
    answer["source"] = "worker";
    SP_INFO("Read {} {} model(s) from the worker at {}", answer["models"].size(), subtype, worker.address().base_url);
    return answer;
}

std::optional<std::vector<std::string>> running_backend_features(const json& reply) {
    if (!reply.is_object()) return std::nullopt;
    bool any_running = false;
    json flags = json::array();
    for (const auto& [id, backend] : reply.items()) {
        if (!backend.is_object() || backend.value("status", "") != "running") continue;
        any_running = true;
        const auto features = backend.find("features");
        if (features == backend.end() || !features->is_array()) continue;
        for (const json& flag : *features) flags.push_back(flag);
    }
    if (!any_running) return std::nullopt;
    return feature_flags_from(flags);
}

bool refresh_features(swarm::Client& worker, ModelCache& cache, Deadline deadline, const CancelToken* cancel) noexcept {
    try {
        const json reply = worker.call("ListBackends", json{{"nonreal", true}, {"full_data", false}}, deadline, cancel);
        std::optional<std::vector<std::string>> flags = running_backend_features(reply);
        if (!flags) {
            SP_DEBUG("Not storing feature flags from the worker at {}: no backend is running", worker.address().base_url);
            return false;
        }
        SP_DEBUG("Read {} feature flag(s) from the worker at {}", flags->size(), worker.address().base_url);
        cache.store_features(std::move(*flags));
        return true;
    } catch (const std::exception& error) {
        SP_DEBUG("Reading the feature flags from the worker at {} failed: {}", worker.address().base_url, error.what());
    } catch (...) {
        SP_DEBUG("Reading the feature flags from the worker at {} failed with an unknown error",
                 worker.address().base_url);
    }
    return false;
}

}  // namespace swarmpod::backend
