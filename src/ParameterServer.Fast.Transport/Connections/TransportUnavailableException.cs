namespace ParameterServer.Fast.Transport.Connections;

/// <summary>This machine cannot run the transport asked for (no RDMA device, no native shim); the message says why.</summary>
public sealed class TransportUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
