# Installs the ssekit build tree into a scratch prefix and builds a consumer against it, the way
# an app would: find_package(ssekit) for CMake, and pkg-config for everything else.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install ${SSEKIT_BUILD_DIR} --prefix ${prefix} --component Unspecified)
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)

# pkg-config alone must be enough to compile and link the same consumer, from wherever the
# prefix was installed.
find_program(PKG_CONFIG pkg-config REQUIRED)
find_program(CXX_COMPILER NAMES c++ g++ clang++ REQUIRED)
file(GLOB pc_dirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
string(REPLACE ";" ":" pc_path "${pc_dirs}")
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_path}
                ${PKG_CONFIG} --cflags --libs ssekit
                RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config could not find the installed ssekit: ${err}")
endif()
separate_arguments(flag_list UNIX_COMMAND "${flags}")
run(${CXX_COMPILER} -std=c++17 ${CONSUMER_SOURCE_DIR}/main.cpp ${flag_list}
    -o ${WORK_DIR}/consumer_pc)
# A shared ssekit in a scratch prefix is found the way an app's launcher would find it.
file(GLOB lib_dirs ${prefix}/lib ${prefix}/lib64 ${prefix}/lib/*-linux-gnu)
string(REPLACE ";" ":" lib_path "${lib_dirs}")
run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${lib_path} ${WORK_DIR}/consumer_pc)
message(STATUS "the installed ssekit package builds and runs a consumer")
