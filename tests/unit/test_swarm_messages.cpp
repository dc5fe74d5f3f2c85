// Parsing of the GenerateText2ImageWS messages, with the shapes SwarmUI sends.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "swarm/messages.hpp"

namespace {

using swarmpod::Error;
using swarmpod::Status;
using swarmpod::swarm::MessageKind;
using swarmpod::swarm::parse_message;

TEST(SwarmMessages, ProgressWithStringBatchIndex) {
    const auto message = parse_message(
        R"({"gen_progress":{"batch_index":"2","request_id":"7","overall_percent":0.5,"current_percent":0.25,)"
        R"("preview":"data:image/jpeg;base64,/9j/"}})");
    EXPECT_EQ(message.kind, MessageKind::progress);
    EXPECT_EQ(message.batch_index, 2);
    EXPECT_DOUBLE_EQ(message.overall_percent, 0.5);
    EXPECT_DOUBLE_EQ(message.current_percent, 0.25);
    EXPECT_EQ(message.preview, "data:image/jpeg;base64,/9j/");
}

TEST(SwarmMessages, ProgressWithNumberBatchIndex) {
    const auto message = parse_message(R"({"gen_progress":{"batch_index":3,"overall_percent":1}})");
    EXPECT_EQ(message.batch_index, 3);
    EXPECT_DOUBLE_EQ(message.overall_percent, 1.0);
    EXPECT_LT(message.current_percent, 0);
    EXPECT_TRUE(message.preview.empty());
}

TEST(SwarmMessages, ImageIsFlatWithMetadataString) {
    const auto message = parse_message(
        R"({"image":"data:image/png;base64,iVBO","batch_index":"1","request_id":"9","metadata":"{\"seed\":5}"})");
    EXPECT_EQ(message.kind, MessageKind::image);
    EXPECT_EQ(message.batch_index, 1);
    EXPECT_EQ(message.image, "data:image/png;base64,iVBO");
    EXPECT_EQ(message.metadata, "{\"seed\":5}");
}

// A data URL of 100 000 characters, over the size at which it is cut out of the frame
// before the rest is parsed.
std::string large_data_url() { return "data:image/png;base64," + std::string(100000, 'A'); }

TEST(SwarmMessages, LargeImageTakenOutOfFrame) {
    const std::string url = large_data_url();
    for (const std::string& frame :
         {R"({"image":")" + url + R"(","batch_index":"2","request_id":"1","metadata":"{\"seed\":5}"})",
          "{ \"request_id\": \"1\",\n \"image\" :\t\"" + url + "\" , \"batch_index\": 2}"}) {
        const auto message = parse_message(frame);

        EXPECT_EQ(message.kind, MessageKind::image);
        EXPECT_EQ(message.image, url);
        EXPECT_EQ(message.batch_index, 2);
    }
    const auto with_metadata =
        parse_message(R"({"image":")" + url + R"(","batch_index":"2","metadata":"{\"seed\":5}"})");
    EXPECT_EQ(with_metadata.metadata, "{\"seed\":5}");
}

TEST(SwarmMessages, LargeImageWithEscapeIsUnescaped) {
    const std::string url = large_data_url();
    const auto message = parse_message(R"({"image":")" + url + R"(\/x","batch_index":"0"})");

    EXPECT_EQ(message.image, url + "/x");
}

TEST(SwarmMessages, NestedImageKeyIsNotTaken) {
    const std::string url = large_data_url();
    const auto message =
        parse_message(R"({"raw":{"image":")" + url + R"("},"image":"View/local/raw/a.png","batch_index":"0"})");

    EXPECT_EQ(message.kind, MessageKind::image);
    EXPECT_EQ(message.image, "View/local/raw/a.png");
}

TEST(SwarmMessages, LargeImageInBrokenFrameRejected) {
    EXPECT_THROW(parse_message(R"({"image":")" + large_data_url() + R"(","batch_index":)"), Error);
}

