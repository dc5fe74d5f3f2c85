using Microsoft.Win32.SafeHandles;

namespace SwarmPod.Native.Interop;

/// <summary>Owner of one <c>swarmpod_backend*</c>; releasing it calls swarmpod_backend_free.</summary>
internal sealed class BackendHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Creates an empty handle; the interop marshaller fills it from an out-parameter.</summary>
    public BackendHandle()
        : base(ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        // Cancels running generations, ends the RunPod jobs the backend started, and can block for up to about 15 s.
        NativeMethods.swarmpod_backend_free(handle);
        return true;
    }
}
