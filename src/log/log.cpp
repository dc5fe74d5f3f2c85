#include "log/log.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include <spdlog/sinks/base_sink.h>

#include "swarmpod/swarmpod.h"

namespace swarmpod::log {

namespace {

constexpr std::size_t kMinSecretLength = 6;
constexpr std::string_view kMask = "***";

// Registered secrets with a count of registrations, so that two owners of the same key
// (two backends on one API key) can each remove it without unmasking it for the other.
// `by_length` lists the same secrets longest first, so a secret that contains another
// one is replaced whole.
struct SecretStore {
    std::shared_mutex mutex;
    std::map<std::string, int> counts;
    std::vector<std::string> by_length;

    void rebuild() {
        by_length.clear();
        for (const auto& entry : counts) by_length.push_back(entry.first);
        std::sort(by_length.begin(), by_length.end(),
                  [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    }
};

SecretStore& secrets() {
    static SecretStore store;
    return store;
}

int to_host_level(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace: return SWARMPOD_LOG_TRACE;
        case spdlog::level::debug: return SWARMPOD_LOG_DEBUG;
        case spdlog::level::info: return SWARMPOD_LOG_INFO;
        case spdlog::level::warn: return SWARMPOD_LOG_WARN;
        case spdlog::level::err:
        case spdlog::level::critical: return SWARMPOD_LOG_ERROR;
        default: return SWARMPOD_LOG_OFF;
    }
}

spdlog::level::level_enum to_spdlog_level(int host_level) {
    if (host_level <= SWARMPOD_LOG_TRACE) return spdlog::level::trace;
    switch (host_level) {
        case SWARMPOD_LOG_DEBUG: return spdlog::level::debug;
        case SWARMPOD_LOG_INFO: return spdlog::level::info;
        case SWARMPOD_LOG_WARN: return spdlog::level::warn;
        case SWARMPOD_LOG_ERROR: return spdlog::level::err;
        default: return host_level >= SWARMPOD_LOG_OFF ? spdlog::level::off : spdlog::level::err;
    }
}

// Passes each message, redacted, to the host callback. base_sink holds its mutex around
// sink_it_, and set_callback takes the same mutex, so once set_callback returns no
// thread is still inside the previous callback. The host callback therefore runs one
// call at a time and must not log through this library itself.
class HostSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    void set_callback(HostCallback callback, void* user_data) {
        std::lock_guard<std::mutex> lock(mutex_);
        callback_ = callback;
        user_data_ = user_data;
    }

protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        if (callback_ == nullptr) return;
        const std::string text = redact(std::string_view(message.payload.data(), message.payload.size()));
        callback_(user_data_, to_host_level(message.level), text.c_str());
    }
    void flush_() override {}

private:
    HostCallback callback_ = nullptr;
    void* user_data_ = nullptr;
};

struct LoggerState {
    std::shared_ptr<HostSink> sink = std::make_shared<HostSink>();
    // Constructed directly, so it is never in spdlog's registry and never the default
    // logger of a host process that also uses spdlog.
    spdlog::logger logger{"swarmpod", sink};

    LoggerState() { logger.set_level(spdlog::level::off); }
};

LoggerState& state() {
    static LoggerState instance;
    return instance;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

bool ends_token(char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '"' || c == '\'';
}

// Replaces the token after each "Bearer " (any case) with the mask.
void mask_bearer_values(std::string& text) {
    constexpr std::string_view kBearer = "bearer ";
    std::size_t pos = 0;
    while (pos + kBearer.size() <= text.size()) {
        if (!equals_ignore_case(std::string_view(text).substr(pos, kBearer.size()), kBearer)) {
            ++pos;
            continue;
        }
        std::size_t start = pos + kBearer.size();
        while (start < text.size() && text[start] == ' ') ++start;
        std::size_t end = start;
        while (end < text.size() && !ends_token(text[end])) ++end;
        if (end > start) text.replace(start, end - start, kMask);
        pos = start + (end > start ? kMask.size() : 0);
    }
}

}  // namespace

spdlog::logger& logger() { return state().logger; }

void set_host_callback(HostCallback callback, void* user_data, int min_level) {
    // Serialises whole calls, so the callback and the level always come from one call.
    static std::mutex setter_mutex;
    std::lock_guard<std::mutex> lock(setter_mutex);
    LoggerState& current = state();
    // Turn the level off before swapping, so no message is formatted for a callback
    // that is about to go away.
    if (callback == nullptr) current.logger.set_level(spdlog::level::off);
    current.sink->set_callback(callback, user_data);
    current.logger.set_level(callback == nullptr ? spdlog::level::off : to_spdlog_level(min_level));
}

void add_secret(const std::string& secret) {
    if (secret.size() < kMinSecretLength) return;
    SecretStore& store = secrets();
    std::unique_lock<std::shared_mutex> lock(store.mutex);
    if (++store.counts[secret] == 1) store.rebuild();
}

void remove_secret(const std::string& secret) {
    SecretStore& store = secrets();
    std::unique_lock<std::shared_mutex> lock(store.mutex);
    const auto found = store.counts.find(secret);
    if (found == store.counts.end()) return;
    if (--found->second <= 0) {
        store.counts.erase(found);
        store.rebuild();
    }
}

std::string redact(std::string_view text) {
    std::string out(text);
    {
        SecretStore& store = secrets();
        std::shared_lock<std::shared_mutex> lock(store.mutex);
        for (const std::string& secret : store.by_length) {
            std::size_t pos = 0;
            while ((pos = out.find(secret, pos)) != std::string::npos) {
                out.replace(pos, secret.size(), kMask);
                pos += kMask.size();
            }
        }
    }
    mask_bearer_values(out);
    return out;
}

}  // namespace swarmpod::log
