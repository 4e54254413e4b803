# cmake -DIB_SOURCE_DIR=... -DIB_WORK_DIR=... -DIB_CLANGXX=... -DIB_FUZZ_SECONDS=20 -P run_libfuzzer.cmake
# Configures and builds tests/odata/fuzz with clang (libFuzzer + ASan + UBSan), then runs
# the fuzzer for IB_FUZZ_SECONDS on a scratch copy of the seed corpus. Fails on any crash,
# sanitizer report or broken invariant (libFuzzer exits non-zero).
set(src ${IB_SOURCE_DIR}/tests/odata/fuzz)
set(build ${IB_WORK_DIR}/build)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${src} -B ${build} -G Ninja
                        -DCMAKE_CXX_COMPILER=${IB_CLANGXX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the libFuzzer build failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${build} -j 2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the libFuzzer target failed (${rc})")
endif()
set(scratch ${IB_WORK_DIR}/corpus)
file(REMOVE_RECURSE ${scratch})
file(MAKE_DIRECTORY ${scratch})
execute_process(COMMAND ${build}/odata_fuzz_batch_reader -max_total_time=${IB_FUZZ_SECONDS}
                        -runs=5000000 -max_len=16384 -timeout=10 -rss_limit_mb=1024
                        ${scratch} ${IB_SOURCE_DIR}/tests/odata/corpus
                RESULT_VARIABLE rc WORKING_DIRECTORY ${IB_WORK_DIR})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "libFuzzer found a failure (exit ${rc}); the crashing input is in ${IB_WORK_DIR}")
endif()
message(STATUS "libFuzzer: no failure in ${IB_FUZZ_SECONDS} s")
