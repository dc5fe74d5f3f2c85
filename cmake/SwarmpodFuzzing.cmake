# SWARMPOD_BUILD_FUZZERS: instruments every target for libFuzzer's coverage feedback.
# The fuzz targets themselves link -fsanitize=fuzzer (tests/fuzz/CMakeLists.txt).
if(SWARMPOD_BUILD_FUZZERS)
    if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "SWARMPOD_BUILD_FUZZERS needs Clang (libFuzzer); configure with the fuzz preset")
    endif()
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()
