using System;

namespace SwarmUI.Utils;

/// <summary>An error whose message SwarmUI shows to the user as is.</summary>
public class SwarmReadableErrorException(string message) : InvalidOperationException(message)
{
}

/// <summary>A readable error caused by the user's input or settings.</summary>
public class SwarmUserErrorException(string message) : SwarmReadableErrorException(message)
{
}
