#include "worker/protocol_memory.hpp"

namespace swarmpod::worker {

int ProtocolMemory::get(const std::string& endpoint_id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = protocols_.find(endpoint_id);
    return found == protocols_.end() ? 0 : found->second;
}

void ProtocolMemory::set(const std::string& endpoint_id, int protocol) {
    std::map<std::string, int> all;
    std::function<void(const std::map<std::string, int>&)> persist;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = protocols_.find(endpoint_id);
        if (found != protocols_.end() && found->second == protocol) return;
        protocols_[endpoint_id] = protocol;
        all = protocols_;
        persist = persist_;
    }
    if (persist) persist(all);
}

void ProtocolMemory::set_persist(std::function<void(const std::map<std::string, int>&)> persist) {
    std::lock_guard<std::mutex> lock(mutex_);
    persist_ = std::move(persist);
}

std::map<std::string, int> ProtocolMemory::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return protocols_;
}

}  // namespace swarmpod::worker
