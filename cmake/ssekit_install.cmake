# Installs the library, its headers, a CMake package and a pkg-config file.
include(CMakePackageConfigHelpers)

install(TARGETS ssekit EXPORT ssekitTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ssekit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(ssekit_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ssekit)
install(EXPORT ssekitTargets NAMESPACE ssekit:: DESTINATION ${ssekit_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ssekitConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ssekitConfig.cmake
                              INSTALL_DESTINATION ${ssekit_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ssekitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ssekitConfig.cmake
              ${PROJECT_BINARY_DIR}/ssekitConfigVersion.cmake
        DESTINATION ${ssekit_cmake_dir})

# The .pc file finds the prefix from its own place, so `cmake --install --prefix X` works. A
# static ssekit needs libcurl and threads on every link line; a shared one only privately.
file(RELATIVE_PATH ssekit_pc_to_prefix "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" ssekit_pc_to_prefix "${ssekit_pc_to_prefix}")
if(BUILD_SHARED_LIBS)
  set(ssekit_pc_requires "Requires.private")
  set(ssekit_pc_libs "")
else()
  set(ssekit_pc_requires "Requires")
  set(ssekit_pc_libs "-pthread")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/ssekit.pc.in ${PROJECT_BINARY_DIR}/ssekit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ssekit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
