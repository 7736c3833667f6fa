/* Kernel cores shared by an int8-input and a uint8-input entry point. */

/* A core whose in_u8 argument is a constant at every call: forced inline, so each entry point
   compiles to one straight path */
#if defined(__GNUC__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE static inline
#endif
