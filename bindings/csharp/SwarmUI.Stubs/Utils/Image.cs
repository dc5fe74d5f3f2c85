using SwarmUI.Media;

namespace SwarmUI.Utils;

/// <summary>Stub of SwarmUI's image type, the result of Generate.</summary>
public class Image : ImageFile
{
    /// <summary>Creates an image from encoded bytes.</summary>
    public Image(byte[] data, MediaType type)
    {
        RawData = data;
        Type = type;
    }
}
