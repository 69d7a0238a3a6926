# Project-wide warnings: every target is built with -Wall -Wextra -Werror.
add_compile_options(-Wall -Wextra -Werror -Wnon-virtual-dtor)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  add_compile_options(-Wshadow=local)
endif()

# quarry_module(NAME SOURCES... DEPS ...): one static library per src/ folder.
function(quarry_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(quarry_${name} STATIC ${ARG_SOURCES})
  target_include_directories(quarry_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(quarry_${name} PUBLIC ${ARG_DEPS})
endfunction()
