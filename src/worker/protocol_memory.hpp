// Which worker protocol each endpoint speaks, as detected from the workers' own
// answers, so detection happens once per endpoint and not per request.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace swarmpod::worker {

class ProtocolMemory {
public:
    // 0 when unknown, else 1 or 2.
    int get(const std::string& endpoint_id) const;
    // Records a protocol; a change is handed to the persist function, if any.
    void set(const std::string& endpoint_id, int protocol);
    std::map<std::string, int> snapshot() const;

    // Called with every endpoint's protocol after each change, outside the lock, so
    // detection survives a restart (the backend writes protocols.json).
    void set_persist(std::function<void(const std::map<std::string, int>&)> persist);

    // Held by the one acquisition that detects an endpoint's protocol, so that requests
    // arriving together send one probe, not one each.
    std::mutex& detection() { return detection_; }

private:
    mutable std::mutex mutex_;
    std::map<std::string, int> protocols_;
    std::function<void(const std::map<std::string, int>&)> persist_;
    std::mutex detection_;
};

}  // namespace swarmpod::worker
