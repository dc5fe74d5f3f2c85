// Recent cold-start durations per endpoint, persisted so an estimate survives restarts.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace swarmpod::backend {

// Returns the directory for swarmpod's caches: `configured` when not empty, else
// $XDG_CACHE_HOME/swarmpod, else $HOME/.cache/swarmpod, else "" (no persistence).
std::string cache_directory(const std::string& configured);

// Writes `text` to `path` through a temporary file and a rename, so a reader never
// sees half a file, creating the directory. Returns an error text, or "" on success.
std::string write_file_atomically(const std::string& path, const std::string& text);

// Cold-start durations (seconds from lease request to a ready worker) of the last
// kKeptSamples workers of each endpoint, stored as JSON in `<directory>/cold_starts.json`.
// Thread-safe. A missing, unreadable or corrupt file counts as empty (logged); a file
// that cannot be written is logged and the samples stay in memory.
class ColdStartStats {
public:
    static constexpr std::size_t kKeptSamples = 10;

    // `directory` empty keeps the samples in memory only.
    explicit ColdStartStats(std::string directory);

    // Adds one sample and writes the file. Negative or non-finite seconds are ignored.
    void record(const std::string& endpoint_id, double seconds);

    // Returns the median of the kept samples, or nothing before the first sample.
    std::optional<double> estimate(const std::string& endpoint_id) const;

    const std::string& file_path() const { return path_; }

private:
    void load();
    void save_locked() const;

    std::string path_;
    mutable std::mutex mutex_;
    std::map<std::string, std::deque<double>> samples_;
};

}  // namespace swarmpod::backend
