/* zoo/api.h: what libzoo exports. The library is built with hidden visibility, so only
 * declarations between ZOO_API_BEGIN and ZOO_API_END in the public headers are visible
 * to programs and plugins; everything else in core/src stays internal. */
#ifndef ZOO_API_H
#define ZOO_API_H

#if defined(__GNUC__) || defined(__clang__)
#define ZOO_API_BEGIN _Pragma("GCC visibility push(default)")
#define ZOO_API_END _Pragma("GCC visibility pop")
#else
#define ZOO_API_BEGIN
#define ZOO_API_END
#endif

#endif
