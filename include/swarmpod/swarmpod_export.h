/*
 * swarmpod_export.h: symbol visibility and calling convention for the public C ABI.
 *
 * SWARMPOD_API marks every exported function. The library is built with hidden
 * visibility, so only functions marked here are visible to a loader (dlopen,
 * .NET NativeLibrary, LoadLibrary).
 */
#ifndef SWARMPOD_EXPORT_H
#define SWARMPOD_EXPORT_H

#if defined(_WIN32)
#  if defined(SWARMPOD_BUILDING_LIBRARY)
#    define SWARMPOD_API __declspec(dllexport)
#  else
#    define SWARMPOD_API __declspec(dllimport)
#  endif
#  define SWARMPOD_CALL __cdecl
#else
#  if defined(SWARMPOD_BUILDING_LIBRARY)
#    define SWARMPOD_API __attribute__((visibility("default")))
#  else
#    define SWARMPOD_API
#  endif
#  define SWARMPOD_CALL
#endif

#endif /* SWARMPOD_EXPORT_H */
