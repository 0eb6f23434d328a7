# ZooInstall.cmake: the SDK side of `cmake --install`: the CMake package (zoo::zoo,
# zoo_add_mixer) under <libdir>/cmake/zoo and zoo.pc under <libdir>/pkgconfig, both
# relocatable (paths relative to where they are installed). Included after the targets.
include(CMakePackageConfigHelpers)
set(ZOO_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/zoo")

# The plugin ABI major, read from the header so the package reports what it builds against.
file(STRINGS "${PROJECT_SOURCE_DIR}/core/include/zoo/mixer.h" _zoo_abi REGEX "^#define ZOO_ABI_MAJOR ")
string(REGEX REPLACE "^#define ZOO_ABI_MAJOR ([0-9]+).*" "\\1" ZOO_ABI_MAJOR_VALUE "${_zoo_abi}")

install(EXPORT zooTargets NAMESPACE zoo:: DESTINATION ${ZOO_CMAKE_INSTALL_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/zooConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/zooConfig.cmake
  INSTALL_DESTINATION ${ZOO_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR ZOO_PLUGIN_INSTALL_DIR)
# 0.x: minor versions may break the SDK, so a request for 0.1 accepts 0.1.* only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/zooConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/zooConfig.cmake ${PROJECT_BINARY_DIR}/cmake/zooConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/ZooPlugin.cmake DESTINATION ${ZOO_CMAKE_INSTALL_DIR})

file(RELATIVE_PATH ZOO_PC_PREFIX_REL "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig"
  "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" ZOO_PC_PREFIX_REL "${ZOO_PC_PREFIX_REL}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/zoo.pc.in ${PROJECT_BINARY_DIR}/cmake/zoo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/zoo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The installed `zoo` finds the installed libzoo wherever the prefix ends up.
set_target_properties(zoo_cli PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
