// Naming and writing the image files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace swarmpod_cli {

struct WrittenImage {
    std::string path;
    std::string mime;
    int32_t width = 0;
    int32_t height = 0;
    int32_t batch_index = 0;
    std::size_t bytes = 0;
};

// Writes each image as it arrives. With --out FILE the image goes to FILE, or to
// FILE with "-<batch index>" before the extension when several images are expected.
// Without --out, or when --out names an existing directory, files are named
// swarmpod-<yyyymmdd-hhmmss>[-<batch index>].<ext> and never overwrite a file.
class ImageWriter {
public:
    ImageWriter(std::optional<std::string> out, int64_t expected_images, std::time_t start_time);

    // Writes one image through a temporary file and a rename, so a reader never sees a
    // partial image. Returns a warning to show, or "". Throws std::runtime_error when
    // the file cannot be written.
    std::string write(int32_t batch_index, const std::string &mime, const uint8_t *data, std::size_t size,
                      int32_t width, int32_t height);

    const std::vector<WrittenImage> &written() const { return written_; }

private:
    std::string choose_path(int32_t batch_index, const std::string &extension) const;

    std::optional<std::string> out_file_;
    std::string out_directory_ = ".";
    int64_t expected_images_;
    std::string timestamp_;
    std::vector<WrittenImage> written_;
};

// Throws UsageError when --out names a place no file can be created in, so the
// command fails before it starts a billed job.
void check_output_destination(const std::optional<std::string> &out);

// Returns the usual file extension for an image MIME type, e.g. "jpg" for
// "image/jpeg", or "bin" when the type is unknown.
std::string extension_for_mime(const std::string &mime);

} // namespace swarmpod_cli
