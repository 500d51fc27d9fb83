package dev.expertmesh.launcher.bench;

import dev.expertmesh.engine.DeepseekModel;

import java.util.List;

/** A model whose stage calls are logged: in this process or on a local cluster. */
sealed interface DecodeRig extends AutoCloseable permits InProcessRig, ClusterRig {

    DeepseekModel model();

    /** "one process" or "local cluster". */
    String deployment();

    /** The stage calls since the log was last cleared. */
    CallLog log();

    /** Each of the model's stage calls among {@code calls}, split into the computing it waited on and the wire. */
    List<TimeSplit.CallShare> shares(List<StageCall> calls);

    @Override
    void close();
}
