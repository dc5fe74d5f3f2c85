// The request a WebSocket reconnect sends for the images still missing, by batch size.
#include <gtest/gtest.h>

#include "backend/forward.hpp"

namespace {

using swarmpod::backend::ask_again_for;
using swarmpod::backend::ImageCount;

struct Case {
    int remaining;
    int batch_size;
    int images;
    int expected_batch_size;
};

TEST(AskAgainFor, FewestJobsNoLargerThanTheBatch) {
    const Case cases[] = {
        {5, 1, 5, 1},    // no batches: exactly the missing images
        {4, 2, 2, 2},    // lost between jobs: the remaining jobs as they were
        {1, 4, 1, 1},    // lost inside the last job: one smaller job
        {3, 4, 1, 3},
        {5, 4, 2, 3},    // 6 images come back, 1 of them extra
        {7, 2, 4, 2},    // 8 images come back, 1 of them extra
        {100, 100, 1, 100},
    };
    for (const Case& c : cases) {
        const ImageCount again = ask_again_for(c.remaining, c.batch_size);
        EXPECT_EQ(again.images, c.images) << c.remaining << " of batch " << c.batch_size;
        EXPECT_EQ(again.batch_size, c.expected_batch_size) << c.remaining << " of batch " << c.batch_size;
    }
}

TEST(AskAgainFor, NeverFewerAndFewerExtrasThanJobs) {
    for (int batch_size = 1; batch_size <= 12; ++batch_size) {
        for (int remaining = 1; remaining <= 60; ++remaining) {
            const ImageCount again = ask_again_for(remaining, batch_size);
            EXPECT_GE(again.expected(), remaining) << remaining << " of batch " << batch_size;
            EXPECT_LT(again.expected() - remaining, again.images) << remaining << " of batch " << batch_size;
            EXPECT_LE(again.batch_size, batch_size) << remaining << " of batch " << batch_size;
            if (remaining % batch_size == 0) {
                EXPECT_EQ(again.expected(), remaining) << remaining << " of batch " << batch_size;
            }
        }
    }
}

TEST(AskAgainFor, NothingRemainingAsksForNothing) {
    const ImageCount again = ask_again_for(0, 3);
    EXPECT_EQ(again.images, 0);
    EXPECT_EQ(again.batch_size, 0);
}

}  // namespace
