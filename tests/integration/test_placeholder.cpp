#include <gtest/gtest.h>
TEST(IntegrationPlaceholder, Builds) { SUCCEED(); }
