// A file that lists the RunPod jobs this process started and has not seen end, so that
// a later start can cancel what a crash left running. Each backend writes only its own
// file (<dir>/jobs-<pid>-<instance>.json); a file whose process is gone holds orphans.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace swarmpod::worker {

struct JournalEntry {
    std::string endpoint_id;
    std::string job_id;
    std::string kind;
    int64_t started_unix = 0;
    std::string key_fingerprint;  // which key can cancel it; never the key
};

// A short stable fingerprint of an API key, to tell keys apart in journals and logs;
// the key cannot be recovered from it.
std::string key_fingerprint(const std::string& api_key);

class JobJournal {
public:
    // `directory` empty disables the journal (nothing is written or read).
    explicit JobJournal(std::string directory);

    void add(const JournalEntry& entry);
    void remove(const std::string& job_id);

    // Orphans for one endpoint and key: entries in files of processes that are no
    // longer running. `cancel` is called for each and returns true once the job is known
    // to be ended; those entries are dropped, and a file left empty is deleted.
    // Returns how many were ended.
    int clean_orphans(const std::string& endpoint_id, const std::string& key_fingerprint,
                      const std::function<bool(const JournalEntry&)>& cancel);

    const std::string& file() const { return file_; }

private:
    void write_locked();

    std::string directory_;
    std::string file_;
    std::mutex mutex_;
    std::vector<JournalEntry> entries_;
};

}  // namespace swarmpod::worker
