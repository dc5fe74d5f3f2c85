#include "faults.hpp"

#include <set>

#include "util.hpp"

namespace emulator {
namespace {

constexpr std::int64_t rate_window_ms = 10000;

const std::set<std::string> known_kinds = {"status", "reset", "slow", "drop_stream_chunk", "worker_death",
                                           "crash_loop", "end_job", "corrupt_image", "truncate_image",
                                           "hide_worker_id", "drop_socket", "cut_socket"};

bool route_matches(const std::string& pattern, const std::string& route)
{
    return pattern == "*" || pattern == route;
}

} // namespace

std::variant<std::vector<FaultRule>, std::string> Faults::parse(const nlohmann::json& rules)
{
    if (!rules.is_array()) {
        return std::string("fault rules must be a JSON list of objects");
    }
    std::vector<FaultRule> out;
    for (const auto& entry : rules) {
        if (!entry.is_object()) {
            return std::string("each fault rule must be a JSON object");
        }
        FaultRule rule;
        try {
            rule.route = entry.value("route", std::string("*"));
            rule.kind = entry.value("kind", std::string());
            rule.status = entry.value("status", 500);
            rule.html = entry.value("html", false);
            rule.retry_after = entry.value("retry_after", std::string());
            rule.message = entry.value("message", std::string());
            rule.error_id = entry.value("error_id", std::string());
            rule.job_status = entry.value("job_status", std::string("FAILED"));
            rule.delay_ms = entry.value("delay_ms", std::int64_t{0});
            rule.count = entry.value("count", -1);
            rule.skip = entry.value("skip", 0);
            rule.probability = entry.value("probability", 1.0);
        } catch (const nlohmann::json::exception& error) {
            return std::string("invalid fault rule field: ") + error.what();
        }
        if (known_kinds.count(rule.kind) == 0) {
            return "unknown fault kind '" + rule.kind +
                   "'; expected status, reset, slow, drop_stream_chunk, worker_death, crash_loop, end_job, "
                   "corrupt_image, truncate_image, hide_worker_id, drop_socket or cut_socket";
        }
        if (rule.job_status != "FAILED" && rule.job_status != "CANCELLED" && rule.job_status != "TIMED_OUT") {
            return "invalid fault job_status '" + rule.job_status + "'; expected FAILED, CANCELLED or TIMED_OUT";
        }
        if (rule.status < 100 || rule.status > 599) {
            return "invalid fault status " + std::to_string(rule.status) + "; expected 100 to 599";
        }
        out.push_back(std::move(rule));
    }
    return out;
}

void Faults::replace(std::vector<FaultRule> rules)
{
    std::lock_guard<std::mutex> lock(mutex_);
    rules_ = std::move(rules);
}

nlohmann::json Faults::to_json() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto out = nlohmann::json::array();
    for (const auto& rule : rules_) {
        out.push_back({{"route", rule.route},
                       {"kind", rule.kind},
                       {"status", rule.status},
                       {"html", rule.html},
                       {"retry_after", rule.retry_after},
                       {"message", rule.message},
                       {"error_id", rule.error_id},
                       {"job_status", rule.job_status},
                       {"delay_ms", rule.delay_ms},
                       {"count", rule.count},
                       {"skip", rule.skip},
                       {"probability", rule.probability}});
    }
    return out;
}

std::optional<FaultRule> Faults::take(const std::string& route)
{
    return take_matching(route, nullptr);
}

void Faults::give_back(const FaultRule& fired)
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& rule : rules_) {
        if (rule.route == fired.route && rule.kind == fired.kind && rule.job_status == fired.job_status &&
            rule.count >= 0) {
            ++rule.count;
            return;
        }
    }
}

std::optional<FaultRule> Faults::take(const std::string& route, const std::string& kind)
{
    return take_matching(route, &kind);
}

std::optional<FaultRule> Faults::take_matching(const std::string& route, const std::string* kind)
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& rule : rules_) {
        // crash_loop acts on every worker boot, whatever route the rule names.
        bool any_route = kind != nullptr && *kind == "crash_loop";
        if (rule.count == 0 || (!any_route && !route_matches(rule.route, route)) ||
            (kind != nullptr && rule.kind != *kind)) {
            continue;
        }
        // A request never takes a crash_loop rule, which only acts at worker boot.
        if (kind == nullptr && rule.kind == "crash_loop") {
            continue;
        }
        if (rule.probability < 1.0 && random_unit() >= rule.probability) {
            continue;
        }
        if (rule.skip > 0) {
            --rule.skip;
            continue;
        }
        if (rule.count > 0) {
            --rule.count;
        }
        return rule;
    }
    return std::nullopt;
}

std::optional<int> Faults::rate_limited(const std::string& route, int limit)
{
    if (limit <= 0) {
        return std::nullopt;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    std::int64_t now = now_ms();
    auto& [start, count] = windows_[route];
    if (now - start >= rate_window_ms) {
        start = now - now % rate_window_ms;
        count = 0;
    }
    if (++count <= limit) {
        return std::nullopt;
    }
    return static_cast<int>((start + rate_window_ms - now + 999) / 1000);
}

} // namespace emulator
