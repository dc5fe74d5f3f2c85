// Which worker protocol each endpoint speaks, as detected from the workers' own
// answers, so detection happens once per endpoint and not per request.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace swarmpod::worker {

class ProtocolMemory {
public:
    // 0 when unknown, else 1 or 2.
    int get(const std::string& endpoint_id) const;
    void set(const std::string& endpoint_id, int protocol);
    std::map<std::string, int> snapshot() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, int> protocols_;
};

}  // namespace swarmpod::worker
