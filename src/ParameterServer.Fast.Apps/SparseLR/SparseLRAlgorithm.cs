namespace ParameterServer.Fast.Apps.SparseLR;

/// <summary>How sparse logistic regression is trained.</summary>
public enum SparseLRAlgorithm
{
    /// <summary>
    /// The paper's delayed block proximal gradient (§5.1): a full pass over the data per feature
    /// block, the proximal step on the servers, the KKT filter. Converges to the optimum of the
    /// L1 objective.
    /// </summary>
    BlockProximal,

    /// <summary>Asynchronous minibatch SGD against the servers' FTRL-proximal updater (an online method).</summary>
    Ftrl,
}
