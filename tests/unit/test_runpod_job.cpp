// Parsing of RunPod job, stream and health replies.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "runpod/job.hpp"

namespace swarmpod::runpod {
namespace {

using nlohmann::json;

TEST(RunpodJobState, ParsesEveryState) {
    EXPECT_EQ(parse_job_state("IN_QUEUE"), JobState::in_queue);
    EXPECT_EQ(parse_job_state("IN_PROGRESS"), JobState::in_progress);
    EXPECT_EQ(parse_job_state("RUNNING"), JobState::in_progress);
    EXPECT_EQ(parse_job_state("COMPLETED"), JobState::completed);
    EXPECT_EQ(parse_job_state("FAILED"), JobState::failed);
    EXPECT_EQ(parse_job_state("CANCELLED"), JobState::cancelled);
    EXPECT_EQ(parse_job_state("TIMED_OUT"), JobState::timed_out);
    EXPECT_EQ(parse_job_state("PAUSED"), JobState::unknown);
    EXPECT_EQ(parse_job_state("completed"), JobState::unknown);
    EXPECT_EQ(parse_job_state(""), JobState::unknown);
}

TEST(RunpodJobState, NamesAndTerminalSet) {
    EXPECT_STREQ(job_state_name(JobState::in_queue), "IN_QUEUE");
    EXPECT_STREQ(job_state_name(JobState::in_progress), "IN_PROGRESS");
    EXPECT_STREQ(job_state_name(JobState::completed), "COMPLETED");
    EXPECT_STREQ(job_state_name(JobState::failed), "FAILED");
    EXPECT_STREQ(job_state_name(JobState::cancelled), "CANCELLED");
    EXPECT_STREQ(job_state_name(JobState::timed_out), "TIMED_OUT");
    EXPECT_STREQ(job_state_name(JobState::unknown), "UNKNOWN");

    EXPECT_FALSE(is_terminal(JobState::in_queue));
    EXPECT_FALSE(is_terminal(JobState::in_progress));
    EXPECT_FALSE(is_terminal(JobState::unknown));
    EXPECT_TRUE(is_terminal(JobState::completed));
    EXPECT_TRUE(is_terminal(JobState::failed));
    EXPECT_TRUE(is_terminal(JobState::cancelled));
    EXPECT_TRUE(is_terminal(JobState::timed_out));
}

TEST(RunpodJob, ParsesCompletedJob) {
    const Job job = parse_job(json::parse(R"({"id":"abc-u1","status":"COMPLETED","delayTime":824,
        "executionTime":3391,"output":{"images":["x"]},"workerId":"w123"})"));
    EXPECT_EQ(job.id, "abc-u1");
    EXPECT_EQ(job.state, JobState::completed);
    EXPECT_EQ(job.status_text, "COMPLETED");
    EXPECT_EQ(job.output["images"][0], "x");
    EXPECT_EQ(job.error, "");
    EXPECT_EQ(job.delay_ms, 824);
    EXPECT_EQ(job.execution_ms, 3391);
    EXPECT_EQ(job.worker_id, "w123");
}

TEST(RunpodJob, QueuedJobHasNullOutput) {
    const Job job = parse_job(json::parse(R"({"id":"q1","status":"IN_QUEUE"})"));
    EXPECT_EQ(job.state, JobState::in_queue);
    EXPECT_TRUE(job.output.is_null());
    EXPECT_FALSE(job.delay_ms.has_value());
    EXPECT_FALSE(job.execution_ms.has_value());
    EXPECT_EQ(job.worker_id, "");
}

TEST(RunpodJob, OutputWhileInProgressIsKept) {
    const Job job = parse_job(json::parse(R"({"id":"p1","status":"IN_PROGRESS","output":"50% done"})"));
    EXPECT_EQ(job.state, JobState::in_progress);
    EXPECT_FALSE(is_terminal(job.state));
    EXPECT_EQ(job.output, "50% done");
}

TEST(RunpodJob, ErrorStringAndObject) {
    const Job failed = parse_job(json::parse(R"({"id":"f1","status":"FAILED","error":"CUDA out of memory"})"));
    EXPECT_EQ(failed.state, JobState::failed);
    EXPECT_EQ(failed.error, "CUDA out of memory");

    const Job object_error = parse_job(json::parse(R"({"id":"f2","status":"FAILED","error":{"code":7}})"));
    EXPECT_EQ(object_error.error, R"({"code":7})");

    const Job null_error = parse_job(json::parse(R"({"id":"f3","status":"COMPLETED","error":null})"));
    EXPECT_EQ(null_error.error, "");
}

TEST(RunpodJob, LenientTimes) {
    const Job job = parse_job(json::parse(R"({"id":"t","status":"COMPLETED","delayTime":12.6,
        "executionTime":"40","workerId":5})"));
    EXPECT_EQ(job.delay_ms, 13);
    EXPECT_EQ(job.execution_ms, 40);
    EXPECT_EQ(job.worker_id, "") << "a non-string workerId is ignored";
}

TEST(RunpodJob, MissingIdNamesField) {
    try {
        parse_job(json::parse(R"({"status":"IN_QUEUE"})"));
        FAIL() << "expected Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::bad_response);
        EXPECT_NE(std::string(error.what()).find("'id'"), std::string::npos) << error.what();
    }
}

TEST(RunpodJob, MissingStatusNamesField) {
    try {
        parse_job(json::parse(R"({"id":"x"})"));
        FAIL() << "expected Error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::bad_response);
        EXPECT_NE(std::string(error.what()).find("'status'"), std::string::npos) << error.what();
    }
}

TEST(RunpodJob, WrongTypesAreRejected) {
    EXPECT_THROW(parse_job(json::parse(R"({"id":12,"status":"IN_QUEUE"})")), Error);
    EXPECT_THROW(parse_job(json::parse(R"({"id":"x","status":null})")), Error);
    EXPECT_THROW(parse_job(json::parse(R"(["id","status"])")), Error);
    EXPECT_THROW(parse_job(json()), Error);
}

TEST(RunpodStream, ParsesChunks) {
    const StreamReply reply = parse_stream(json::parse(R"({"status":"IN_PROGRESS","stream":[
        {"output":{"url":"https://a"}},{"output":"text","metrics":{"n":1}},7,{"no_output":true}]})"));
    EXPECT_EQ(reply.state, JobState::in_progress);
    EXPECT_EQ(reply.status_text, "IN_PROGRESS");
    ASSERT_EQ(reply.chunks.size(), 2u);
    EXPECT_EQ(reply.chunks[0].output["url"], "https://a");
    EXPECT_EQ(reply.chunks[1].output, "text");
}

TEST(RunpodStream, TerminalWithoutStream) {
    const StreamReply reply = parse_stream(json::parse(R"({"status":"COMPLETED"})"));
    EXPECT_EQ(reply.state, JobState::completed);
    EXPECT_TRUE(reply.chunks.empty());

    const StreamReply no_status = parse_stream(json::parse(R"({"stream":[]})"));
    EXPECT_EQ(no_status.state, JobState::unknown);
    EXPECT_THROW(parse_stream(json::parse("[]")), Error);
}

TEST(RunpodHealth, ParsesFullReply) {
    const Health health = parse_health(json::parse(R"({
        "jobs":{"completed":1,"failed":5,"inProgress":2,"inQueue":3,"retried":4},
        "workers":{"idle":6,"initializing":7,"ready":8,"running":9,"throttled":10,"unhealthy":11}})"));
    EXPECT_EQ(health.jobs_completed, 1);
    EXPECT_EQ(health.jobs_failed, 5);
    EXPECT_EQ(health.jobs_in_progress, 2);
    EXPECT_EQ(health.jobs_in_queue, 3);
    EXPECT_EQ(health.jobs_retried, 4);
    EXPECT_EQ(health.workers_idle, 6);
    EXPECT_EQ(health.workers_initializing, 7);
    EXPECT_EQ(health.workers_ready, 8);
    EXPECT_EQ(health.workers_running, 9);
    EXPECT_EQ(health.workers_throttled, 10);
    EXPECT_EQ(health.workers_unhealthy, 11);
}

TEST(RunpodHealth, MissingAndUnknownKeys) {
    const Health health = parse_health(json::parse(R"({
        "jobs":{"inQueue":"2","future":99},
        "workers":{"running":1.0,"idle":null,"newKind":3},
        "extra":{"x":1}})"));
    EXPECT_EQ(health.jobs_in_queue, 2);
    EXPECT_EQ(health.jobs_completed, 0);
    EXPECT_EQ(health.workers_running, 1);
    EXPECT_EQ(health.workers_idle, 0);
    EXPECT_EQ(health.workers_ready, 0);

    const Health empty = parse_health(json::object());
    EXPECT_EQ(empty.jobs_in_queue, 0);
    EXPECT_EQ(empty.workers_running, 0);

    const Health wrong_shapes = parse_health(json::parse(R"({"jobs":[1,2],"workers":"none"})"));
    EXPECT_EQ(wrong_shapes.jobs_completed, 0);
    EXPECT_EQ(wrong_shapes.workers_idle, 0);
}

}  // namespace
}  // namespace swarmpod::runpod
