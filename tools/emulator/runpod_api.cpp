#include "util.hpp"
#include "runpod_api.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

namespace emulator {
namespace {

namespace http = boost::beast::http;

// RunPod's documented body limits: /run 10 MB, /runsync 20 MB.
constexpr std::size_t run_body_limit = 10u * 1024 * 1024;
constexpr std::size_t runsync_body_limit = 20u * 1024 * 1024;
constexpr std::int64_t runsync_default_wait_ms = 90000;

void send_error(Exchange& exchange, unsigned status, const std::string& message)
{
    exchange.response = json_response(exchange.request, status, {{"error", message}});
}

void send_fault_status(Exchange& exchange, const FaultRule& rule)
{
    auto status = static_cast<unsigned>(rule.status);
    if (rule.html) {
        // The shape of a Cloudflare edge error page, which is what clients meet in front of RunPod.
        exchange.response = make_response(exchange.request, status,
                                          "<!DOCTYPE html><html><head><title>" + std::to_string(status) +
                                              "</title></head><body><h1>Error " + std::to_string(status) +
                                              "</h1><p>cloudflare</p></body></html>",
                                          "text/html; charset=UTF-8");
    } else {
        send_error(exchange, status,
                   rule.message.empty() ? "Injected fault: HTTP " + std::to_string(status) : rule.message);
    }
    if (!rule.retry_after.empty()) {
        exchange.response.set(http::field::retry_after, rule.retry_after);
    }
}

bool is_loopback(const std::string& address)
{
    return address == "::1" || address.rfind("127.", 0) == 0 || address.rfind("::ffff:127.", 0) == 0;
}

std::vector<std::string> split_path(const std::string& path)
{
    std::vector<std::string> parts;
    std::size_t at = 1;
    while (at <= path.size()) {
        std::size_t end = path.find('/', at);
        parts.push_back(path.substr(at, end == std::string::npos ? std::string::npos : end - at));
        if (end == std::string::npos) {
            break;
        }
        at = end + 1;
    }
    return parts;
}

std::optional<nlohmann::json> parse_job_body(Exchange& exchange, std::size_t limit)
{
    const std::string& text = exchange.request.body();
    if (text.size() > limit) {
        send_error(exchange, 400,
                   "Request body is " + std::to_string(text.size()) + " bytes; the limit for this operation is " +
                       std::to_string(limit) + " bytes");
        return std::nullopt;
    }
    auto body = json_too_deep(text) ? nlohmann::json(nlohmann::json::value_t::discarded)
                                    : nlohmann::json::parse(text, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        send_error(exchange, 400, "Invalid JSON body: expected an object like {\"input\": {...}}");
        return std::nullopt;
    }
    if (!body.contains("input") || !body["input"].is_object()) {
        send_error(exchange, 400, "Missing \"input\": the body must contain an \"input\" object");
        return std::nullopt;
    }
    return body;
}

void send_job(Exchange& exchange, const std::optional<nlohmann::json>& job)
{
    if (job) {
        exchange.response = json_response(exchange.request, 200, *job);
    } else {
        send_error(exchange, 404, "job not found");
    }
}

// RunPod may leave workerId out of a job reply; a hide_worker_id rule makes the emulator do so.
void omit_worker_id(HttpResponse& response)
{
    nlohmann::json body = nlohmann::json::parse(response.body(), nullptr, false);
    if (!body.is_object() || body.erase("workerId") == 0) {
        return;
    }
    response.body() = body.dump();
    response.prepare_payload();
}

} // namespace

RunPodApi::RunPodApi(const Config& config, Scheduler& scheduler, Faults& faults)
    : config_(config), scheduler_(scheduler), faults_(faults),
      http_("RunPod API", [this](Exchange& exchange) { handle(exchange); })
{
}

RunPodApi::~RunPodApi()
{
    stop();
}

std::uint16_t RunPodApi::bind()
{
    return http_.listen(config_.listen_host, config_.listen_port);
}

void RunPodApi::wait_for_stop()
{
    std::unique_lock<std::mutex> lock(mutex_);
    stop_requested_.wait(lock, [this] { return stopping_; });
}

void RunPodApi::request_stop()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    stop_requested_.notify_all();
}

void RunPodApi::stop()
{
    request_stop();
    http_.stop();
}

void RunPodApi::handle(Exchange& exchange)
{
    if (exchange.path.rfind("/admin/", 0) == 0) {
        handle_admin(exchange);
        return;
    }
    auto parts = split_path(exchange.path);
    if (parts.size() < 3 || parts.size() > 4 || parts[0] != "v2") {
        send_error(exchange, 404, "No route for " + std::string(exchange.request.method_string()) + " " + exchange.path);
        return;
    }
    const std::string& operation = parts[2];
    const std::string job_id = parts.size() == 4 ? parts[3] : std::string();

    // What RunPod's edge does first: injected faults, then auth, endpoint lookup and the rate limit.
    if (auto fault = faults_.take(operation)) {
        spdlog::info("fault {} on {} {}", fault->kind, std::string(exchange.request.method_string()), exchange.path);
        if (fault->kind == "status") {
            send_fault_status(exchange, *fault);
            return;
        }
        if (fault->kind == "reset") {
            exchange.after = Exchange::After::reset;
            return;
        }
        if (fault->kind == "slow") {
            std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
        }
        if (fault->kind == "worker_death" && !job_id.empty()) {
            scheduler_.kill_worker_of(job_id);
        }
        if (fault->kind == "end_job" && !job_id.empty() && !scheduler_.end_job_with(job_id, fault->job_status)) {
            faults_.give_back(*fault);  // the job is not running yet: the rule waits for a later poll
        }
        if (fault->kind == "hide_worker_id") {
            handle_endpoint(exchange, operation, job_id);
            omit_worker_id(exchange.response);
            return;
        }
        if (fault->kind == "drop_stream_chunk") {
            // The reply is computed, so the chunks are consumed, and then lost with the connection.
            handle_endpoint(exchange, operation, job_id);
            exchange.after = Exchange::After::reset;
            return;
        }
    }
    handle_endpoint(exchange, operation, job_id);
}

