// The poll schedule of RunPod jobs and worker readiness: it starts short, grows by half
// each time and stays at its cap, however long a wait lasts.
#include <gtest/gtest.h>

#include "worker/protocol.hpp"

namespace {

using swarmpod::Millis;
using swarmpod::worker::PollSchedule;

TEST(PollSchedule, GrowsToTheCap) {
    PollSchedule schedule(Millis(1000));
    Millis previous = schedule.next();
    EXPECT_GT(previous, Millis(0));
    for (int i = 0; i < 20; ++i) {
        const Millis next = schedule.next();
        EXPECT_GE(next, previous);
        EXPECT_LE(next, Millis(1000));
        previous = next;
    }
    EXPECT_EQ(previous, Millis(1000));
}

// A readiness wait can poll thousands of times; the interval must stay at the cap.
TEST(PollSchedule, StaysAtTheCapForever) {
    PollSchedule schedule(Millis(2000));
    for (int i = 0; i < 5000; ++i) {
        const Millis next = schedule.next();
        ASSERT_GT(next, Millis(0)) << "poll " << i;
        ASSERT_LE(next, Millis(2000)) << "poll " << i;
    }
}

}  // namespace
