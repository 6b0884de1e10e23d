package org.mixtralspark.engine.serving;

import org.mixtralspark.engine.kernels.cpu.Matmul;
import org.mixtralspark.engine.kernels.cpu.ThreadTeam;
import org.mixtralspark.engine.model.MixtralConfig;
import org.mixtralspark.engine.model.MixtralWeights;
import org.mixtralspark.engine.model.mixtral.BatchForward;
import org.mixtralspark.engine.model.mixtral.SequenceKv;

/** Runs the batched forward pass on the CPU with a team of threads. */
final class CpuModelRunner implements ModelRunner {

    private final MixtralConfig config;
    private final ThreadTeam team;
    private final BatchForward forward;

    CpuModelRunner(MixtralWeights weights, int threads) {
        this.config = weights.config();
        this.team = new ThreadTeam(threads, "mixtral-cpu");
        this.forward = new BatchForward(weights, Matmul.best(), team);
    }

    @Override
    public MixtralConfig config() {
        return config;
    }

    @Override
    public String device() {
        return "cpu";
    }

    @Override
    public SequenceKv newCache(int maxPositions) {
        return new SequenceKv(config, maxPositions);
    }

    @Override
    public float[] forward(int[] tokens, int[] positions, SequenceKv[] caches, int[] logitRows) {
        return forward.forward(tokens, positions, caches, logitRows);
    }

    @Override
    public void close() {
        team.close();
    }
}
