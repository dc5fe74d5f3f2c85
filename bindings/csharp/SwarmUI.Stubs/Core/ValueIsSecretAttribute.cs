using System;

namespace SwarmUI.Core;

/// <summary>Marks a settings field whose value the API masks as "\t&lt;secret&gt;".</summary>
[AttributeUsage(AttributeTargets.Field)]
public class ValueIsSecretAttribute : Attribute
{
}
