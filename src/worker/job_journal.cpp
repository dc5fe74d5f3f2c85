#include "worker/job_journal.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "log/log.hpp"

namespace swarmpod::worker {
namespace fs = std::filesystem;
namespace {

using nlohmann::json;

std::string random_instance_id() {
    std::random_device device;
    std::ostringstream text;
    text << std::hex << device() << device();
    return text.str();
}

// NOTE: a process id can be reused after a reboot or a long uptime; a journal whose id
// now belongs to another live process is left alone, so its jobs are not cancelled
// until that process ends.
bool process_alive(long pid) {
    if (pid <= 0) return false;
    if (kill(static_cast<pid_t>(pid), 0) == 0) return true;
    return errno == EPERM;
}

long pid_from_file_name(const std::string& name) {
    // jobs-<pid>-<instance>.json
    if (name.rfind("jobs-", 0) != 0) return -1;
    const auto dash = name.find('-', 5);
    if (dash == std::string::npos) return -1;
    try {
        return std::stol(name.substr(5, dash - 5));
    } catch (const std::exception&) {
        return -1;
    }
}

std::vector<JournalEntry> read_entries(const fs::path& path) {
    std::vector<JournalEntry> entries;
    std::ifstream file(path);
    const json root = json::parse(file, nullptr, /*allow_exceptions=*/false);
    if (!root.is_object() || !root.contains("jobs") || !root["jobs"].is_array()) return entries;
    for (const json& item : root["jobs"]) {
        if (!item.is_object()) continue;
        JournalEntry entry;
        entry.endpoint_id = item.value("endpoint_id", "");
        entry.job_id = item.value("job_id", "");
        entry.kind = item.value("kind", "");
        entry.started_unix = item.value("started_unix", int64_t{0});
        entry.key_fingerprint = item.value("key", "");
        if (!entry.job_id.empty()) entries.push_back(std::move(entry));
    }
    return entries;
}

void write_entries(const fs::path& path, const std::vector<JournalEntry>& entries) {
    json jobs = json::array();
    for (const auto& entry : entries) {
        jobs.push_back({{"endpoint_id", entry.endpoint_id},
                        {"job_id", entry.job_id},
                        {"kind", entry.kind},
                        {"started_unix", entry.started_unix},
                        {"key", entry.key_fingerprint}});
    }
    // Write a temporary file and rename it, so a crash never leaves half a journal.
    const fs::path temporary = path.string() + ".tmp";
    {
        std::ofstream file(temporary, std::ios::trunc);
        file << json{{"version", 1}, {"pid", static_cast<long>(getpid())}, {"jobs", jobs}}.dump(1);
    }
    fs::rename(temporary, path);
}

}  // namespace

std::string key_fingerprint(const std::string& api_key) {
    uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64
    for (unsigned char c : api_key) {
        hash ^= c;
        hash *= 0x100000001b3ull;
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return std::string("key-") + std::string(text, 8);
}

JobJournal::JobJournal(std::string directory) : directory_(std::move(directory)) {
    if (directory_.empty()) return;
    std::error_code error;
    fs::create_directories(fs::path(directory_) / "journal", error);
    if (error) {
        SP_WARN("Cannot create the job journal folder {}: {}; jobs left running by a crash cannot be found later",
                directory_, error.message());
        directory_.clear();
        return;
    }
    file_ = (fs::path(directory_) / "journal" / ("jobs-" + std::to_string(getpid()) + "-" + random_instance_id() + ".json"))
                .string();
}

void JobJournal::add(const JournalEntry& entry) {
    if (file_.empty()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back(entry);
    write_locked();
}

void JobJournal::remove(const std::string& job_id) {
    if (file_.empty()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto before = entries_.size();
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const JournalEntry& entry) { return entry.job_id == job_id; }),
                   entries_.end());
    if (entries_.size() != before) write_locked();
}

void JobJournal::write_locked() {
    try {
        if (entries_.empty()) {
            std::error_code ignored;
            fs::remove(file_, ignored);
            return;
        }
        write_entries(file_, entries_);
    } catch (const std::exception& error) {
        SP_WARN("Cannot write the job journal {}: {}", file_, error.what());
    }
}

int JobJournal::clean_orphans(const std::string& endpoint_id, const std::string& key_fingerprint,
                              const std::function<bool(const JournalEntry&)>& cancel) {
    if (directory_.empty()) return 0;
    int ended = 0;
    std::error_code error;
    for (const auto& item : fs::directory_iterator(fs::path(directory_) / "journal", error)) {
        const std::string name = item.path().filename().string();
        if (item.path().string() == file_ || item.path().extension() != ".json") continue;
        const long pid = pid_from_file_name(name);
        if (pid < 0 || process_alive(pid)) continue;
        std::vector<JournalEntry> entries = read_entries(item.path());
        std::vector<JournalEntry> kept;
        for (const auto& entry : entries) {
            if (entry.endpoint_id == endpoint_id && entry.key_fingerprint == key_fingerprint && cancel(entry)) {
                ++ended;
                SP_INFO("Cancelled {} job {} on endpoint {}, left running by an earlier run", entry.kind, entry.job_id,
                        entry.endpoint_id);
            } else {
                kept.push_back(entry);
            }
        }
        try {
            if (kept.empty()) {
                fs::remove(item.path());
            } else if (kept.size() != entries.size()) {
                write_entries(item.path(), kept);
            }
        } catch (const std::exception& write_error) {
            SP_WARN("Cannot update the orphaned journal {}: {}", item.path().string(), write_error.what());
        }
    }
    return ended;
}

}  // namespace swarmpod::worker
