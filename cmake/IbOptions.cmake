# Project-wide compile options, as INTERFACE targets that every module links.
add_library(ib_options INTERFACE)
add_library(ib::options ALIAS ib_options)
target_compile_options(ib_options INTERFACE -Wall -Wextra -Wpedantic)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # Boost.Asio/Beast trip this in their own headers with g++ 12 (clang has no such warning).
  target_compile_options(ib_options INTERFACE -Wno-maybe-uninitialized)
endif()
if(IB_WERROR)
  target_compile_options(ib_options INTERFACE -Werror)
endif()
if(IB_SANITIZE)
  target_compile_options(ib_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(ib_options INTERFACE -fsanitize=address,undefined)
endif()
# Boost.Asio: no deprecated names, and coroutines everywhere.
target_compile_definitions(ib_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED
  BOOST_BEAST_USE_STD_STRING_VIEW)
