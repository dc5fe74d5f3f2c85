#include "output.hpp"

#include "errors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace swarmpod_cli {
namespace {

namespace fs = std::filesystem;

std::string lowercase(std::string text) {
    for (char &c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

// Inserts "-<index>" before the extension of the file name (not of a directory).
std::string with_index(const std::string &path, int32_t index) {
    const fs::path original(path);
    fs::path renamed = original.parent_path() /
                       (original.stem().string() + "-" + std::to_string(index) + original.extension().string());
    return renamed.string();
}

// Returns true when `path` exists and is neither a regular file nor a directory (after
// following a symbolic link): a device such as /dev/null, a FIFO or a socket.
bool is_special_file(const std::string &path) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    return !error && fs::exists(status) && !fs::is_regular_file(status) && !fs::is_directory(status);
}

// Writes the image to a new temporary file beside `path` (created exclusively, so a file or
// link planted under a predictable name is never followed), then renames it to `path`.
void write_file(const std::string &path, const uint8_t *data, std::size_t size) {
    if (is_special_file(path)) {
        throw std::runtime_error("cannot write image to '" + path +
                                 "': it exists and is not a regular file; give another --out path");
    }
    std::string temporary = path + ".XXXXXX";
    const int fd = ::mkstemp(temporary.data());
    if (fd < 0) {
        throw std::runtime_error("cannot write image to '" + path + "': " + std::strerror(errno));
    }
    ::fchmod(fd, 0644);
    std::size_t written = 0;
    int write_errno = 0;
    while (written < size) {
        const ssize_t count = ::write(fd, data + written, size - written);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            write_errno = count < 0 ? errno : ENOSPC;
            break;
        }
        written += static_cast<std::size_t>(count);
    }
    if (::close(fd) != 0 && write_errno == 0) {
        write_errno = errno;
    }
    if (write_errno != 0) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw std::runtime_error("cannot write image to '" + path + "': " + std::strerror(write_errno));
    }
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw std::runtime_error("cannot write image to '" + path + "': " + error.message());
    }
}

} // namespace

void check_output_destination(const std::optional<std::string> &out) {
    if (!out) {
        return;
    }
    std::error_code error;
    if (fs::is_directory(*out, error)) {
        return;
    }
    if (out->empty()) {
        throw UsageError("--out is empty; give a file or directory path");
    }
    if (is_special_file(*out)) {
        throw UsageError("--out '" + *out + "' exists and is not a regular file or directory; give a file path");
    }
    const char last = out->back();
    if (last == '/' || last == '\\') {
        throw UsageError("--out directory '" + *out + "' does not exist; create it first");
    }
    const fs::path parent = fs::path(*out).parent_path();
    if (!parent.empty() && !fs::is_directory(parent, error)) {
        throw UsageError("the directory of --out '" + *out + "' does not exist; create '" + parent.string() +
                         "' first");
    }
}

std::string extension_for_mime(const std::string &mime) {
    const std::string type = lowercase(mime.substr(0, mime.find(';')));
    if (type == "image/jpeg" || type == "image/jpg") {
        return "jpg";
    }
    if (type == "image/svg+xml") {
        return "svg";
    }
    const std::size_t slash = type.find('/');
    if (slash == std::string::npos || slash + 1 == type.size()) {
        return "bin";
    }
    std::string subtype;
    for (const char c : type.substr(slash + 1)) {
        if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
            subtype += c;
        }
    }
    return subtype.empty() ? "bin" : subtype;
}

ImageWriter::ImageWriter(std::optional<std::string> out, int64_t expected_images, std::time_t start_time)
    : expected_images_(expected_images) {
    std::error_code error;
    if (out && fs::is_directory(*out, error)) {
        out_directory_ = *out;
    } else if (out) {
        out_file_ = *out;
    }
    std::tm local{};
    if (const std::tm *converted = std::localtime(&start_time)) {
        local = *converted;
    }
    std::ostringstream stamp;
    stamp << std::put_time(&local, "%Y%m%d-%H%M%S");
    timestamp_ = stamp.str();
}

std::string ImageWriter::choose_path(int32_t batch_index, const std::string &extension) const {
    const bool several = expected_images_ > 1 || batch_index > 0;
    if (out_file_) {
        return several ? with_index(*out_file_, batch_index) : *out_file_;
    }
    std::string stem = "swarmpod-" + timestamp_;
    if (several) {
        stem += "-" + std::to_string(batch_index);
    }
    const fs::path directory(out_directory_);
    fs::path candidate = directory / (stem + "." + extension);
    std::error_code error;
    for (int attempt = 2; fs::exists(candidate, error); ++attempt) {
        candidate = directory / (stem + "_" + std::to_string(attempt) + "." + extension);
    }
    return candidate.string();
}

std::string ImageWriter::write(int32_t batch_index, const std::string &mime, const uint8_t *data, std::size_t size,
                               int32_t width, int32_t height) {
    const std::string extension = extension_for_mime(mime);
    const std::string path = choose_path(batch_index, extension);
    write_file(path, data, size);
    written_.push_back(WrittenImage{path, mime, width, height, batch_index, size});

    if (out_file_) {
        std::string given = lowercase(fs::path(path).extension().string());
        if (!given.empty()) {
            given.erase(0, 1);
        }
        const bool same = given == extension || (extension == "jpg" && given == "jpeg");
        if (!given.empty() && !same) {
            return "warning: " + path + " holds " + mime + " data although its extension is ." + given;
        }
    }
    return "";
}

} // namespace swarmpod_cli
