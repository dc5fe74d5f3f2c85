// Fault injection: rules from --faults FILE or POST /admin/faults, and the per-route rate limiter.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace emulator {

// One rule. `route` is run, runsync, status, stream, cancel, health, purge-queue, or worker:<SwarmUI route>
// (e.g. worker:GenerateText2Image); "*" matches every route. Kinds:
//   status            reply `status` (JSON error, or an HTML page like a CDN edge when `html`), with `retry_after`
//   reset             close the connection without a complete reply
//   slow              wait `delay_ms`, then handle the request normally
//   drop_stream_chunk on stream: consume the pending chunks, then lose the reply (connection reset)
//   worker_death      the worker serving the request (or running the polled job) dies; its job FAILS
//   crash_loop        workers crash at the end of boot and count as unhealthy in /health
//   end_job           on status or stream: the polled running job ends with `job_status` (FAILED, CANCELLED or
//                     TIMED_OUT) and its worker stops, before the reply is computed
//   corrupt_image     on route "image": one byte in the middle of the next encoded image is flipped
//   truncate_image    on route "image": the next encoded image loses its second half
//   hide_worker_id    on status, stream, runsync or cancel: the job reply has no workerId, as RunPod may send it
//   drop_socket       on route "image": after the next image a WebSocket generation sent, the server stops the
//                     generation and closes the WebSocket (a Close frame, with no socket_intention "close" first)
//   cut_socket        on route "image": like drop_socket, but the TCP connection ends with no Close frame
// The ledger records the hash of the bytes actually sent, with `damage` naming the last two kinds.
struct FaultRule {
    std::string route;
    std::string kind;
    int status = 500;
    bool html = false;
    std::string retry_after;
    std::string message;  // `status` on a RunPod route: the JSON `error` text instead of "Injected fault: ..."
    std::string error_id; // `status` on a worker route: the SwarmUI `error_id` instead of "injected_fault"
    std::string job_status; // `end_job`: FAILED, CANCELLED or TIMED_OUT
    std::int64_t delay_ms = 0;
    int count = -1; // times it may fire; -1 = unlimited
    int skip = 0;   // times it matches without firing before it may fire
    double probability = 1.0;
};

class Faults {
public:
    // Parses a JSON list of rules; returns the error text for a bad list.
    static std::variant<std::vector<FaultRule>, std::string> parse(const nlohmann::json& rules);

    void replace(std::vector<FaultRule> rules);
    nlohmann::json to_json() const;
    // Returns a copy of the first rule for `route` that fires now, using up one of its count.
    std::optional<FaultRule> take(const std::string& route);
    // Same, but only rules of `kind`.
    std::optional<FaultRule> take(const std::string& route, const std::string& kind);
    // Gives back the use of a rule that fired without effect (an end_job rule on a job
    // that is not running), so it fires on a later request instead.
    void give_back(const FaultRule& fired);

    // Counts one request on `route`; over `limit` per 10 s window it returns the seconds until the window ends.
    std::optional<int> rate_limited(const std::string& route, int limit);

private:
    std::optional<FaultRule> take_matching(const std::string& route, const std::string* kind);

    mutable std::mutex mutex_;
    std::vector<FaultRule> rules_;
    std::map<std::string, std::pair<std::int64_t, int>> windows_; // route -> (window start ms, count)
};

} // namespace emulator
