// swarm::cut_large_strings: long string values taken out of a JSON text before parsing.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "swarm/large_strings.hpp"

namespace swarmpod::swarm {
namespace {

using nlohmann::json;

constexpr std::size_t kMin = 32;

std::string_view span_text(const std::string& text, const TextSpan& span) {
    return std::string_view(text).substr(span.offset, span.length);
}

TEST(LargeStrings, LongValuesCutInPlace) {
    const std::string long_a(40, 'a');
    const std::string long_b(kMin, 'b');
    const std::string text = R"({"images": [")" + long_a + R"(", "short", ")" + long_b + R"("], "x": 1})";

    const auto cut = cut_large_strings(text, kMin);

    ASSERT_TRUE(cut.has_value());
    ASSERT_EQ(cut->spans.size(), 2u);
    EXPECT_EQ(span_text(text, cut->spans[0]), long_a);
    EXPECT_EQ(span_text(text, cut->spans[1]), long_b);
    const json rest = json::parse(cut->rest);
    ASSERT_EQ(rest["images"].size(), 3u);
    EXPECT_EQ(cut_index(rest["images"][0].get<std::string>()), 0u);
    EXPECT_EQ(rest["images"][1], "short");
    EXPECT_EQ(cut_index(rest["images"][2].get<std::string>()), 1u);
    EXPECT_EQ(rest["x"], 1);
    EXPECT_LT(cut->rest.size(), text.size());
}

TEST(LargeStrings, NothingToCutGivesNothing) {
    EXPECT_FALSE(cut_large_strings(R"({"images": ["short"]})", kMin).has_value());
    EXPECT_FALSE(cut_large_strings("", kMin).has_value());
    EXPECT_FALSE(cut_large_strings(R"({"images": [")" + std::string(kMin - 1, 'a') + R"("]})", kMin).has_value());
}

// A value with an escape is left to the parser, which decodes it.
TEST(LargeStrings, EscapedValuesAreParsedAsUsual) {
    const std::string escaped = std::string(40, 'a') + "\\/" + std::string(40, 'a');
    EXPECT_FALSE(cut_large_strings(R"({"images": [")" + escaped + R"("]})", kMin).has_value());
}

// Escaped quotes and backslashes in earlier values do not shift where later values start.
TEST(LargeStrings, EscapedQuotesBeforeALongValue) {
    const std::string long_value(40, 'z');
    const std::string text = R"({"a": "say \"hi\\\" \\", "b": ")" + long_value + R"("})";

    const auto cut = cut_large_strings(text, kMin);

    ASSERT_TRUE(cut.has_value());
    ASSERT_EQ(cut->spans.size(), 1u);
    EXPECT_EQ(span_text(text, cut->spans[0]), long_value);
    const json rest = json::parse(cut->rest);
    EXPECT_EQ(rest["a"], "say \"hi\\\" \\");
}

// A worker cannot make its own text stand for a cut value.
TEST(LargeStrings, PlaceholderInTextNotCut) {
    const std::string text = R"({"images": ["\u0000swarmpod-cut-0", ")" + std::string(40, 'a') + R"("]})";
    EXPECT_FALSE(cut_large_strings(text, kMin).has_value());
    EXPECT_EQ(cut_index(json::parse(text)["images"][0].get<std::string>()), 0u);
    EXPECT_FALSE(cut_index("swarmpod-cut-0").has_value());
    EXPECT_FALSE(cut_index(std::string("\0swarmpod-cut-", 14)).has_value());
    EXPECT_FALSE(cut_index(std::string("\0swarmpod-cut-1x", 16)).has_value());
}

// Keys are never cut, so a duplicate key still resolves to its last value.
TEST(LargeStrings, KeysNotCut) {
    const std::string long_key(40, 'k');
    const std::string text = "{\"" + long_key + "\": 1, \"" + long_key + "\": 2, \"v\": \"" + long_key + "\"}";

    const auto cut = cut_large_strings(text, kMin);

    ASSERT_TRUE(cut.has_value());
    ASSERT_EQ(cut->spans.size(), 1u);
    const json rest = json::parse(cut->rest);
    EXPECT_EQ(rest[long_key], 2);
    EXPECT_EQ(cut_index(rest["v"].get<std::string>()), 0u);
}

// Text that is not JSON stays text that is not JSON.
TEST(LargeStrings, BrokenTextStaysBroken) {
    const std::string long_value(40, 'a');
    for (const std::string& text : {R"({"images": [")" + long_value, R"({"images": [x")" + long_value + R"("]})",
                                    R"({"images": [")" + long_value + R"(" x]})"}) {
        const auto cut = cut_large_strings(text, kMin);
        if (cut) {
            EXPECT_TRUE(json::parse(cut->rest, nullptr, false).is_discarded()) << text;
        }
    }
}

}  // namespace
}  // namespace swarmpod::swarm
