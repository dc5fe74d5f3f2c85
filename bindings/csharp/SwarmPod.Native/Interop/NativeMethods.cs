using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SwarmPod.Native.Interop;

/// <summary>Raw imports of every function in swarmpod.h.</summary>
/// <remarks>
/// Functions that return a borrowed or static <c>const char*</c> are imported as <c>nint</c>:
/// a generated string marshaller would free the pointer, which the library still owns.
/// Backend handles are passed as raw pointers so that callers can add a SafeHandle
/// reference themselves and read the thread-local error text before releasing it.
/// </remarks>
internal static unsafe partial class NativeMethods
{
    /// <summary>Name that the DllImport resolver maps to the located libswarmpod.</summary>
    internal const string LibraryName = "swarmpod";

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial uint swarmpod_version();

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial nint swarmpod_version_string();

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial nint swarmpod_strerror(int status);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial nint swarmpod_last_error_message();

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void swarmpod_string_free(nint str);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_set_log_callback(
        delegate* unmanaged[Cdecl]<nint, int, byte*, void> callback, nint userData, int minLevel);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_backend_new(string configJson, out BackendHandle backend);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void swarmpod_backend_free(nint backend);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_generation_new(out GenerationHandle generation);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void swarmpod_generation_cancel(GenerationHandle generation);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial void swarmpod_generation_free(nint generation);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_generate(
        nint backend,
        string requestJson,
        string? apiKey,
        nint generation,
        NativeCallbacks* callbacks,
        nint* outResultJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_endpoint_health(nint backend, string? apiKey, nint* outJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_backend_list_models(nint backend, string subtype, int refresh, string? apiKey, nint* outJson);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_backend_status(nint backend, nint* outJson);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_backend_stop_worker(nint backend, string workerId);

    [LibraryImport(LibraryName)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int swarmpod_backend_features(nint backend, nint* outJson);
}
