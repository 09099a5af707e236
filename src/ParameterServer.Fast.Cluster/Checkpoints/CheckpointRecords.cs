using ParameterServer.Fast.Cluster.Protocol;
using ParameterServer.Fast.Codec.Frames;
using ParameterServer.Fast.Core.Keys;
using ParameterServer.Fast.Core.Tables;
using ParameterServer.Fast.Core.Updaters;

namespace ParameterServer.Fast.Cluster.Checkpoints;

/// <summary>
/// The payloads of the small records (HEAD, TABL, END.; see <see cref="CheckpointFormat"/>). The
/// table spec has its own encoding here rather than the wire's: a checkpoint must stay readable
/// when the control protocol moves on. Decoders check every value and throw
/// <see cref="ProtocolException"/>, which the reader turns into a corrupt-file error.
/// </summary>
internal static class CheckpointRecords
{
    public static byte[] EncodeHead(CheckpointFileHeader header, int tableCount)
    {
        var w = new PayloadWriter();
        w.U32(CheckpointFormat.Version);
        w.I32(header.ServerId);
        w.I64(header.Clock);
        w.U32(header.RangeMapVersion);
        w.I32(tableCount);
        w.I64(header.Created.ToUnixTimeMilliseconds());
        return w.Written.ToArray();
    }

    public static (CheckpointFileHeader Header, int TableCount) DecodeHead(ReadOnlySpan<byte> payload)
    {
        var r = new PayloadReader(payload, "HEAD record");
        uint version = r.U32("format version");
        if (version != CheckpointFormat.Version)
            throw new ProtocolException($"format version {version}; this build reads version {CheckpointFormat.Version}");
        int server = r.I32("server id");
        long clock = r.I64("clock");
        uint mapVersion = r.U32("range-map version");
        int tables = r.I32("table count");
        long created = r.I64("created");
        r.End();
        if (clock < 0 || tables < 0 || created < 0 || created > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            throw new ProtocolException($"HEAD record: clock {clock}, table count {tables} or creation time {created} is out of range");
        return (new CheckpointFileHeader(server, clock, mapVersion) { Created = DateTimeOffset.FromUnixTimeMilliseconds(created) }, tables);
    }

    public static byte[] EncodeTable(Table table, int rowsPerBlock)
    {
        var w = new PayloadWriter();
        TableSpec spec = table.Spec;
        w.Str(spec.Name);
        w.U8((byte)spec.Kind);
        w.I32(spec.Width);
        w.U64(spec.Range.Begin);
        w.U64(spec.Range.End);
        w.U8((byte)spec.Updater);
        UpdaterSettings s = spec.Settings;
        w.F32(s.LearningRate);
        w.F32(s.L1);
        w.F32(s.L2);
        w.F32(s.Beta1);
        w.F32(s.Beta2);
        w.F32(s.Epsilon);
        w.F32(s.Beta);
        w.U8((byte)spec.Initializer.Kind);
        w.F32(spec.Initializer.Scale);
        w.U64(spec.Initializer.Seed);
        w.I64(spec.MaxRows);
        w.U64(table.OwnedRange.Begin);
        w.U64(table.OwnedRange.End);
        w.U8((byte)table.Updater.StateCount);
        w.I64(table.RowCount);
        w.I32(rowsPerBlock);
        return w.Written.ToArray();
    }

    public static (CheckpointTable Table, int StateCount, int RowsPerBlock) DecodeTable(ReadOnlySpan<byte> payload)
    {
        var r = new PayloadReader(payload, "TABL record");
        string name = r.Str("table name", 512);
        byte kind = r.U8("table kind");
        if (!Enum.IsDefined((TableKind)kind))
            throw new ProtocolException("table kind", kind, "is not dense (0) or sparse (1)");
        int width = r.I32("width");
        KeyRange range = Range(ref r, "table range");
        byte updater = r.U8("updater");
        if (!Enum.IsDefined((UpdaterKind)updater))
            throw new ProtocolException("updater", updater, "is not a known updater");
        var settings = new UpdaterSettings(r.F32("learning rate"), r.F32("l1"), r.F32("l2"), r.F32("beta1"), r.F32("beta2"), r.F32("epsilon"), r.F32("beta"));
        byte init = r.U8("initializer");
        if (!Enum.IsDefined((InitializerKind)init))
            throw new ProtocolException("initializer", init, "is not a known initializer");
        var initializer = new TableInitializer((InitializerKind)init, r.F32("initializer scale"), r.U64("initializer seed"));
        long maxRows = r.I64("max rows");
        KeyRange owned = Range(ref r, "range held");
        int stateCount = r.U8("state values per weight");
        long rows = r.I64("rows");
        int rowsPerBlock = r.I32("rows per block");
        r.End();
        var spec = new TableSpec
        {
            Name = name, Kind = (TableKind)kind, Width = width, Range = range, Updater = (UpdaterKind)updater,
            Settings = settings, Initializer = initializer, MaxRows = maxRows,
        };
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ProtocolException($"TABL record: {e.Message}");
        }
        if (!range.Contains(owned) || owned.IsEmpty)
            throw new ProtocolException($"TABL record: table '{name}' holds {owned}, which is empty or outside its range {range}");
        int expectedStates = Updater.Create(spec.Updater, settings).StateCount;
        if (stateCount != expectedStates)
            throw new ProtocolException($"TABL record: table '{name}' ({spec.Updater}) keeps {expectedStates} state values per weight, the file says {stateCount}");
        ulong maxKeys = spec.Kind == TableKind.Dense ? owned.Size : (ulong)maxRows;
        if (rows < 0 || (ulong)rows > maxKeys || (spec.Kind == TableKind.Dense && (ulong)rows != owned.Size))
            throw new ProtocolException($"TABL record: table '{name}' cannot have {rows} rows in {owned}");
        long rowBytes = CheckpointFormat.RowBytes(width, stateCount);
        if (rowsPerBlock < 1 || sizeof(uint) + (rowsPerBlock * rowBytes) > CheckpointFormat.MaxRowsPayload)
            throw new ProtocolException($"TABL record: {rowsPerBlock} rows per block of {rowBytes} bytes do not fit a {CheckpointFormat.MaxRowsPayload >> 20} MiB block");
        return (new CheckpointTable(spec, owned, rows), stateCount, rowsPerBlock);
    }

    public static byte[] EncodeEnd(int tableCount, long rows, uint crcBefore)
    {
        var w = new PayloadWriter();
        w.I32(tableCount);
        w.I64(rows);
        w.U32(crcBefore);
        return w.Written.ToArray();
    }

    public static (int TableCount, long Rows, uint CrcBefore) DecodeEnd(ReadOnlySpan<byte> payload)
    {
        var r = new PayloadReader(payload, "END. record");
        var end = (r.I32("table count"), r.I64("rows"), r.U32("file checksum"));
        r.End();
        return end;
    }

    private static KeyRange Range(ref PayloadReader r, string field)
    {
        ulong begin = r.U64($"{field} begin"), end = r.U64($"{field} end");
        if (end < begin)
            throw new ProtocolException($"{field}: end {end} is before begin {begin}");
        return new KeyRange(begin, end);
    }
}
