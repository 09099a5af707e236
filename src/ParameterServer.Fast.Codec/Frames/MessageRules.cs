namespace ParameterServer.Fast.Codec.Frames;

/// <summary>Which sections each message type may or must carry; anything else is a bad frame.</summary>
internal static class MessageRules
{
    public static void Check(MessageType type, FrameFlags flags, uint keyCount, uint valueCount)
    {
        bool keys = keyCount > 0, values = valueCount > 0;
        switch (type)
        {
            case MessageType.Push:
            case MessageType.Replicate:
                Require(type, keys, "keys");
                Require(type, values, "values");
                break;
            case MessageType.Pull:
                Require(type, keys, "keys");
                Forbid(type, values, "values");
                break;
            case MessageType.PullResponse:
                Require(type, values, "values");
                break;
            case MessageType.KeyListRequest:
                if ((flags & FrameFlags.KeysCached) == 0)
                    ProtocolException.Throw("flags", (ulong)flags, "a KeyListRequest carries the signature of the missing list (keys-cached)");
                Forbid(type, values, "values");
                break;
            default:
                Forbid(type, keys, "keys");
                Forbid(type, values, "values");
                break;
        }
        // Rows of equal width: every key owns value count / key count values.
        if (keys && values && valueCount % keyCount != 0)
            ProtocolException.Throw("value count", valueCount, $"is not a multiple of the key count {keyCount}");
    }

    private static void Require(MessageType type, bool present, string section)
    {
        if (!present)
            ProtocolException.Throw($"{section} count", 0, $"a {type} needs {section}");
    }

    private static void Forbid(MessageType type, bool present, string section)
    {
        if (present)
            ProtocolException.Throw($"{section} count", 1, $"a {type} carries no {section}");
    }
}
