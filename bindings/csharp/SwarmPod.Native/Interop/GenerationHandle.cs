using Microsoft.Win32.SafeHandles;

namespace SwarmPod.Native.Interop;

/// <summary>Owner of one <c>swarmpod_generation*</c> cancellation handle.</summary>
internal sealed class GenerationHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Creates an empty handle; the interop marshaller fills it from an out-parameter.</summary>
    public GenerationHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        NativeMethods.swarmpod_generation_free(handle);
        return true;
    }
}
