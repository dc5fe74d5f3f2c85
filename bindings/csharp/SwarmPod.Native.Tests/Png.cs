using System;
using System.Buffers.Binary;

namespace SwarmPod.Native.Tests;

/// <summary>Minimal reader of a PNG header, enough to check what the library delivered.</summary>
internal static class Png
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static bool HasSignature(byte[] data)
    {
        return data.Length >= Signature.Length && data.AsSpan(0, Signature.Length).SequenceEqual(Signature);
    }

    /// <summary>Reads width and height from the IHDR chunk, which the PNG spec requires to come first.</summary>
    public static (int Width, int Height) ReadSize(byte[] data)
    {
        // Signature (8), chunk length (4), chunk type "IHDR" (4), then big-endian width and height.
        if (data.Length < 24 || data[12] != 'I' || data[13] != 'H' || data[14] != 'D' || data[15] != 'R')
        {
            throw new FormatException($"Not a PNG with a leading IHDR chunk ({data.Length} bytes).");
        }

        int width = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(16, 4));
        int height = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(20, 4));
        return (width, height);
    }
}
