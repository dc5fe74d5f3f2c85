// Parsers of the v1 wakeup output and the v2 lease job's first and final outputs, on the
// shapes the SwarmUI RunPod worker images send and on broken ones.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "runpod/job.hpp"
#include "worker/protocol.hpp"
#include "worker/worker_outputs.hpp"

namespace swarmpod::worker {
namespace {

using nlohmann::json;
using runpod::Job;
using runpod::JobState;

constexpr const char* kProxyUrl = "https://pod123-7801.proxy.runpod.net";

Job job_with(JobState state, json output, std::string error = "") {
    Job job;
    job.id = "job-1";
    job.state = state;
    job.worker_id = "pod123";
    job.output = std::move(output);
    job.error = std::move(error);
    return job;
}

json first_output() {
    return json{{"success", true},         {"public_url", kProxyUrl},   {"token", "t0k3n-0123456789"},
                {"worker_id", "pod123"},   {"lease", 1},                {"version", "2.0.0"},
                {"protocol", 2},           {"idle_seconds", 150.0},     {"startup_grace_seconds", 600.0},
                {"max_lease_seconds", 1800.0}};
}

// Returns the status of the Error that `parse` throws, or internal when it throws none.
template <typename Parse>
Status status_of(Parse parse) {
    try {
        parse();
    } catch (const Error& error) {
        return error.status();
    }
    return Status::internal;
}

TEST(WakeupOutput, CompletedGivesUrlAndWorker) {
    const Job job = job_with(JobState::completed, json{{"success", true},
                                                       {"public_url", kProxyUrl},
                                                       {"session_id", "abc"},
                                                       {"version", "0.9.6"},
                                                       {"worker_id", "pod456"}});
    const WakeupOutput wakeup = parse_wakeup_output(job);
    EXPECT_EQ(wakeup.public_url, kProxyUrl);
    EXPECT_EQ(wakeup.worker_id, "pod456");
}

TEST(WakeupOutput, WorkerIdFallsBackToJob) {
    const Job job = job_with(JobState::completed, json{{"success", true}, {"public_url", kProxyUrl}, {"worker_id", ""}});
    EXPECT_EQ(parse_wakeup_output(job).worker_id, "pod123");
}

TEST(WakeupOutput, FailedWakeupQuotesWorker) {
    const Job job = job_with(JobState::completed, json{{"success", false}, {"error", "Failed to create session"}});
    try {
        parse_wakeup_output(job);
        FAIL() << "no error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::worker);
        EXPECT_NE(std::string(error.what()).find("Failed to create session"), std::string::npos) << error.what();
    }
}

TEST(WakeupOutput, MissingUrlIsBadResponse) {
    const Job job = job_with(JobState::completed, json{{"success", true}, {"public_url", ""}});
    EXPECT_EQ(status_of([&] { parse_wakeup_output(job); }), Status::bad_response);
}

TEST(WakeupOutput, V2RefusalIsProtocolMismatch) {
    const json refusal = {{"success", false},
                          {"error", "Unknown action 'wakeup'. This worker supports 'lease' and 'health'."},
                          {"error_id", "unknown_action"}};
    // RunPod lists a generator handler's yields, so the v2 refusal may come as [refusal].
    for (const Job& job : {job_with(JobState::completed, refusal), job_with(JobState::completed, json::array({refusal})),
                           job_with(JobState::failed, nullptr, refusal.dump())}) {
        try {
            parse_wakeup_output(job);
            FAIL() << "no error for " << job.status_text;
        } catch (const ProtocolMismatch& mismatch) {
            EXPECT_EQ(mismatch.actual_protocol(), 2);
        }
    }
}

TEST(WakeupOutput, EndedJobIsJobFailed) {
    const Job job = job_with(JobState::timed_out, nullptr);
    EXPECT_EQ(status_of([&] { parse_wakeup_output(job); }), Status::job_failed);
}

TEST(LeaseOutput, FirstOutputGivesEveryField) {
    const LeaseOutput lease = parse_lease_output(first_output(), job_with(JobState::in_progress, nullptr));
    EXPECT_EQ(lease.protocol, 2);
    EXPECT_EQ(lease.public_url, kProxyUrl);
    EXPECT_EQ(lease.token, "t0k3n-0123456789");
    EXPECT_EQ(lease.worker_id, "pod123");
    EXPECT_EQ(lease.idle_seconds, 150.0);
    EXPECT_EQ(lease.startup_grace_seconds, 600.0);
    EXPECT_EQ(lease.max_lease_seconds, 1800.0);
}

TEST(LeaseOutput, MissingLimitsAreEmpty) {
    json output = first_output();
    output.erase("idle_seconds");
    output["max_lease_seconds"] = "3600";
    const LeaseOutput lease = parse_lease_output(output, job_with(JobState::in_progress, nullptr));
    EXPECT_FALSE(lease.idle_seconds.has_value());
    EXPECT_FALSE(lease.max_lease_seconds.has_value());
    EXPECT_EQ(lease.startup_grace_seconds, 600.0);
}

TEST(LeaseOutput, V1RefusalIsProtocolMismatch) {
    const json refusal = {{"success", false}, {"error", "Unknown action: lease"}};
    try {
        parse_lease_output(refusal, job_with(JobState::in_progress, nullptr));
        FAIL() << "no error";
    } catch (const ProtocolMismatch& mismatch) {
        EXPECT_EQ(mismatch.actual_protocol(), 1);
    }
}

TEST(LeaseOutput, RefusalNamesErrorId) {
    const json busy = {{"success", false},
                       {"error", "A lease is already active on this worker"},
                       {"error_id", "lease_busy"}};
    try {
        parse_lease_output(busy, job_with(JobState::in_progress, nullptr));
        FAIL() << "no error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::worker);
        EXPECT_NE(std::string(error.what()).find("lease_busy"), std::string::npos) << error.what();
    }
}

TEST(LeaseOutput, NoTokenMeansImageTooOld) {
    json output = first_output();
    output.erase("token");
    EXPECT_EQ(status_of([&] { parse_lease_output(output, job_with(JobState::in_progress, nullptr)); }),
              Status::worker);
}

TEST(LeaseOutput, NonObjectIsBadResponse) {
    EXPECT_EQ(status_of([&] { parse_lease_output(json::array({1, 2}), job_with(JobState::in_progress, nullptr)); }),
              Status::bad_response);
}

TEST(LeaseOutput, FirstOutputFromAggregatedStatus) {
    const json final_output = {{"success", true}, {"released", true}, {"reason", "idle"}};
    const Job aggregated = job_with(JobState::completed, json::array({first_output(), final_output}));
    ASSERT_TRUE(first_lease_output(aggregated).has_value());
    EXPECT_EQ(*first_lease_output(aggregated), first_output());
    EXPECT_EQ(*first_lease_output(job_with(JobState::in_progress, first_output())), first_output());
    EXPECT_FALSE(first_lease_output(job_with(JobState::in_progress, json::object())).has_value());
}

TEST(LeaseRelease, ReasonFromFinalOutput) {
    const json final_output = {{"success", true}, {"released", true}, {"reason", "startup_grace_expired"}};
    EXPECT_EQ(lease_release_reason(job_with(JobState::completed, json::array({first_output(), final_output}))),
              "startup_grace_expired");
    EXPECT_EQ(lease_release_reason(job_with(JobState::completed, final_output)), "startup_grace_expired");
    EXPECT_EQ(lease_release_reason(job_with(JobState::completed, json{{"released", true}})), "released");
    EXPECT_EQ(lease_release_reason(job_with(JobState::cancelled, nullptr)), "job CANCELLED");
}

TEST(WorkerOutputs, WrongTypesReadAsMissing) {
    const Job wakeup = job_with(JobState::completed, json{{"success", true}, {"public_url", kProxyUrl}, {"worker_id", 7}});
    EXPECT_EQ(parse_wakeup_output(wakeup).worker_id, "pod123");

    const Job failed_wakeup = job_with(JobState::completed, json{{"success", 1}, {"error", {{"code", 5}}}});
    try {
        parse_wakeup_output(failed_wakeup);
        FAIL() << "no error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::worker);
        EXPECT_NE(std::string(error.what()).find(R"({"code":5})"), std::string::npos) << error.what();
    }

    for (const json& protocol : {json("2"), json(1e300), json(-1e300), json(nullptr)}) {
        json output = first_output();
        output["protocol"] = protocol;
        EXPECT_EQ(status_of([&] { parse_lease_output(output, job_with(JobState::in_progress, nullptr)); }),
                  Status::worker)
            << protocol.dump();
    }

    json output = first_output();
    output["protocol"] = 2.0;
    output["worker_id"] = json::array();
    output["error_id"] = 3;
    const LeaseOutput lease = parse_lease_output(output, job_with(JobState::in_progress, nullptr));
    EXPECT_EQ(lease.protocol, 2);
    EXPECT_EQ(lease.worker_id, "pod123");

    const json final_output = {{"released", true}, {"reason", 5}};
    EXPECT_EQ(lease_release_reason(job_with(JobState::completed, final_output)), "released");
    EXPECT_EQ(lease_release_reason(job_with(JobState::completed, json{{"released", "yes"}})), "job COMPLETED");
}

}  // namespace
}  // namespace swarmpod::worker

namespace {

TEST(WithPeriod, EndsInOnePeriod) {
    using swarmpod::worker::with_period;
    EXPECT_EQ(with_period("A worker is starting (cold start: loading SwarmUI)."),
              "A worker is starting (cold start: loading SwarmUI).");
    EXPECT_EQ(with_period("Worker w1's SwarmUI is starting"), "Worker w1's SwarmUI is starting.");
    EXPECT_EQ(with_period(""), ".");
}

}  // namespace
