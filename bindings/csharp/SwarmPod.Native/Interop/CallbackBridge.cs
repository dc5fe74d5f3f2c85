using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SwarmPod.Native.Interop;

/// <summary>Native entry points for the generation callbacks.</summary>
/// <remarks>
/// Each body catches every exception: one that unwound into the library's C++ frames would terminate
/// the process. A caught exception is stored in the call's context and the callback returns 1, which
/// the library treats as a cancel request; <see cref="SwarmPodBackend.Generate"/> rethrows it after
/// swarmpod_generate returns.
/// </remarks>
internal static unsafe class CallbackBridge
{
    private const int Continue = 0;

    private const int Cancel = 1;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static int OnProgress(nint userData, NativeProgress* progressEvent)
    {
        GenerationCallContext? context = null;
        try
        {
            context = ContextFrom(userData);
            if (context.Failure is not null)
            {
                return Cancel;
            }

            if (context.OnProgress is null)
            {
                return Continue;
            }

            SwarmPodProgress progress = CopyProgress(progressEvent);
            context.OnProgress(progress);
            return Continue;
        }
        catch (Exception ex)
        {
            context?.Fail(ex);
            return Cancel;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static int OnImage(nint userData, NativeImage* imageEvent)
    {
        GenerationCallContext? context = null;
        try
        {
            context = ContextFrom(userData);
            if (context.Failure is not null)
            {
                return Cancel;
            }

            SwarmPodImage image = CopyImage(imageEvent);
            context.Images.Add(image);
            context.OnImage?.Invoke(image);
            return Continue;
        }
        catch (Exception ex)
        {
            context?.Fail(ex);
            return Cancel;
        }
    }

    private static GenerationCallContext ContextFrom(nint userData)
    {
        return (GenerationCallContext)GCHandle.FromIntPtr(userData).Target!;
    }

    private static SwarmPodProgress CopyProgress(NativeProgress* native)
    {
        if (native is null)
        {
            throw new InvalidOperationException("libswarmpod passed a null progress event.");
        }

        if (native->StructSize < (uint)sizeof(NativeProgress))
        {
            throw new InvalidOperationException(
                $"libswarmpod sent a swarmpod_progress of {native->StructSize} bytes, smaller than the {sizeof(NativeProgress)} bytes "
                + "this binding reads. Use a libswarmpod built from the same source tree as SwarmPod.Native.");
        }

        byte[]? preview = null;
        if (native->Preview is not null)
        {
            preview = new ReadOnlySpan<byte>(native->Preview, checked((int)native->PreviewSize)).ToArray();
        }

        return new SwarmPodProgress
        {
            Phase = (SwarmPodPhase)native->Phase,
            BatchIndex = native->BatchIndex,
            Elapsed = TimeSpan.FromSeconds(Math.Max(0, native->ElapsedSeconds)),
            EstimatedRemaining = native->EstimatedRemainingSeconds < 0 ? null : TimeSpan.FromSeconds(native->EstimatedRemainingSeconds),
            OverallPercent = native->OverallPercent < 0 ? null : native->OverallPercent,
            CurrentPercent = native->CurrentPercent < 0 ? null : native->CurrentPercent,
            WorkerId = Utf8(native->WorkerId),
            Message = Utf8(native->Message) ?? "",
            Preview = preview,
            PreviewMime = Utf8(native->PreviewMime),
            Json = Utf8(native->Json) ?? "{}",
        };
    }

    private static SwarmPodImage CopyImage(NativeImage* native)
    {
        if (native is null)
        {
            throw new InvalidOperationException("libswarmpod passed a null image event.");
        }

        // A library older than the GpuSeconds field sends the struct without it, so the field is read only when present.
        int requiredSize = (int)Marshal.OffsetOf<NativeImage>(nameof(NativeImage.GpuSeconds));
        if (native->StructSize < (uint)requiredSize)
        {
            throw new InvalidOperationException(
                $"libswarmpod sent a swarmpod_image of {native->StructSize} bytes, smaller than the {requiredSize} bytes "
                + "this binding reads. Use a libswarmpod built from the same source tree as SwarmPod.Native.");
        }

        bool hasGpuSeconds = native->StructSize >= (uint)sizeof(NativeImage);

        if (native->Data is null && native->Size != 0)
        {
            throw new InvalidOperationException($"libswarmpod sent image {native->BatchIndex} with {native->Size} bytes but no data pointer.");
        }

        // The native buffer is valid only until this callback returns, so copy it.
        byte[] data = native->Data is null ? [] : new ReadOnlySpan<byte>(native->Data, checked((int)native->Size)).ToArray();
        return new SwarmPodImage
        {
            BatchIndex = native->BatchIndex,
            Data = data,
            Mime = Utf8(native->Mime) ?? "application/octet-stream",
            Width = native->Width,
            Height = native->Height,
            Channels = native->Channels,
            Metadata = Utf8(native->Metadata),
            GpuSeconds = hasGpuSeconds && native->GpuSeconds >= 0 ? native->GpuSeconds : null,
        };
    }

    private static string? Utf8(byte* text)
    {
        return Marshal.PtrToStringUTF8((nint)text);
    }
}
