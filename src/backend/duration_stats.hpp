// Recent durations per endpoint (cold starts, generation times), persisted so an
// estimate survives restarts.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace swarmpod::backend {

// Returns the directory for swarmpod's caches: `configured` when not empty, else
// $XDG_CACHE_HOME/swarmpod, else $HOME/.cache/swarmpod, else "" (no persistence).
std::string cache_directory(const std::string& configured);

// Writes `text` to `path` through a temporary file and a rename, so a reader never
// sees half a file, creating the directory. Returns an error text, or "" on success.
std::string write_file_atomically(const std::string& path, const std::string& text);

// Reads and parses the JSON file at `path`. Returns nothing when the file cannot be
// opened, and a discarded value (is_discarded()) when its text is not JSON.
std::optional<nlohmann::json> read_json_file(const std::string& path);

// The last kKeptSamples durations of one kind for each endpoint, stored as JSON in
// `<directory>/<file_name>`. The backend keeps two: cold starts (seconds from lease
// request to a ready worker) in cold_starts.json, and generation times (seconds a worker
// was in use) in generation_times.json. Thread-safe. A missing, unreadable or corrupt file
// counts as empty (logged); a file that cannot be written is logged and the samples
// stay in memory.
class DurationStats {
public:
    static constexpr std::size_t kKeptSamples = 10;

    // `directory` empty keeps the samples in memory only. `what` names the durations
    // in log lines, e.g. "cold-start". The file is written at most once per
    // `min_save_interval` (at once for an endpoint's first sample) and at destruction, so
    // frequent samples cost no file write each.
    DurationStats(std::string directory, const std::string& file_name, std::string what,
                  Millis min_save_interval = Millis(0));
    // Writes samples not yet saved.
    ~DurationStats();
    DurationStats(const DurationStats&) = delete;
    DurationStats& operator=(const DurationStats&) = delete;

    // Adds one sample and writes the file when the save interval allows it. Negative or
    // non-finite seconds are ignored.
    void record(const std::string& endpoint_id, double seconds);

    // Writes samples not yet saved. Never throws.
    void flush() noexcept;

    // Returns the median of the kept samples, or nothing before the first sample.
    std::optional<double> estimate(const std::string& endpoint_id) const;

    const std::string& file_path() const { return path_; }

private:
    void load();
    void save_locked();

    std::string path_;
    std::string what_;
    Millis min_save_interval_;
    mutable std::mutex mutex_;
    std::map<std::string, std::deque<double>> samples_;
    bool unsaved_ = false;
    Clock::time_point saved_at_{};
};

}  // namespace swarmpod::backend
