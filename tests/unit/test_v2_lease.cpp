// worker::acquire_v2 against a cpp-httplib server on 127.0.0.1 that plays RunPod, for the
// lease job states the emulator reaches only by chance.
#include <atomic>
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/cancel.hpp"
#include "core/error.hpp"
#include "http/client.hpp"
#include "loopback_server.hpp"
#include "runpod/client.hpp"
#include "worker/job_tracker.hpp"
#include "worker/v2_lease.hpp"

namespace swarmpod::worker {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json first_output() {
    return json{{"success", true},          {"public_url", "https://pod1-7801.proxy.runpod.net"},
                {"token", "lease-token-0123456789abcdef"}, {"worker_id", "pod1"},
                {"lease", 1},               {"version", "2.0.0"},
                {"protocol", 2},            {"idle_seconds", 35.0},
                {"startup_grace_seconds", 130.0}, {"max_lease_seconds", 3600.0}};
}

void reply_json(httplib::Response& response, const json& body) {
    response.status = 200;
    response.set_content(body.dump(), "application/json");
}

// A RunPod endpoint "ep1" whose lease job "lease-1" streams its first output with
// `stream_state`, and whose /status then reports `status_state`.
class FakeLeaseEndpoint {
public:
    FakeLeaseEndpoint(std::string stream_state, std::string status_state) {
        auto& http = server_.server();
        http.Post("/ep1/run", [](const httplib::Request&, httplib::Response& response) {
            reply_json(response, {{"id", "lease-1"}, {"status", "IN_QUEUE"}});
        });
        http.Get("/ep1/stream/lease-1", [stream_state](const httplib::Request&, httplib::Response& response) {
            reply_json(response, {{"status", stream_state}, {"stream", {{{"output", first_output()}}}}});
        });
        http.Get("/ep1/status/lease-1", [status_state](const httplib::Request&, httplib::Response& response) {
            reply_json(response, {{"id", "lease-1"},
                                  {"status", status_state},
                                  {"workerId", "pod1"},
                                  {"delayTime", 1200},
                                  {"output", json::array({first_output()})}});
        });
        http.Post("/ep1/cancel/lease-1", [this, status_state](const httplib::Request&, httplib::Response& response) {
            ++cancels;
            reply_json(response, {{"id", "lease-1"}, {"status", status_state == "IN_PROGRESS" ? "CANCELLED" : status_state}});
        });
        server_.start();
    }

    std::string url() const { return server_.url(); }
    std::atomic<int> cancels{0};

private:
    test::LoopbackServer server_;
};

// Runs acquire_v2 against `endpoint` with short limits.
Lease acquire(FakeLeaseEndpoint& endpoint, JobTracker& tracker) {
    http::Client http(http::ClientOptions{});
    runpod::EndpointConfig config;
    config.base_url = endpoint.url();
    config.endpoint_id = "ep1";
    config.api_key = "rpa_TESTKEY_abcdef123456";
    runpod::Client client(http, config);
    CancelToken withdraw;
    CancelToken abort;
    AcquireContext context{client,       tracker,  config.api_key, Millis(50), Deadline::in(5s), UrlPolicy{},
                           withdraw,     abort,    [](int, const std::string&, const std::string&) {}};
    return acquire_v2(context);
}

TEST(AcquireV2, FirstOutputGivesLease) {
    FakeLeaseEndpoint endpoint("IN_PROGRESS", "IN_PROGRESS");
    JobTracker tracker;
    const Lease lease = acquire(endpoint, tracker);
    EXPECT_EQ(lease.hold_job_id, "lease-1");
    EXPECT_EQ(lease.worker_id, "pod1");
    EXPECT_EQ(lease.token, "lease-token-0123456789abcdef");
    EXPECT_EQ(endpoint.cancels.load(), 0);
}

// A lease job that ended while its first output was read has a revoked token, so the
// lease must not reach the readiness check, where the gateway rejects the token.
TEST(AcquireV2, LeaseEndedWithFirstOutputFails) {
    for (const auto& [stream_state, status_state] :
         {std::pair<std::string, std::string>{"CANCELLED", "CANCELLED"}, {"IN_PROGRESS", "TIMED_OUT"}}) {
        FakeLeaseEndpoint endpoint(stream_state, status_state);
        JobTracker tracker;
        try {
            acquire(endpoint, tracker);
            ADD_FAILURE() << "no error for /stream " << stream_state << ", /status " << status_state;
        } catch (const Error& error) {
            EXPECT_EQ(error.status(), Status::job_failed) << error.what();
            EXPECT_NE(std::string(error.what()).find("before a worker was ready"), std::string::npos) << error.what();
        }
        EXPECT_EQ(tracker.size(), 0u) << "/stream " << stream_state << ", /status " << status_state;
    }
}

}  // namespace
}  // namespace swarmpod::worker
