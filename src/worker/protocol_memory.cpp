#include "worker/protocol_memory.hpp"

namespace swarmpod::worker {

int ProtocolMemory::get(const std::string& endpoint_id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = protocols_.find(endpoint_id);
    return found == protocols_.end() ? 0 : found->second;
}

void ProtocolMemory::set(const std::string& endpoint_id, int protocol) {
    std::lock_guard<std::mutex> lock(mutex_);
    protocols_[endpoint_id] = protocol;
}

std::map<std::string, int> ProtocolMemory::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return protocols_;
}

}  // namespace swarmpod::worker
