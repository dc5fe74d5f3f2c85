#include "runpod_api.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

namespace emulator {
namespace {

// RunPod's documented body limits: /run 10 MB, /runsync 20 MB.
constexpr std::size_t run_body_limit = 10u * 1024 * 1024;
constexpr std::size_t runsync_body_limit = 20u * 1024 * 1024;
constexpr std::int64_t runsync_default_wait_ms = 90000;

void send_json(httplib::Response& response, int status, const nlohmann::json& body)
{
    response.status = status;
    response.set_content(body.dump(), "application/json; charset=utf-8");
}

void send_error(httplib::Response& response, int status, const std::string& message)
{
    send_json(response, status, {{"error", message}});
}

// Ends the reply after its headers, so the client sees a dropped connection instead of a body.
void reset_connection(httplib::Response& response)
{
    response.status = 200;
    response.set_content_provider(
        1, "application/json", [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
}

void send_fault_status(httplib::Response& response, const FaultRule& rule)
{
    if (!rule.retry_after.empty()) {
        response.set_header("Retry-After", rule.retry_after);
    }
    if (rule.html) {
        response.status = rule.status;
        response.set_content("<!DOCTYPE html><html><head><title>" + std::to_string(rule.status) +
                                 "</title></head><body><h1>Error " + std::to_string(rule.status) +
                                 "</h1><p>cloudflare</p></body></html>",
                             "text/html; charset=UTF-8");
        return;
    }
    send_error(response, rule.status, "Injected fault: HTTP " + std::to_string(rule.status));
}

bool is_loopback(const std::string& address)
{
    return address == "127.0.0.1" || address == "::1" || address == "::ffff:127.0.0.1" ||
           address.rfind("127.", 0) == 0;
}

std::optional<nlohmann::json> parse_job_body(const httplib::Request& request, httplib::Response& response,
                                              std::size_t limit)
{
    if (request.body.size() > limit) {
        send_error(response, 400, "Request body is " + std::to_string(request.body.size()) +
                                      " bytes; the limit for this operation is " + std::to_string(limit) + " bytes");
        return std::nullopt;
    }
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        send_error(response, 400, "Invalid JSON body: expected an object like {\"input\": {...}}");
        return std::nullopt;
    }
    if (!body.contains("input") || !body["input"].is_object()) {
        send_error(response, 400, "Missing \"input\": the body must contain an \"input\" object");
        return std::nullopt;
    }
    return body;
}

} // namespace

RunPodApi::RunPodApi(const Config& config, Scheduler& scheduler, Faults& faults)
    : config_(config), scheduler_(scheduler), faults_(faults), server_(std::make_unique<httplib::Server>())
{
    // runsync holds a thread for up to its wait, so the pool is far larger than httplib's default.
    server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
    server_->set_payload_max_length(runsync_body_limit + 1);
    server_->set_exception_handler([](const httplib::Request& request, httplib::Response& response,
                                      std::exception_ptr error) {
        std::string what = "unknown error";
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& caught) {
            what = caught.what();
        } catch (...) {
        }
        spdlog::error("{} {} failed: {}", request.method, request.path, what);
        send_error(response, 500, "Internal error in the emulator: " + what);
    });
    add_runpod_routes();
    add_admin_routes();
    auto not_found = [](const httplib::Request& request, httplib::Response& response) {
        send_error(response, 404, "No route for " + request.method + " " + request.path);
    };
    server_->Get(".*", not_found);
    server_->Post(".*", not_found);
    server_->Put(".*", not_found);
    server_->Delete(".*", not_found);
}

RunPodApi::~RunPodApi()
{
    stop();
}

std::uint16_t RunPodApi::bind()
{
    int port = config_.listen_port == 0 ? server_->bind_to_any_port(config_.listen_host)
                                        : (server_->bind_to_port(config_.listen_host, config_.listen_port)
                                               ? config_.listen_port
                                               : -1);
    if (port <= 0) {
        throw std::runtime_error("cannot listen on " + config_.listen_host + ":" + std::to_string(config_.listen_port));
    }
    return static_cast<std::uint16_t>(port);
}

void RunPodApi::serve()
{
    server_->listen_after_bind();
}

void RunPodApi::stop()
{
    server_->stop();
}

void RunPodApi::add_runpod_routes()
{
    // Wraps an endpoint handler with what RunPod's edge does first: faults, auth, endpoint lookup, rate limit.
    auto guarded = [this](std::string route, auto handler) {
        return [this, route, handler](const httplib::Request& request, httplib::Response& response) {
            if (auto fault = faults_.take(route)) {
                spdlog::info("fault {} on {} {}", fault->kind, request.method, request.path);
                if (fault->kind == "status") {
                    send_fault_status(response, *fault);
                    return;
                }
                if (fault->kind == "reset") {
                    reset_connection(response);
                    return;
                }
                if (fault->kind == "slow") {
                    std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
                }
                if (fault->kind == "worker_death" && request.matches.size() > 2) {
                    scheduler_.kill_worker_of(request.matches[2]);
                }
                if (fault->kind == "drop_stream_chunk") {
                    handler(request, response);
                    reset_connection(response);
                    return;
                }
            }

            std::string key = request.get_header_value("Authorization");
            if (key.size() > 7 && (key.compare(0, 7, "Bearer ") == 0 || key.compare(0, 7, "bearer ") == 0)) {
                key = key.substr(7);
            }
            if (key != config_.api_key) {
                send_error(response, 401, "Unauthorized");
                return;
            }
            if (request.matches[1] != config_.endpoint_id) {
                send_error(response, 404, "endpoint not found");
                return;
            }
            if (auto retry_after = faults_.rate_limited(route, config_.rate_limit)) {
                response.set_header("Retry-After", std::to_string(*retry_after));
                send_error(response, 429, "Too many requests: the limit is " + std::to_string(config_.rate_limit) +
                                              " per 10 seconds for " + route);
                return;
            }
            handler(request, response);
        };
    };

    auto job_reply = [](httplib::Response& response, const std::optional<nlohmann::json>& job) {
        if (job) {
            send_json(response, 200, *job);
        } else {
            send_error(response, 404, "job not found");
        }
    };

    server_->Post(R"(/v2/([^/]+)/run)", guarded("run", [this](const httplib::Request& request,
                                                               httplib::Response& response) {
        auto body = parse_job_body(request, response, run_body_limit);
        if (!body) {
            return;
        }
        std::string id = scheduler_.submit((*body)["input"], body->value("policy", nlohmann::json()), false);
        spdlog::info("job {} submitted", id);
        send_json(response, 200, {{"id", id}, {"status", "IN_QUEUE"}});
    }));

    server_->Post(R"(/v2/([^/]+)/runsync)", guarded("runsync", [this, job_reply](const httplib::Request& request,
                                                                                 httplib::Response& response) {
        auto body = parse_job_body(request, response, runsync_body_limit);
        if (!body) {
            return;
        }
        std::int64_t wait_ms = runsync_default_wait_ms;
        if (request.has_param("wait")) {
            try {
                wait_ms = std::clamp<std::int64_t>(std::stoll(request.get_param_value("wait")), 1000, 300000);
            } catch (const std::exception&) {
                send_error(response, 400, "Invalid wait parameter: expected milliseconds from 1000 to 300000");
                return;
            }
        }
        std::string id = scheduler_.submit((*body)["input"], body->value("policy", nlohmann::json()), true);
        spdlog::info("job {} submitted (runsync, wait {} ms)", id, wait_ms);
        job_reply(response, scheduler_.wait_for_job(id, wait_ms));
    }));

    auto status = guarded("status", [this, job_reply](const httplib::Request& request, httplib::Response& response) {
        job_reply(response, scheduler_.job_view(request.matches[2]));
    });
    server_->Get(R"(/v2/([^/]+)/status/([^/]+))", status);
    server_->Post(R"(/v2/([^/]+)/status/([^/]+))", status);

    auto stream = guarded("stream", [this, job_reply](const httplib::Request& request, httplib::Response& response) {
        job_reply(response, scheduler_.stream(request.matches[2]));
    });
    server_->Get(R"(/v2/([^/]+)/stream/([^/]+))", stream);
    server_->Post(R"(/v2/([^/]+)/stream/([^/]+))", stream);

    server_->Post(R"(/v2/([^/]+)/cancel/([^/]+))",
                  guarded("cancel", [this, job_reply](const httplib::Request& request, httplib::Response& response) {
                      job_reply(response, scheduler_.cancel(request.matches[2]));
                  }));

    server_->Get(R"(/v2/([^/]+)/health)",
                 guarded("health", [this](const httplib::Request&, httplib::Response& response) {
                     send_json(response, 200, scheduler_.health());
                 }));

    server_->Post(R"(/v2/([^/]+)/purge-queue)",
                  guarded("purge-queue", [this](const httplib::Request&, httplib::Response& response) {
                      send_json(response, 200, {{"removed", scheduler_.purge_queue()}, {"status", "completed"}});
                  }));
}

void RunPodApi::add_admin_routes()
{
    auto admin = [](auto handler) {
        return [handler](const httplib::Request& request, httplib::Response& response) {
            if (!is_loopback(request.remote_addr)) {
                send_error(response, 403, "Admin routes accept loopback clients only");
                return;
            }
            handler(request, response);
        };
    };

    server_->Get("/admin/ledger", admin([this](const httplib::Request&, httplib::Response& response) {
                     send_json(response, 200, scheduler_.ledger_json());
                 }));
    server_->Post("/admin/reset", admin([this](const httplib::Request&, httplib::Response& response) {
                      scheduler_.reset();
                      spdlog::info("admin: reset jobs, workers and ledger");
                      send_json(response, 200, {{"success", true}});
                  }));
    server_->Post("/admin/invalidate-sessions", admin([this](const httplib::Request&, httplib::Response& response) {
                      scheduler_.invalidate_sessions();
                      spdlog::info("admin: invalidated every worker session");
                      send_json(response, 200, {{"success", true}});
                  }));
    server_->Get("/admin/faults", admin([this](const httplib::Request&, httplib::Response& response) {
                     send_json(response, 200, faults_.to_json());
                 }));
    server_->Post("/admin/faults", admin([this](const httplib::Request& request, httplib::Response& response) {
                      auto body = nlohmann::json::parse(request.body, nullptr, false);
                      auto parsed = Faults::parse(body);
                      if (auto* message = std::get_if<std::string>(&parsed)) {
                          send_error(response, 400, *message);
                          return;
                      }
                      auto& rules = std::get<std::vector<FaultRule>>(parsed);
                      spdlog::info("admin: {} fault rule(s) set", rules.size());
                      faults_.replace(std::move(rules));
                      send_json(response, 200, {{"success", true}, {"rules", faults_.to_json()}});
                  }));
    server_->Post("/admin/shutdown", admin([this](const httplib::Request&, httplib::Response& response) {
                      spdlog::info("admin: shutdown requested");
                      send_json(response, 200, {{"success", true}});
                      // stop() only closes the listening socket; this reply is still written before serve() returns.
                      server_->stop();
                  }));
}

} // namespace emulator
