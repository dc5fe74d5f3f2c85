#include <gtest/gtest.h>

#include <string>

#include "runpod/diagnosis.hpp"

namespace {

using swarmpod::runpod::Health;
using swarmpod::runpod::diagnose;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Diagnosis, EachCase) {
    Health none;
    EXPECT_EQ(diagnose(none).code, "no_workers");

    Health queued_nothing;
    queued_nothing.jobs_in_queue = 2;
    EXPECT_EQ(diagnose(queued_nothing).code, "no_workers");
    EXPECT_TRUE(contains(diagnose(queued_nothing).message, "max workers")) << diagnose(queued_nothing).message;

    Health booting;
    booting.workers_initializing = 1;
    EXPECT_EQ(diagnose(booting).code, "initializing");

    Health throttled;
    throttled.workers_throttled = 2;
    EXPECT_EQ(diagnose(throttled).code, "throttled");

    Health crashing;
    crashing.workers_unhealthy = 1;
    EXPECT_EQ(diagnose(crashing).code, "unhealthy");

    Health busy;
    busy.workers_running = 3;
    busy.jobs_in_queue = 1;
    EXPECT_EQ(diagnose(busy).code, "busy");
    EXPECT_TRUE(contains(diagnose(busy).message, "max workers")) << diagnose(busy).message;

    Health ready;
    ready.workers_ready = 1;
    EXPECT_EQ(diagnose(ready).code, "ready");
    EXPECT_TRUE(contains(diagnose(ready).message, "1 worker(s) are started")) << diagnose(ready).message;

    Health running_only;
    running_only.workers_running = 2;
    EXPECT_EQ(diagnose(running_only).code, "ready");
    EXPECT_TRUE(contains(diagnose(running_only).message, "2 worker(s) are running jobs"))
        << diagnose(running_only).message;
}

// RunPod counts scaled-down (stopped, unbilled) workers as "idle"; they serve nothing
// until RunPod starts them, so they must not read as available.
TEST(Diagnosis, IdleWorkersAreNotReady) {
    Health idle_only;
    idle_only.workers_idle = 3;
    const auto diagnosis = diagnose(idle_only);
    EXPECT_EQ(diagnosis.code, "no_workers");
    EXPECT_TRUE(contains(diagnosis.message, "No worker is running")) << diagnosis.message;
    EXPECT_TRUE(contains(diagnosis.message, "3 idle: scaled down")) << diagnosis.message;

    Health idle_and_queued;
    idle_and_queued.workers_idle = 2;
    idle_and_queued.jobs_in_queue = 1;
    EXPECT_EQ(diagnose(idle_and_queued).code, "no_workers");
    EXPECT_FALSE(contains(diagnose(idle_and_queued).message, "may be 0")) << diagnose(idle_and_queued).message;

    Health busy_with_idle;
    busy_with_idle.workers_running = 1;
    busy_with_idle.workers_idle = 2;
    busy_with_idle.jobs_in_queue = 1;
    EXPECT_EQ(diagnose(busy_with_idle).code, "busy");
    EXPECT_TRUE(contains(diagnose(busy_with_idle).message, "start another worker")) << diagnose(busy_with_idle).message;
}

// Idle slots exist on almost every endpoint, so they must not hide a crash loop or a GPU
// shortage.
TEST(Diagnosis, IdleDoesNotHideFailures) {
    Health crashing;
    crashing.workers_unhealthy = 1;
    crashing.workers_idle = 2;
    EXPECT_EQ(diagnose(crashing).code, "unhealthy");

    Health throttled;
    throttled.workers_throttled = 1;
    throttled.workers_idle = 2;
    EXPECT_EQ(diagnose(throttled).code, "throttled");

    Health booting;
    booting.workers_initializing = 1;
    booting.workers_idle = 2;
    EXPECT_EQ(diagnose(booting).code, "initializing");
}

}  // namespace
