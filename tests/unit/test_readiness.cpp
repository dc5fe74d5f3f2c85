// Readiness of a newly held worker, against a loopback server that plays the worker's
// SwarmUI in the states the emulator does not produce.
#include <gtest/gtest.h>

#include <atomic>

#include "core/error.hpp"
#include "http/client.hpp"
#include "unit/loopback_server.hpp"
#include "worker/readiness.hpp"

namespace {

using swarmpod::Deadline;
using swarmpod::Error;
using swarmpod::Millis;
using swarmpod::Status;
using swarmpod::test::LoopbackServer;

// A SwarmUI with fixed ListBackends and ListRecentLogMessages replies.
struct FakeWorker {
    explicit FakeWorker(std::string backends_reply, std::string log_reply = "{}") {
        auto& http = server.server();
        http.Post("/API/GetNewSession", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"session_id": "0123456789abcdef0123456789abcdef01234567"})", "application/json");
        });
        http.Post("/API/ListBackends", [this, backends_reply](const httplib::Request&, httplib::Response& res) {
            ++list_calls;
            res.set_content(backends_reply, "application/json");
        });
        http.Post("/API/ListRecentLogMessages", [log_reply](const httplib::Request&, httplib::Response& res) {
            res.set_content(log_reply, "application/json");
        });
        server.start();
    }
    LoopbackServer server;
    std::atomic<int> list_calls{0};
};

swarmpod::worker::Lease lease_at(const std::string& url) {
    swarmpod::worker::Lease lease;
    lease.worker_id = "w-test";
    lease.public_url = url;
    lease.requested_at = swarmpod::Clock::now();
    return lease;
}

swarmpod::worker::ReadinessLimits short_limits() {
    swarmpod::worker::ReadinessLimits limits;
    limits.deadline = Deadline::in(Millis(5000));
    limits.errored_after = Millis(300);
    limits.no_backend_after = Millis(300);
    limits.never_answered_after = Millis(300);
    limits.max_poll_interval = Millis(50);
    return limits;
}

std::string readiness_error(const std::string& url) {
    swarmpod::http::Client http(swarmpod::http::ClientOptions{});
    swarmpod::CancelToken cancel;
    try {
        swarmpod::worker::wait_until_ready(http, lease_at(url), short_limits(), cancel,
                                           [](int, const std::string&, const std::string&) {});
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

TEST(Readiness, RunningBackendIsReady) {
    FakeWorker worker(R"({"0": {"type": "comfyui_selfstart", "status": "running"}})");
    EXPECT_EQ(readiness_error(worker.server.url()), "");
}

TEST(Readiness, WaitsWhileLoading) {
    FakeWorker worker(R"({"0": {"status": "running"}, "1": {"status": "loading"}})");
    const std::string message = readiness_error(worker.server.url());
    EXPECT_NE(message.find("did not bring up a usable SwarmUI backend"), std::string::npos) << message;
    EXPECT_GT(worker.list_calls.load(), 3);
}

TEST(Readiness, NoBackendConfigured) {
    FakeWorker worker("{}");
    const std::string message = readiness_error(worker.server.url());
    EXPECT_NE(message.find("no backend configured"), std::string::npos) << message;
}

TEST(Readiness, ErroredBackendQuotesLog) {
    FakeWorker worker(R"({"0": {"type": "comfyui_selfstart", "status": "errored"}})",
                      R"({"data": {"Error": [{"message": "first"}, {"message": "ComfyUI failed: CUDA out of memory"}]}})");
    const std::string message = readiness_error(worker.server.url());
    EXPECT_NE(message.find("could not start its generation backend"), std::string::npos) << message;
    EXPECT_NE(message.find("CUDA out of memory"), std::string::npos) << message;
}

TEST(Readiness, NeverAnsweredNamesPort) {
    const int port = swarmpod::test::closed_loopback_port();
    const std::string message = readiness_error("http://127.0.0.1:" + std::to_string(port));
    EXPECT_NE(message.find("never answered"), std::string::npos) << message;
    EXPECT_NE(message.find("7801"), std::string::npos) << message;
}

TEST(BackendCounts, CountsByStatus) {
    const nlohmann::json reply = nlohmann::json::parse(R"({
        "0": {"type": "comfyui_selfstart", "status": "running"},
        "1": {"type": "comfyui_selfstart", "status": "loading"},
        "2": {"type": "comfyui_selfstart", "status": "waiting"},
        "3": {"type": "swarmswarmbackend", "status": "errored"},
        "4": {"status": "disabled"},
        "5": {"status": "idle"},
        "6": "not a backend"})");
    const swarmpod::worker::BackendCounts counts = swarmpod::worker::count_backends(reply);
    EXPECT_EQ(counts.total, 6);
    EXPECT_EQ(counts.running, 1);
    EXPECT_EQ(counts.loading, 2);
    EXPECT_EQ(counts.failed, 2);
    EXPECT_EQ(counts.failed_summary, "swarmswarmbackend=errored");
}

TEST(BackendCounts, NonObjectReplyIsEmpty) {
    EXPECT_EQ(swarmpod::worker::count_backends(nlohmann::json::array({1})).total, 0);
}

TEST(RecentErrorText, LastTwoMessages) {
    const nlohmann::json reply = nlohmann::json::parse(
        R"({"data": {"Error": [{"message": "one"}, {"message": "two"}, {"message": "three"}]}})");
    EXPECT_EQ(swarmpod::worker::recent_error_text(reply), "two | three");
}

TEST(RecentErrorText, NonStringMessageEmpty) {
    const nlohmann::json reply = {{"Error", {{{"message", 42}}, {{"message", "disk full"}}}}};
    EXPECT_EQ(swarmpod::worker::recent_error_text(reply), "disk full");
}

TEST(RecentErrorText, CutTo600Bytes) {
    const nlohmann::json reply = {{"Error", {{{"message", std::string(1000, 'x')}}}}};
    EXPECT_EQ(swarmpod::worker::recent_error_text(reply).size(), 600u);
}

}  // namespace
