// runpod::Client against a real cpp-httplib server on 127.0.0.1 that plays RunPod.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/client.hpp"
#include "log/log.hpp"
#include "loopback_server.hpp"
#include "runpod/client.hpp"
#include "swarmpod/swarmpod.h"

namespace swarmpod::runpod {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::LoopbackServer;

constexpr const char* kKey = "rpa_TESTKEY_abcdef123456";
constexpr const char* kEndpoint = "ep1";
constexpr const char* kRunPodBase = "https://api.runpod.ai/v2";

RetryPolicy fast_retries(int max_attempts = 5) {
    RetryPolicy policy;
    policy.max_attempts = max_attempts;
    policy.base_delay = 10ms;
    policy.max_delay = 50ms;
    return policy;
}

EndpointConfig config_for(const std::string& base_url) {
    EndpointConfig config;
    config.base_url = base_url;
    config.endpoint_id = kEndpoint;
    config.api_key = kKey;
    return config;
}

// Runs `body` and returns the Error it throws; fails the test if it throws nothing.
template <class Body>
Error error_from(Body&& body) {
    try {
        body();
    } catch (const Error& error) {
        EXPECT_EQ(std::string(error.what()).find(kKey), std::string::npos) << "key leaked: " << error.what();
        return error;
    }
    ADD_FAILURE() << "expected an Error";
    return Error(Status::ok, "");
}

void reply_json(httplib::Response& response, const json& body, int status = 200) {
    response.status = status;
    response.set_content(body.dump(), "application/json");
}

TEST(RunpodClient, RunSendsBearerAndInput) {
    LoopbackServer server;
    std::string seen_auth, seen_body, seen_type;
    server.server().Post("/ep1/run", [&](const httplib::Request& request, httplib::Response& response) {
        seen_auth = request.get_header_value("Authorization");
        seen_type = request.get_header_value("Content-Type");
        seen_body = request.body;
        reply_json(response, {{"id", "job-1"}, {"status", "IN_QUEUE"}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Job job = client.run({{"action", "lease"}}, Deadline::in(5s));

    EXPECT_EQ(job.id, "job-1");
    EXPECT_EQ(job.state, JobState::in_queue);
    EXPECT_EQ(seen_auth, std::string("Bearer ") + kKey);
    EXPECT_EQ(seen_type, "application/json");
    EXPECT_EQ(json::parse(seen_body), json({{"input", {{"action", "lease"}}}}));
}

TEST(RunpodClient, BaseUrlTrailingSlashIsIgnored) {
    LoopbackServer server;
    server.server().Get("/ep1/health", [&](const httplib::Request&, httplib::Response& response) {
        reply_json(response, {{"workers", {{"ready", 2}}}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url() + "/"), fast_retries());
    EXPECT_EQ(client.health(Deadline::in(5s)).workers_ready, 2);
}

TEST(RunpodClient, Unauthorized401IsAuth) {
    LoopbackServer server;
    server.server().Get(R"(/ep1/status/([^/]+))", [](const httplib::Request&, httplib::Response& response) {
        reply_json(response, {{"error", "Unauthorized"}}, 401);
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Error error = error_from([&] { client.status("job-1", Deadline::in(5s)); });
    EXPECT_EQ(error.status(), Status::auth);
    EXPECT_NE(std::string(error.what()).find("'ep1'"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("HTTP 401"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("API Keys"), std::string::npos) << error.what();
}

TEST(RunpodClient, Forbidden403IsAuthNotRetried) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    server.server().Get("/ep1/health", [&](const httplib::Request&, httplib::Response& response) {
        ++hits;
        reply_json(response, {{"error", "forbidden"}}, 403);
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Error error = error_from([&] { client.health(Deadline::in(5s)); });
    EXPECT_EQ(error.status(), Status::auth);
    EXPECT_NE(std::string(error.what()).find("HTTP 403"), std::string::npos) << error.what();
    EXPECT_EQ(hits.load(), 1);
}

TEST(RunpodClient, NotFound404NamesEndpointAndExpiry) {
    LoopbackServer server;
    server.server().Get(R"(/ep1/status/([^/]+))", [](const httplib::Request&, httplib::Response& response) {
        reply_json(response, {{"error", "job not found"}}, 404);
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Error error = error_from([&] { client.status("gone-u1", Deadline::in(5s)); });
    EXPECT_EQ(error.status(), Status::not_found);
    EXPECT_NE(std::string(error.what()).find("'ep1'"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("/status"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("expired"), std::string::npos) << error.what();
}

TEST(RunpodClient, UnknownEndpointOnV2IsNotFound) {
    LoopbackServer server;
    server.server().Post("/v2/nope/run", [](const httplib::Request&, httplib::Response& response) {
        reply_json(response, {{"error", "endpoint not found"}}, 404);
    });
    server.start();

    http::Client http(http::ClientOptions{});
    EndpointConfig config = config_for(server.url() + "/v2");
    config.endpoint_id = "nope";
    Client client(http, config, fast_retries());
    const Error error = error_from([&] { client.run(json::object(), Deadline::in(5s)); });
    const std::string message = error.what();
    EXPECT_EQ(error.status(), Status::not_found);
    EXPECT_NE(message.find("endpoint 'nope' was not found"), std::string::npos) << message;
    EXPECT_NE(message.find("check the Endpoint ID"), std::string::npos) << message;
    EXPECT_EQ(message.find("API base"), std::string::npos) << message;
}

TEST(RunpodClient, NotFoundOffV2PathNamesApiBase) {
    LoopbackServer server;  // no routes: every request gets cpp-httplib's empty 404
    server.start();

    http::Client http(http::ClientOptions{});
    for (const std::string& base : {server.url(), server.url() + "/wrong", server.url() + "/v2x"}) {
        Client client(http, config_for(base), fast_retries());
        const Error run_error = error_from([&] { client.run(json::object(), Deadline::in(5s)); });
        const std::string message = run_error.what();
        EXPECT_EQ(run_error.status(), Status::bad_response) << base;
        EXPECT_NE(message.find("The RunPod API base URL '" + base + "' is not a RunPod Serverless API"),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find("ApiBaseUrl"), std::string::npos) << message;
        EXPECT_NE(message.find("https://api.runpod.ai/v2"), std::string::npos) << message;

        const Error health_error = error_from([&] { client.health(Deadline::in(5s)); });
        EXPECT_EQ(health_error.status(), Status::bad_response) << base;
    }
}

TEST(RunpodClient, NonJsonNotFoundOnV2NamesBoth) {
    LoopbackServer server;
    server.server().Get("/v2/ep1/health", [](const httplib::Request&, httplib::Response& response) {
        response.status = 404;
        response.set_content("<html><body>Not Found</body></html>", "text/html");
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url() + "/v2"), fast_retries());
    const Error error = error_from([&] { client.health(Deadline::in(5s)); });
    const std::string message = error.what();
    EXPECT_EQ(error.status(), Status::not_found);
    EXPECT_NE(message.find("check the Endpoint ID"), std::string::npos) << message;
    EXPECT_NE(message.find("'" + server.url() + "/v2'"), std::string::npos) << message;
    EXPECT_NE(message.find("an HTML page"), std::string::npos) << message;
}

TEST(RunpodClient, UnreachableBaseIsNamed) {
    const std::string base = "http://127.0.0.1:" + std::to_string(test::closed_loopback_port()) + "/v2";
    http::Client http(http::ClientOptions{});
    Client client(http, config_for(base), fast_retries(1));

    const Error error = error_from([&] { client.health(Deadline::in(5s)); });
    const std::string message = error.what();
    EXPECT_EQ(error.status(), Status::network);
    EXPECT_NE(message.find("The RunPod API base URL '" + base + "' could not be reached"), std::string::npos)
        << message;
    EXPECT_NE(message.find("check ApiBaseUrl"), std::string::npos) << message;
    EXPECT_EQ(message.find("not found"), std::string::npos) << message;
}

TEST(RunpodClient, RateLimitedRunIsRetriedOnce) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    std::atomic<int> jobs_created{0};
    server.server().Post("/ep1/run", [&](const httplib::Request&, httplib::Response& response) {
        if (++hits == 1) {
            response.set_header("Retry-After", "0");
            reply_json(response, {{"error", "too many requests"}}, 429);
            return;
        }
        ++jobs_created;
        reply_json(response, {{"id", "job-after-429"}, {"status", "IN_QUEUE"}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Job job = client.run(json::object(), Deadline::in(5s));
    EXPECT_EQ(job.id, "job-after-429");
    EXPECT_EQ(hits.load(), 2);
    EXPECT_EQ(jobs_created.load(), 1);
}

TEST(RunpodClient, ServerErrorHtmlIsSummarised) {
    LoopbackServer server;
    server.server().Get(R"(/ep1/status/([^/]+))", [](const httplib::Request&, httplib::Response& response) {
        response.status = 500;
        response.set_content("<!DOCTYPE html><html><body><h1>Internal Server Error</h1>cf-ray 123</body></html>",
                             "text/html");
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries(2));
    const Error error = error_from([&] { client.status("job-1", Deadline::in(5s)); });
    const std::string message = error.what();
    EXPECT_EQ(error.status(), Status::server);
    EXPECT_NE(message.find("HTTP 500"), std::string::npos) << message;
    EXPECT_NE(message.find("an HTML page"), std::string::npos) << message;
    EXPECT_NE(message.find("try again"), std::string::npos) << message;
    EXPECT_EQ(message.find("<html"), std::string::npos) << message;
    EXPECT_EQ(message.find("Internal Server Error"), std::string::npos) << message;
}

TEST(RunpodClient, Status503IsRetriedThenSucceeds) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    server.server().Get(R"(/ep1/status/([^/]+))", [&](const httplib::Request& request, httplib::Response& response) {
        if (++hits <= 2) {
            reply_json(response, {{"error", "unavailable"}}, 503);
            return;
        }
        reply_json(response, {{"id", request.matches[1].str()}, {"status", "COMPLETED"}, {"output", {{"ok", true}}}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Job job = client.status("job-7", Deadline::in(5s));
    EXPECT_EQ(job.id, "job-7");
    EXPECT_EQ(job.state, JobState::completed);
    EXPECT_EQ(hits.load(), 3);
}

TEST(RunpodClient, SubmitOn502IsNotRetried) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    server.server().Post("/ep1/run", [&](const httplib::Request&, httplib::Response& response) {
        ++hits;
        response.status = 502;
        response.set_content("<html>Bad gateway</html>", "text/html");
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Error error = error_from([&] { client.run(json::object(), Deadline::in(5s)); });
    EXPECT_EQ(error.status(), Status::server);
    EXPECT_NE(std::string(error.what()).find("HTTP 502 for /run on endpoint 'ep1'"), std::string::npos)
        << error.what();
    EXPECT_EQ(hits.load(), 1);
}

TEST(RunpodClient, RateLimitStormEndsRateLimited) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    server.server().Post("/ep1/run", [&](const httplib::Request&, httplib::Response& response) {
        ++hits;
        reply_json(response, {{"error", "rate limited"}}, 429);
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries(4));
    const Error error = error_from([&] { client.run(json::object(), Deadline::in(10s)); });
    EXPECT_EQ(error.status(), Status::rate_limited);
    EXPECT_NE(std::string(error.what()).find("/run"), std::string::npos) << error.what();
    EXPECT_EQ(hits.load(), 4);
}

TEST(RunpodClient, DeadlineStopsRetriesEarly) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    server.server().Get(R"(/ep1/status/([^/]+))", [&](const httplib::Request&, httplib::Response& response) {
        ++hits;
        response.set_header("Retry-After", "1");
        reply_json(response, {{"error", "unavailable"}}, 503);
    });
    server.start();

    RetryPolicy policy = fast_retries(5);
    policy.max_delay = 5s;
    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), policy);
    const auto started = std::chrono::steady_clock::now();
    const Error error = error_from([&] { client.status("job-1", Deadline::in(1500ms)); });
    const auto elapsed = std::chrono::steady_clock::now() - started;

    EXPECT_EQ(error.status(), Status::server);
    EXPECT_EQ(hits.load(), 2) << "the third attempt would start after the deadline";
    EXPECT_LT(elapsed, 1500ms);
}

TEST(RunpodClient, CancelDuringBackoffIsQuick) {
    LoopbackServer server;
    server.server().Get("/ep1/health", [&](const httplib::Request&, httplib::Response& response) {
        response.set_header("Retry-After", "5");
        reply_json(response, {{"error", "unavailable"}}, 503);
    });
    server.start();

    RetryPolicy policy = fast_retries(5);
    policy.max_delay = 10s;
    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), policy);
    CancelToken cancel;
    std::thread canceller([&] {
        std::this_thread::sleep_for(200ms);
        cancel.cancel();
    });
    const auto started = std::chrono::steady_clock::now();
    const Error error = error_from([&] { client.health(Deadline::in(30s), &cancel); });
    const auto elapsed = std::chrono::steady_clock::now() - started;
    canceller.join();

    EXPECT_EQ(error.status(), Status::cancelled);
    EXPECT_LT(elapsed, 1s);
}

TEST(RunpodClient, RefusedSubmitIsSentAgain) {
    struct Lines {
        std::mutex mutex;
        std::vector<std::string> retries;
    } lines;
    log::set_host_callback(
        [](void* user_data, int, const char* message) {
            auto* captured = static_cast<Lines*>(user_data);
            std::lock_guard<std::mutex> lock(captured->mutex);
            if (std::string(message).find("; retry ") != std::string::npos) captured->retries.emplace_back(message);
        },
        &lines, SWARMPOD_LOG_DEBUG);

    const int port = test::closed_loopback_port();
    http::Client http(http::ClientOptions{});
    Client client(http, config_for("http://127.0.0.1:" + std::to_string(port)), fast_retries(3));
    const Error error = error_from([&] { client.run(json::object(), Deadline::in(5s)); });
    log::set_host_callback(nullptr, nullptr, SWARMPOD_LOG_OFF);

    EXPECT_EQ(error.status(), Status::network);
    EXPECT_NE(std::string(error.what()).find("cannot connect"), std::string::npos) << error.what();
    ASSERT_EQ(lines.retries.size(), 2u) << "a refused connection certainly sent nothing, so /run is sent again";
    EXPECT_NE(lines.retries[0].find("RunPod /run for endpoint ep1 failed"), std::string::npos) << lines.retries[0];
    EXPECT_NE(lines.retries[0].find("retry 1 of 2"), std::string::npos) << lines.retries[0];
    for (const std::string& line : lines.retries) EXPECT_EQ(line.find(kKey), std::string::npos) << line;
}

TEST(RunpodClient, AmbiguousSubmitFailureIsNotRetried) {
    LoopbackServer server;
    std::atomic<int> hits{0};
    std::atomic<bool> released{false};
    server.server().Post("/ep1/run", [&](const httplib::Request&, httplib::Response& response) {
        ++hits;
        const auto until = std::chrono::steady_clock::now() + 3s;
        while (!released.load() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
        reply_json(response, {{"id", "late"}, {"status", "IN_QUEUE"}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Error error = error_from([&] { client.run(json::object(), Deadline::in(300ms)); });
    released = true;

    EXPECT_EQ(error.status(), Status::timeout);
    EXPECT_NE(std::string(error.what()).find("not sent again"), std::string::npos) << error.what();
    EXPECT_EQ(hits.load(), 1);
}

TEST(RunpodClient, RunsyncClampsWait) {
    LoopbackServer server;
    std::mutex mutex;
    std::vector<std::string> waits;
    server.server().Post("/ep1/runsync", [&](const httplib::Request& request, httplib::Response& response) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            waits.push_back(request.get_param_value("wait"));
        }
        reply_json(response, {{"id", "sync-1"}, {"status", "IN_PROGRESS"}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Job job = client.runsync(json::object(), 10ms, Deadline::in(600s));
    EXPECT_EQ(job.id, "sync-1");
    EXPECT_EQ(job.state, JobState::in_progress);
    client.runsync(json::object(), 300000ms, Deadline::in(600s));
    client.runsync(json::object(), 60000ms, Deadline::in(25s));

    ASSERT_EQ(waits.size(), 3u);
    EXPECT_EQ(waits[0], "1000");
    EXPECT_EQ(waits[1], "90000");
    const int shortened = std::stoi(waits[2]);
    EXPECT_LE(shortened, 15000) << "the wait leaves 10 s for the reply before the deadline";
    EXPECT_GE(shortened, 14000);
}

TEST(RunpodClient, NonJsonSuccessIsBadResponse) {
    LoopbackServer server;
    server.server().Get(R"(/ep1/status/([^/]+))", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("<html>maintenance</html>", "text/html");
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Error error = error_from([&] { client.status("job-1", Deadline::in(5s)); });
    EXPECT_EQ(error.status(), Status::bad_response);
    EXPECT_NE(std::string(error.what()).find("not JSON for /status"), std::string::npos) << error.what();
    EXPECT_EQ(std::string(error.what()).find("maintenance"), std::string::npos) << error.what();
}

TEST(RunpodClient, ReplyWithoutIdIsBadResponse) {
    LoopbackServer server;
    server.server().Post("/ep1/run", [](const httplib::Request&, httplib::Response& response) {
        reply_json(response, {{"status", "IN_QUEUE"}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());
    const Error error = error_from([&] { client.run(json::object(), Deadline::in(5s)); });
    EXPECT_EQ(error.status(), Status::bad_response);
    EXPECT_NE(std::string(error.what()).find("'id'"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("/run"), std::string::npos) << error.what();
}

TEST(RunpodClient, CancelStreamAndHealth) {
    LoopbackServer server;
    std::string cancel_method;
    server.server().Post(R"(/ep1/cancel/([^/]+))", [&](const httplib::Request& request, httplib::Response& response) {
        cancel_method = request.method;
        reply_json(response, {{"id", request.matches[1].str()}, {"status", "CANCELLED"}});
    });
    server.server().Get(R"(/ep1/stream/([^/]+))", [](const httplib::Request&, httplib::Response& response) {
        reply_json(response, {{"status", "IN_PROGRESS"}, {"stream", {{{"output", {{"url", "https://w"}}}}}}});
    });
    server.server().Get("/ep1/health", [](const httplib::Request&, httplib::Response& response) {
        reply_json(response, {{"jobs", {{"inQueue", 2}}}, {"workers", {{"running", 1}, {"idle", 3}}}});
    });
    server.start();

    http::Client http(http::ClientOptions{});
    Client client(http, config_for(server.url()), fast_retries());

    const Job cancelled = client.cancel("job-9", Deadline::in(5s));
    EXPECT_EQ(cancelled.id, "job-9");
    EXPECT_EQ(cancelled.state, JobState::cancelled);
    EXPECT_EQ(cancel_method, "POST");

    const StreamReply stream = client.stream("job-9", Deadline::in(5s));
    EXPECT_EQ(stream.state, JobState::in_progress);
    ASSERT_EQ(stream.chunks.size(), 1u);
    EXPECT_EQ(stream.chunks[0].output["url"], "https://w");

    const Health health = client.health(Deadline::in(5s));
    EXPECT_EQ(health.jobs_in_queue, 2);
    EXPECT_EQ(health.workers_running, 1);
    EXPECT_EQ(health.workers_idle, 3);
}

TEST(RunpodClient, RejectsUnsafeIdsAndKeys) {
    http::Client http(http::ClientOptions{});
    Client client(http, config_for("http://127.0.0.1:1"), fast_retries());

    for (const char* bad : {"../x", "a/b", "a?b", "a b", "", "id%2F"}) {
        const Error error = error_from([&] { client.status(bad, Deadline::in(1s)); });
        EXPECT_EQ(error.status(), Status::invalid_argument) << bad;
        EXPECT_NE(std::string(error.what()).find("job id"), std::string::npos) << error.what();
    }

    EndpointConfig bad_endpoint = config_for("http://127.0.0.1:1");
    bad_endpoint.endpoint_id = "ep/1";
    EXPECT_EQ(error_from([&] { Client(http, bad_endpoint); }).status(), Status::invalid_argument);

    EndpointConfig no_key = config_for("http://127.0.0.1:1");
    no_key.api_key.clear();
    EXPECT_EQ(error_from([&] { Client(http, no_key); }).status(), Status::no_api_key);

    EndpointConfig key_with_newline = config_for("http://127.0.0.1:1");
    key_with_newline.api_key = std::string(kKey) + "\n";
    const Error newline_error = error_from([&] { Client(http, key_with_newline); });
    EXPECT_EQ(newline_error.status(), Status::invalid_argument);

    EndpointConfig bad_base = config_for("ftp://example.invalid");
    EXPECT_EQ(error_from([&] { Client(http, bad_base); }).status(), Status::invalid_argument);
}

TEST(RunpodClient, MapHttpErrorMessages) {
    const Error bad_request = map_http_error(400, R"({"error":"input is required"})", "abc", "/run", kRunPodBase);
    EXPECT_EQ(bad_request.status(), Status::bad_response);
    EXPECT_NE(std::string(bad_request.what()).find("input is required"), std::string::npos) << bad_request.what();

    const Error too_large = map_http_error(413, "", "abc", "/run", kRunPodBase);
    EXPECT_EQ(too_large.status(), Status::bad_response);
    EXPECT_NE(std::string(too_large.what()).find("10 MB"), std::string::npos) << too_large.what();

    const Error server = map_http_error(502, "", "abc", "/run", kRunPodBase);
    EXPECT_EQ(server.status(), Status::server);
    EXPECT_EQ(std::string(server.what()),
              "RunPod answered HTTP 502 for /run on endpoint 'abc' (an empty body). This is usually temporary; "
              "try again.");

    const Error run_not_found = map_http_error(404, "", "abc", "/run", kRunPodBase);
    EXPECT_EQ(std::string(run_not_found.what()).find("expired"), std::string::npos) << run_not_found.what();

    const Error job_not_found = map_http_error(404, "", "abc", "/status", "http://127.0.0.1:9/other");
    EXPECT_EQ(job_not_found.status(), Status::not_found) << "a job 404 is an expired job, whatever the base";
    EXPECT_NE(std::string(job_not_found.what()).find("expired"), std::string::npos) << job_not_found.what();

    const Error host_only = map_http_error(404, R"({"error":"x"})", "abc", "/health", "https://example.invalid");
    EXPECT_EQ(host_only.status(), Status::bad_response) << host_only.what();

    log::add_secret(kKey);
    const std::string long_text = std::string("token ") + kKey + " " + std::string(1000, 'z');
    const Error long_body = map_http_error(418, long_text, "abc", "/status", kRunPodBase);
    const std::string message = long_body.what();
    EXPECT_EQ(message.find(kKey), std::string::npos) << message;
    EXPECT_NE(message.find("token ***"), std::string::npos) << message;
    EXPECT_LT(message.size(), 400u) << message;
    log::remove_secret(kKey);
}

}  // namespace
}  // namespace swarmpod::runpod
