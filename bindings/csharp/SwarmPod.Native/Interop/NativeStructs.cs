using System.Runtime.InteropServices;

namespace SwarmPod.Native.Interop;

/// <summary>Mirror of <c>swarmpod_progress</c>; field order and types follow swarmpod.h exactly.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeProgress
{
    /// <summary>sizeof(swarmpod_progress) in the library that filled the struct.</summary>
    public uint StructSize;

    /// <summary>SWARMPOD_PHASE_* value.</summary>
    public int Phase;

    /// <summary>Image index within the request, or -1.</summary>
    public int BatchIndex;

    /// <summary>Seconds since the generate call started.</summary>
    public double ElapsedSeconds;

    /// <summary>Seconds left in the current phase; negative when unknown.</summary>
    public double EstimatedRemainingSeconds;

    /// <summary>Fraction 0..1 of the whole request; negative when unknown.</summary>
    public double OverallPercent;

    /// <summary>Fraction 0..1 of the current image; negative when unknown.</summary>
    public double CurrentPercent;

    /// <summary>UTF-8 RunPod worker id, or null.</summary>
    public byte* WorkerId;

    /// <summary>UTF-8 status text.</summary>
    public byte* Message;

    /// <summary>Preview image bytes, or null.</summary>
    public byte* Preview;

    /// <summary>Length of <see cref="Preview"/> in bytes.</summary>
    public nuint PreviewSize;

    /// <summary>UTF-8 preview MIME type, or null.</summary>
    public byte* PreviewMime;

    /// <summary>UTF-8 JSON object describing this event.</summary>
    public byte* Json;
}

/// <summary>Mirror of <c>swarmpod_image</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeImage
{
    /// <summary>sizeof(swarmpod_image) in the library that filled the struct.</summary>
    public uint StructSize;

    /// <summary>Image index within the request.</summary>
    public int BatchIndex;

    /// <summary>Encoded image bytes.</summary>
    public byte* Data;

    /// <summary>Length of <see cref="Data"/> in bytes.</summary>
    public nuint Size;

    /// <summary>UTF-8 MIME type.</summary>
    public byte* Mime;

    /// <summary>Width in pixels, 0 when unknown.</summary>
    public int Width;

    /// <summary>Height in pixels, 0 when unknown.</summary>
    public int Height;

    /// <summary>Channel count, 0 when unknown.</summary>
    public int Channels;

    /// <summary>UTF-8 metadata JSON string, or null.</summary>
    public byte* Metadata;

    /// <summary>Estimated GPU-seconds of the generation when this image arrived; negative when unknown. Appended after
    /// <see cref="Metadata"/>, so a library whose <see cref="StructSize"/> ends before it does not fill it.</summary>
    public double GpuSeconds;
}

/// <summary>Mirror of <c>swarmpod_callbacks</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeCallbacks
{
    /// <summary>Must be sizeof(NativeCallbacks).</summary>
    public uint StructSize;

    /// <summary>Progress callback, or null.</summary>
    public delegate* unmanaged[Cdecl]<nint, NativeProgress*, int> OnProgress;

    /// <summary>Image callback, or null.</summary>
    public delegate* unmanaged[Cdecl]<nint, NativeImage*, int> OnImage;

    /// <summary>Opaque value passed to each callback: a GCHandle to the call's context.</summary>
    public nint UserData;
}
