# CMake toolchain file: cross-compile the generated library (and its example) for a Cortex-M
# with the GNU Arm toolchain (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi).
#   cmake -B build-arm -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake
#   cmake -B build-m0 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake -DEDGEPORT_CPU_FLAGS="-mcpu=cortex-m0 -mthumb"
# The example links against newlib-nano with stub system calls (nosys): it builds, but a board
# needs its own startup code and linker script to run it.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(EDGEPORT_CPU_FLAGS "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
    CACHE STRING "target CPU flags for arm-none-eabi-gcc")
set(CMAKE_C_FLAGS_INIT "${EDGEPORT_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
