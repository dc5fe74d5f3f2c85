# Checks the built libswarmpod: its SONAME carries the major version, and its dynamic
# symbol table exports the C ABI's swarmpod_* functions and nothing else: no symbol of
# swarmpod's C++ code, of std's template instances, or of the libraries it links
# privately (curl, spdlog, fmt, OpenSSL).
#   cmake -DLIBRARY=<libswarmpod.so> -DSONAME=<libswarmpod.so.N> -DNM=<nm> -DREADELF=<readelf> -P check_exports.cmake
foreach(variable LIBRARY SONAME NM READELF)
    if(NOT DEFINED ${variable})
        message(FATAL_ERROR "check_exports.cmake needs -D${variable}=...")
    endif()
endforeach()

execute_process(COMMAND "${READELF}" -d "${LIBRARY}" OUTPUT_VARIABLE dynamic RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "${READELF} -d ${LIBRARY} failed (${result})")
endif()
if(NOT dynamic MATCHES "\\(SONAME\\)[^\n]*\\[${SONAME}\\]")
    message(FATAL_ERROR "${LIBRARY} has no SONAME ${SONAME}:\n${dynamic}")
endif()

# Defined dynamic symbols of code and data (nm types T, D, B, R, V, W, i, u).
execute_process(COMMAND "${NM}" -D --defined-only "${LIBRARY}" OUTPUT_VARIABLE symbols RESULT_VARIABLE result)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "${NM} -D ${LIBRARY} failed (${result})")
endif()
string(REPLACE "\n" ";" lines "${symbols}")
set(exported 0)
set(foreign "")
foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[0-9a-fA-F]* ([A-Za-z]) (.+)$")
        continue()
    endif()
    set(name "${CMAKE_MATCH_2}")
    if(name MATCHES "^swarmpod_")
        math(EXPR exported "${exported} + 1")
    elseif(CMAKE_MATCH_1 STREQUAL "A")
        # Absolute symbols (type A) are linker version nodes, not code.
    else()
        list(APPEND foreign "${name}")
    endif()
endforeach()
if(exported EQUAL 0)
    message(FATAL_ERROR "${LIBRARY} exports no swarmpod_* symbol")
endif()
if(foreign)
    list(LENGTH foreign count)
    list(SUBLIST foreign 0 20 shown)
    message(FATAL_ERROR "${LIBRARY} exports ${count} symbols outside the C ABI, such as: ${shown}")
endif()
message(STATUS "${LIBRARY}: SONAME ${SONAME}, ${exported} swarmpod_* symbols and no other symbol")
