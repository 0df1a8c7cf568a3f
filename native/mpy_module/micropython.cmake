# mitra GNC core as the MicroPython user C module `gnc_native` (CMake-based ports: esp32, rp2).
#   make -C ports/rp2 BOARD=RPI_PICO USER_C_MODULES=/path/to/mitra/native/mpy_module/micropython.cmake
#   (ports/esp32) idf.py -D USER_C_MODULES=/path/to/mitra/native/mpy_module/micropython.cmake build
add_library(usermod_gnc_native INTERFACE)

get_filename_component(GNC_DIR ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
file(GLOB GNC_CORE_SOURCES ${GNC_DIR}/src/*.c)

target_sources(usermod_gnc_native INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modgnc.c
    ${GNC_CORE_SOURCES}
)

target_include_directories(usermod_gnc_native INTERFACE
    ${GNC_DIR}/include
)

target_link_libraries(usermod INTERFACE usermod_gnc_native)
