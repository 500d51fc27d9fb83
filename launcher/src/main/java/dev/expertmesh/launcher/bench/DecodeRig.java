package dev.expertmesh.launcher.bench;

import dev.expertmesh.engine.DeepseekModel;

/** A model whose stages are timed: in this process or on a local cluster. */
sealed interface DecodeRig extends AutoCloseable permits InProcessRig, ClusterRig {

    DeepseekModel model();

    /** Forgets the time measured so far. */
    void resetClocks();

    /** The time measured since the last reset. */
    TimeSplit split();

    @Override
    void close();
}
