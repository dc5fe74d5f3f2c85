#include <gtest/gtest.h>

#include "runpod/diagnosis.hpp"

namespace {

using swarmpod::runpod::Health;
using swarmpod::runpod::diagnose;

TEST(Diagnosis, EachCase) {
    Health none;
    EXPECT_EQ(diagnose(none).code, "no_workers");

    Health queued_nothing;
    queued_nothing.jobs_in_queue = 2;
    EXPECT_EQ(diagnose(queued_nothing).code, "no_workers");
    EXPECT_NE(diagnose(queued_nothing).message.find("max workers"), std::string::npos);

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

    Health ready;
    ready.workers_idle = 1;
    EXPECT_EQ(diagnose(ready).code, "ready");
}

}  // namespace
