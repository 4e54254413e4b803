# Every third-party dependency, found once, from Debian bookworm packages
# (installed by scripts/bootstrap.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json url system program_options)
find_package(OpenSSL REQUIRED)
find_package(PkgConfig REQUIRED)
# rdkafka++ does not pull in rdkafka: ask for both.
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++ rdkafka)
find_package(RocksDB CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
if(IB_BUILD_TESTS)
  find_package(Catch2 2 CONFIG REQUIRED)
endif()
find_package(CLI11 CONFIG REQUIRED)