void RunPodApi::handle_endpoint(Exchange& exchange, const std::string& operation, const std::string& job_id)
{
    std::string key(exchange.request[http::field::authorization]);
    if (key.size() > 7 && (key.compare(0, 7, "Bearer ") == 0 || key.compare(0, 7, "bearer ") == 0)) {
        key = key.substr(7);
    }
    if (key != config_.api_key) {
        send_error(exchange, 401, "Unauthorized");
        return;
    }
    if (split_path(exchange.path)[1] != config_.endpoint_id) {
        send_error(exchange, 404, "endpoint not found");
        return;
    }
    if (auto retry_after = faults_.rate_limited(operation, config_.rate_limit)) {
        send_error(exchange, 429,
                   "Too many requests: the limit is " + std::to_string(config_.rate_limit) + " per 10 seconds for " +
                       operation);
        exchange.response.set(http::field::retry_after, std::to_string(*retry_after));
        return;
    }

    const auto method = exchange.request.method();
    const bool has_job = !job_id.empty();
    if (operation == "run" && !has_job && method == http::verb::post) {
        auto body = parse_job_body(exchange, run_body_limit);
        if (body) {
            std::string id = scheduler_.submit((*body)["input"], body->value("policy", nlohmann::json()), false);
            spdlog::info("job {} submitted", id);
            exchange.response = json_response(exchange.request, 200, {{"id", id}, {"status", "IN_QUEUE"}});
        }
    } else if (operation == "runsync" && !has_job && method == http::verb::post) {
        std::int64_t wait_ms = runsync_default_wait_ms;
        if (auto wait = query_value(exchange.query, "wait")) {
            try {
                wait_ms = std::clamp<std::int64_t>(std::stoll(*wait), 1000, 300000);
            } catch (const std::exception&) {
                send_error(exchange, 400, "Invalid wait parameter '" + *wait + "': expected milliseconds");
                return;
            }
        }
        auto body = parse_job_body(exchange, runsync_body_limit);
        if (body) {
            std::string id = scheduler_.submit((*body)["input"], body->value("policy", nlohmann::json()), true);
            spdlog::info("job {} submitted (runsync, wait {} ms)", id, wait_ms);
            send_job(exchange, scheduler_.wait_for_job(id, wait_ms));
        }
    } else if (operation == "status" && has_job && (method == http::verb::get || method == http::verb::post)) {
        send_job(exchange, scheduler_.job_view(job_id));
    } else if (operation == "stream" && has_job && (method == http::verb::get || method == http::verb::post)) {
        send_job(exchange, scheduler_.stream(job_id));
    } else if (operation == "cancel" && has_job && method == http::verb::post) {
        send_job(exchange, scheduler_.cancel(job_id));
    } else if (operation == "health" && !has_job && method == http::verb::get) {
        exchange.response = json_response(exchange.request, 200, scheduler_.health());
    } else if (operation == "purge-queue" && !has_job && method == http::verb::post) {
        exchange.response =
            json_response(exchange.request, 200, {{"removed", scheduler_.purge_queue()}, {"status", "completed"}});
    } else {
        send_error(exchange, 404, "No route for " + std::string(exchange.request.method_string()) + " " + exchange.path);
    }
}

void RunPodApi::handle_admin(Exchange& exchange)
{
    if (!is_loopback(exchange.remote_address)) {
        send_error(exchange, 403, "Admin routes accept loopback clients only");
        return;
    }
    const auto method = exchange.request.method();
    const std::string& path = exchange.path;
    auto success = [&exchange] { exchange.response = json_response(exchange.request, 200, {{"success", true}}); };

    if (path == "/admin/ledger" && method == http::verb::get) {
        exchange.response = json_response(exchange.request, 200, scheduler_.ledger_json());
    } else if (path == "/admin/reset" && method == http::verb::post) {
        scheduler_.reset();
        spdlog::info("admin: reset jobs, workers and ledger");
        success();
    } else if (path == "/admin/invalidate-sessions" && method == http::verb::post) {
        scheduler_.invalidate_sessions();
        spdlog::info("admin: invalidated every worker session");
        success();
    } else if (path == "/admin/faults" && method == http::verb::get) {
        exchange.response = json_response(exchange.request, 200, faults_.to_json());
    } else if (path == "/admin/faults" && method == http::verb::post) {
        auto parsed = Faults::parse(json_too_deep(exchange.request.body())
                                        ? nlohmann::json(nlohmann::json::value_t::discarded)
                                        : nlohmann::json::parse(exchange.request.body(), nullptr, false));
        if (auto* message = std::get_if<std::string>(&parsed)) {
            send_error(exchange, 400, *message);
            return;
        }
        auto& rules = std::get<std::vector<FaultRule>>(parsed);
        spdlog::info("admin: {} fault rule(s) set", rules.size());
        faults_.replace(std::move(rules));
        exchange.response = json_response(exchange.request, 200, {{"success", true}, {"rules", faults_.to_json()}});
    } else if (path == "/admin/shutdown" && method == http::verb::post) {
        spdlog::info("admin: shutdown requested");
        success();
        exchange.response.keep_alive(false);
        exchange.after_write = [this] { request_stop(); };
    } else {
        send_error(exchange, 404, "No route for " + std::string(exchange.request.method_string()) + " " + path);
    }
}

} // namespace emulator
