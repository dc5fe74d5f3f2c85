# Applies SWARMPOD_SANITIZE (e.g. "address,undefined" or "thread") to every target.
if(SWARMPOD_SANITIZE)
    if(MSVC)
        message(FATAL_ERROR "SWARMPOD_SANITIZE is supported with GCC and Clang only")
    endif()
    add_compile_options(-fsanitize=${SWARMPOD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${SWARMPOD_SANITIZE})
endif()
