using System;

namespace SwarmUI.Media;

/// <summary>Stub of an encoded media file.</summary>
public class MediaFile
{
    /// <summary>Encoded bytes.</summary>
    public byte[] RawData;

    /// <summary>Media type.</summary>
    public MediaType Type;

    /// <summary>Returns the data as "data:&lt;mime&gt;;base64,...".</summary>
    public string AsDataString()
    {
        return $"data:{Type.MimeType};base64,{Convert.ToBase64String(RawData)}";
    }
}

/// <summary>Stub of an encoded image file.</summary>
public class ImageFile : MediaFile
{
}
