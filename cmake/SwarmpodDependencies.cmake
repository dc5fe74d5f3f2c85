# Third-party dependencies, all from the system (Debian packages; vcpkg on Windows).
# Nothing is downloaded at configure or build time.
find_package(Threads REQUIRED)
find_package(CURL 7.68 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog 1.9 REQUIRED)
find_package(PkgConfig REQUIRED)

# stb ships only headers for our use; the implementation is compiled in src/media.
find_path(STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
add_library(swarmpod_stb INTERFACE)
target_include_directories(swarmpod_stb SYSTEM INTERFACE "${STB_INCLUDE_DIR}")

if(SWARMPOD_BUILD_EMULATOR OR SWARMPOD_BUILD_TESTS)
    pkg_check_modules(CPPHTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
endif()
