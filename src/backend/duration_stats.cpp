#include "backend/duration_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "log/log.hpp"

namespace swarmpod::backend {
using nlohmann::json;
namespace fs = std::filesystem;

std::string write_file_atomically(const std::string& path, const std::string& text) {
    std::error_code error;
    fs::create_directories(fs::path(path).parent_path(), error);
    if (error) return "cannot create the directory: " + error.message();
    const std::string temporary = path + ".tmp";
    {
        std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
        if (!file) return "cannot open " + temporary + " for writing";
        file << text;
        if (!file.flush()) return "cannot write " + temporary;
    }
    fs::rename(temporary, path, error);
    if (error) return "cannot rename " + temporary + ": " + error.message();
    return "";
}

std::string cache_directory(const std::string& configured) {
    if (!configured.empty()) return configured;
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/swarmpod";
    const char* home = std::getenv("HOME");
    if (home != nullptr && home[0] != '\0') return std::string(home) + "/.cache/swarmpod";
    return "";
}

std::optional<json> read_json_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return std::nullopt;
    std::stringstream text;
    text << file.rdbuf();
    return json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
}

DurationStats::DurationStats(std::string directory, const std::string& file_name, std::string what,
                             Millis min_save_interval)
    : path_(directory.empty() ? std::string() : directory + "/" + file_name),
      what_(std::move(what)),
      min_save_interval_(min_save_interval) {
    load();
}

DurationStats::~DurationStats() { flush(); }

void DurationStats::flush() noexcept {
    try {
        std::lock_guard<std::mutex> lock(mutex_);
        if (unsaved_) save_locked();
    } catch (const std::exception& error) {
        SP_WARN("Could not save {} durations to {}: {}", what_, path_, error.what());
    }
}

void DurationStats::load() {
    if (path_.empty()) return;
    const std::optional<json> saved = read_json_file(path_);
    if (!saved) return;
    const json& root = *saved;
    if (root.is_discarded() || !root.is_object()) {
        SP_WARN("Ignoring the {} file {}: it is not a JSON object; it is rewritten at the next sample", what_, path_);
        return;
    }
    for (const auto& [endpoint, list] : root.items()) {
        if (!list.is_array()) continue;
        std::deque<double>& kept = samples_[endpoint];
        for (const json& value : list) {
            if (value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= 0) {
                kept.push_back(value.get<double>());
            }
        }
        while (kept.size() > kKeptSamples) kept.pop_front();
    }
}

void DurationStats::save_locked() {
    if (path_.empty()) return;
    json root = json::object();
    for (const auto& [endpoint, kept] : samples_) root[endpoint] = json(std::vector<double>(kept.begin(), kept.end()));
    const std::string failure = write_file_atomically(path_, root.dump());
    if (!failure.empty()) SP_WARN("Could not save {} durations to {}: {}", what_, path_, failure);
    unsaved_ = false;
    saved_at_ = Clock::now();
}

void DurationStats::record(const std::string& endpoint_id, double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    std::deque<double>& kept = samples_[endpoint_id];
    const bool first = kept.empty();
    kept.push_back(seconds);
    while (kept.size() > kKeptSamples) kept.pop_front();
    unsaved_ = true;
    if (first || Clock::now() - saved_at_ >= min_save_interval_) save_locked();
}

std::optional<double> DurationStats::estimate(const std::string& endpoint_id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = samples_.find(endpoint_id);
    if (it == samples_.end() || it->second.empty()) return std::nullopt;
    std::vector<double> sorted(it->second.begin(), it->second.end());
    std::sort(sorted.begin(), sorted.end());
    const std::size_t middle = sorted.size() / 2;
    if (sorted.size() % 2 == 1) return sorted[middle];
    return (sorted[middle - 1] + sorted[middle]) / 2;
}

}  // namespace swarmpod::backend