TEST(SwarmMessages, ImageWithNullMetadata) {
    const auto message = parse_message(R"({"image":"View/local/raw/a.png","batch_index":"0","metadata":null})");
    EXPECT_EQ(message.image, "View/local/raw/a.png");
    EXPECT_TRUE(message.metadata.empty());
}

TEST(SwarmMessages, StatusReportsLoadingModels) {
    const auto message = parse_message(
        R"({"status":{"waiting_gens":1,"loading_models":1,"waiting_backends":0,"live_gens":0},)"
        R"("backend_status":{"status":"loading","class":"","message":"","any_loading":true},"supported_features":[]})");
    EXPECT_EQ(message.kind, MessageKind::status);
    EXPECT_EQ(message.loading_models, 1);
    EXPECT_EQ(message.waiting_gens, 1);
    EXPECT_EQ(message.backend_status, "loading");
}

TEST(SwarmMessages, ErrorWithId) {
    const auto message = parse_message(
        R"({"error":"Invalid session ID. You may need to refresh the page.","error_id":"invalid_session_id"})");
    EXPECT_EQ(message.kind, MessageKind::error);
    EXPECT_EQ(message.error_id, "invalid_session_id");
    EXPECT_NE(message.error.find("Invalid session ID"), std::string::npos);
}

TEST(SwarmMessages, EndSequenceMessages) {
    const auto discard = parse_message(R"({"discard_indices":[0,"2"]})");
    EXPECT_EQ(discard.kind, MessageKind::discard_indices);
    EXPECT_EQ(discard.discarded, (std::vector<int>{0, 2}));

    const auto intention = parse_message(R"({"socket_intention":"close"})");
    EXPECT_EQ(intention.kind, MessageKind::socket_intention);
    EXPECT_EQ(intention.intention, "close");

    EXPECT_EQ(parse_message(R"({"keep_alive":true})").kind, MessageKind::keep_alive);
}

TEST(SwarmMessages, RawDataIsOther) {
    const auto message = parse_message(R"({"raw_swarm_data":{"params_used":["prompt"]}})");
    EXPECT_EQ(message.kind, MessageKind::other);
    EXPECT_EQ(message.first_key, "raw_swarm_data");
}

TEST(SwarmMessages, NotJsonRejected) {
    try {
        parse_message("<html>524</html>");
        FAIL() << "expected an error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), Status::bad_response);
        EXPECT_NE(std::string(error.what()).find("not a JSON object"), std::string::npos) << error.what();
    }
    EXPECT_THROW(parse_message("[1,2]"), Error);
}

TEST(SwarmMessages, BadBatchIndexNamesValue) {
    for (const char* text : {R"({"image":"x","batch_index":"two"})", R"({"image":"x","batch_index":1.5})",
                             R"({"gen_progress":{"batch_index":[1]}})", R"({"image":"x","batch_index":"99999999999"})"}) {
        try {
            parse_message(text);
            FAIL() << "expected an error for " << text;
        } catch (const Error& error) {
            EXPECT_EQ(error.status(), Status::bad_response) << text;
            EXPECT_NE(std::string(error.what()).find("batch_index"), std::string::npos) << error.what();
        }
    }
}

TEST(SwarmMessages, ImageThatIsNotStringRejected) {
    EXPECT_THROW(parse_message(R"({"image":{"nested":true},"batch_index":"0"})"), Error);
}

TEST(SwarmMessages, DeeplyNestedFrameRejected) {
    // Copying or printing 100 000 nested arrays recurses once per level and overflows the stack.
    const std::string nested = std::string(100000, '[') + std::string(100000, ']');
    for (const std::string& frame : {R"({"error":)" + nested + "}", R"({"discard_indices":)" + nested + "}"}) {
        try {
            parse_message(frame);
            FAIL() << "no error";
        } catch (const Error& error) {
            EXPECT_EQ(error.status(), Status::bad_response);
            EXPECT_NE(std::string(error.what()).find("nested deeper than"), std::string::npos) << error.what();
        }
    }
}

}  // namespace
