// to_valid_utf8: repair of text that crosses the C ABI.
#include <gtest/gtest.h>

#include <string>

#include "core/utf8.hpp"

namespace swarmpod {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextUnchanged) {
    for (const std::string& text : {std::string(""), std::string("plain ASCII"), std::string("caf\xC3\xA9"),
                                   std::string("\xE2\x82\xAC 5"), std::string("\xF0\x9F\x98\x80"),
                                   std::string("\xEF\xBF\xBF"), std::string("\xF4\x8F\xBF\xBF")}) {
        EXPECT_EQ(to_valid_utf8(text), text);
    }
}

TEST(Utf8, InvalidBytesReplaced) {
    EXPECT_EQ(to_valid_utf8("a\xFF" "b"), "a" + kReplacement + "b");
    EXPECT_EQ(to_valid_utf8("\x80"), kReplacement);                               // stray continuation byte
    EXPECT_EQ(to_valid_utf8("\xC3"), kReplacement);                               // truncated at the end
    EXPECT_EQ(to_valid_utf8("\xE2\x82" "x"), kReplacement + kReplacement + "x");  // truncated inside
    EXPECT_EQ(to_valid_utf8("\xC0\xAF"), kReplacement + kReplacement);            // overlong
    EXPECT_EQ(to_valid_utf8("\xE0\x80\xAF"), kReplacement + kReplacement + kReplacement);
    EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
    EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);  // above U+10FFFF
}

}  // namespace
}  // namespace swarmpod
