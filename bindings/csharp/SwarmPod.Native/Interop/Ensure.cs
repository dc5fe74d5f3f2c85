using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace SwarmPod.Native.Interop;

/// <summary>Turns libswarmpod status codes into exceptions.</summary>
internal static class Ensure
{
    /// <summary>Throws a <see cref="SwarmPodException"/> unless <paramref name="status"/> is SWARMPOD_OK.</summary>
    /// <remarks>Call it on the thread that made the native call, before that thread makes another one:
    /// the detail text is thread-local in the library.</remarks>
    /// <param name="status">The status the native call returned.</param>
    /// <param name="secrets">Values to mask in the message, such as the API key passed to the call.</param>
    public static void Success(int status, IEnumerable<string?>? secrets = null)
    {
        if (status != 0)
        {
            string detail = LastErrorMessage();
            throw Failure(status, detail, secrets, resultJson: null);
        }
    }

    /// <summary>Copies this thread's last error text from the library.</summary>
    /// <remarks>Any later swarmpod call on the thread, even swarmpod_string_free, may replace the text,
    /// so read it first.</remarks>
    public static string LastErrorMessage()
    {
        return Marshal.PtrToStringUTF8(NativeMethods.swarmpod_last_error_message()) ?? "";
    }

    /// <summary>Builds the exception for a failed call.</summary>
    /// <param name="status">The non-zero status the native call returned.</param>
    /// <param name="detail">The text <see cref="LastErrorMessage"/> returned right after the call.</param>
    /// <param name="secrets">Values to mask in the message.</param>
    /// <param name="resultJson">The JSON summary the call returned, or null.</param>
    public static SwarmPodException Failure(int status, string detail, IEnumerable<string?>? secrets, string? resultJson)
    {
        string summary = StatusText(status);
        string message = detail.Length == 0 ? $"libswarmpod call failed: {summary}" : detail;
        message = $"{Redact(message, secrets)} (status {(SwarmPodStatus)status})";
        return new SwarmPodException((SwarmPodStatus)status, message, resultJson is null ? null : Redact(resultJson, secrets));
    }

    /// <summary>Returns the library's short description of a status code.</summary>
    public static string StatusText(int status)
    {
        return Marshal.PtrToStringUTF8(NativeMethods.swarmpod_strerror(status)) ?? "unknown status";
    }

    /// <summary>Replaces every occurrence of each secret with "***".</summary>
    /// <remarks>The library already redacts keys; this second pass covers text that reaches the binding by another path.</remarks>
    public static string Redact(string text, IEnumerable<string?>? secrets)
    {
        if (secrets is null)
        {
            return text;
        }

        foreach (string? secret in secrets)
        {
            // Very short values would mask ordinary words; real RunPod keys are dozens of characters.
            if (!string.IsNullOrEmpty(secret) && secret.Length >= 4)
            {
                text = text.Replace(secret, "***", StringComparison.Ordinal);
            }
        }

        return text;
    }

    /// <summary>Copies a string the library returned through an out-parameter and frees the original.</summary>
    public static string? TakeOwnedString(nint pointer)
    {
        if (pointer == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(pointer);
        }
        finally
        {
            NativeMethods.swarmpod_string_free(pointer);
        }
    }
}
