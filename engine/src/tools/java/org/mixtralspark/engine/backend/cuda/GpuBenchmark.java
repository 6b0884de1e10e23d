package org.mixtralspark.engine.backend.cuda;


import jcuda.driver.CUevent;
import jcuda.driver.JCudaDriver;
import org.mixtralspark.engine.kv.BlockTable;
import org.mixtralspark.engine.model.MixtralConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The GPU benchmark (issue 5): a full-size Mixtral 8x7B with random bf16 weights generated on the device, driven
 * through the backend interface as the scheduler drives it. Measures the device-to-device copy bandwidth (the HBM
 * ceiling, bytes read plus written), time to first token of one 512-token prompt, prefill throughput (steps of
 * 2048 prompt tokens), and decode throughput at several concurrencies (every sequence with a 128-token prompt, one
 * token per sequence per step, logits copied back each step as the engine needs them). Stops starting new
 * measurements once its deadline has passed, and says which it skipped.
 */
final class GpuBenchmark {

    static final int PROMPT = 512;
    static final int DECODE_PROMPT = 128;
    static final int[] CONCURRENCY = {1, 8, 64, 256};

    private final CudaModelRunner r;
    private final MixtralConfig c;
    private final long deadlineNanos;
    private final List<String> notes = new ArrayList<>();
    private int tokenCounter = 1;

    private GpuBenchmark(CudaModelRunner r, long deadlineNanos) {
        this.r = r;
        this.c = r.config();
        this.deadlineNanos = deadlineNanos;
    }

    /**
     * Runs everything into {@code out} (issue 5's JSON fields), calling {@code save} after each measurement so that a
     * run killed by its time limit still leaves what it measured.
     */
    static void run(MixtralConfig c, int ordinal, double seconds, Map<String, Object> out, Runnable save) {
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        CudaOptions o = new CudaOptions(ordinal, Precision.BF16, 16L << 30, 256, 4096, 2048, 0, false);
        try (CudaModelRunner r = CudaModelRunner.random(c, 1234, o)) {
            out.put("weights_generated_s", (System.nanoTime() - start) / 1e9);
            GpuBenchmark b = new GpuBenchmark(r, deadline);
            b.measure(out, save);
        }
        out.put("total_s", (System.nanoTime() - start) / 1e9);
        save.run();
    }

    private void measure(Map<String, Object> out, Runnable save) {
        out.put("gpu_name", r.deviceName());
        out.put("active_bytes_per_token", r.activeBytesPerToken());
        out.put("notes", notes);
        double bandwidth = copyBandwidth();
        out.put("hbm_copy_bytes_per_s", bandwidth);
        double roofline = bandwidth / r.activeBytesPerToken();
        out.put("roofline_tokens_per_s_c1", roofline);
        memory(out);
        save.run();

        // warm up: module load, first launches
        prefill(1, 64, 64);

        // time to first token: one 512-token prompt in one step, logits back on the host (median of 3)
        double[] ttft = new double[3];
        for (int i = 0; i < ttft.length; i++) {
            ttft[i] = prefill(1, PROMPT, PROMPT) * 1e3;
        }
        Arrays.sort(ttft);
        out.put("ttft_ms", ttft[1]);
        out.put("ttft_prompt_tokens", PROMPT);
        save.run();

        // prefill throughput: 8 prompts of 512 tokens, 2048 tokens per step
        double t = prefill(8, PROMPT, 2048);
        out.put("prefill_tokens_per_s", 8 * PROMPT / t);
        out.put("prefill_step_tokens", 2048);
        save.run();

        List<Map<String, Object>> decode = new ArrayList<>();
        out.put("decode", decode);
        for (int conc : CONCURRENCY) {
            if (System.nanoTime() > deadlineNanos) {
                notes.add("decode at concurrency " + conc + " skipped: past the deadline");
                continue;
            }
            Map<String, Object> d = decode(conc, conc <= 64 ? 32 : 16);
            decode.add(d);
            if (conc == 1) {
                out.put("roofline_fraction_c1", (double) d.get("tokens_per_s") / roofline);
            }
            memory(out);
            save.run();
        }
    }

    /** Device memory in use now (every process) and this engine's share. */
    private void memory(Map<String, Object> out) {
        long[] info = r.deviceMemoryInfo();
        out.put("gpu_memory_bytes", info[1] - info[0]);
        out.put("gpu_memory_total_bytes", info[1]);
        out.put("engine_device_bytes", r.deviceBytesInUse());
        out.put("engine_device_peak_bytes", r.memory().peak());
    }

    /** Device-to-device copy of 2 GiB, 10 times, timed with events: (read + written bytes) / s. */
    private double copyBandwidth() {
        long bytes = 2L << 30;
        DeviceBuffer a = r.memory().allocate("bench_copy_src", bytes);
        DeviceBuffer b = r.memory().allocate("bench_copy_dst", bytes);
        try {
            JCudaDriver.cuMemsetD32(a.ptr(), 0x3F803F80, bytes / 4); // bf16 ones: not zeros
            JCudaDriver.cuMemcpyDtoD(b.ptr(), a.ptr(), bytes); // warm
            CUevent start = new CUevent();
            CUevent stop = new CUevent();
            JCudaDriver.cuEventCreate(start, 0);
            JCudaDriver.cuEventCreate(stop, 0);
            int reps = 10;
            JCudaDriver.cuEventRecord(start, null);
            for (int i = 0; i < reps; i++) {
                JCudaDriver.cuMemcpyDtoD(b.ptr(), a.ptr(), bytes);
            }
            JCudaDriver.cuEventRecord(stop, null);
            JCudaDriver.cuEventSynchronize(stop);
            float[] ms = new float[1];
            JCudaDriver.cuEventElapsedTime(ms, start, stop);
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(stop);
            return 2.0 * bytes * reps / (ms[0] / 1e3);
        } finally {
            b.close();
            a.close();
        }
    }

    /** Prefills {@code n} prompts of {@code len} tokens in steps of at most {@code stepTokens}; seconds. */
    private double prefill(int n, int len, int stepTokens) {
        BlockTable[] tables = new BlockTable[n];
        for (int i = 0; i < n; i++) {
            tables[i] = new BlockTable();
            reserve(tables[i], len);
        }
        try {
            long t0 = System.nanoTime();
            int[] done = new int[n];
            int seq = 0;
            while (seq < n) {
                List<int[]> rows = new ArrayList<>(); // {seq, pos}
                while (seq < n && rows.size() < stepTokens) {
                    int take = Math.min(len - done[seq], stepTokens - rows.size());
                    for (int j = 0; j < take; j++) {
                        rows.add(new int[] {seq, done[seq]++});
                    }
                    if (done[seq] == len) {
                        seq++;
                    }
                }
                step(rows, tables);
            }
            return (System.nanoTime() - t0) / 1e9;
        } finally {
            release(tables);
        }
    }

    /** {@code conc} sequences with 128-token prompts (prefill not timed), then {@code steps} timed decode steps. */
    private Map<String, Object> decode(int conc, int steps) {
        BlockTable[] tables = new BlockTable[conc];
        int warm = 2;
        for (int i = 0; i < conc; i++) {
            tables[i] = new BlockTable();
            reserve(tables[i], DECODE_PROMPT + warm + steps);
        }
        try {
            List<int[]> rows = new ArrayList<>();
            for (int i = 0; i < conc; i++) {
                for (int p = 0; p < DECODE_PROMPT; p++) {
                    rows.add(new int[] {i, p});
                    if (rows.size() == 2048) {
                        step(rows, tables);
                        rows.clear();
                    }
                }
            }
            if (!rows.isEmpty()) {
                step(rows, tables);
            }
            long t0 = 0;
            for (int s = 0; s < warm + steps; s++) {
                if (s == warm) {
                    t0 = System.nanoTime();
                }
                rows.clear();
                for (int i = 0; i < conc; i++) {
                    rows.add(new int[] {i, DECODE_PROMPT + s});
                }
                step(rows, tables);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("concurrency", conc);
            d.put("tokens_per_s", conc * steps / seconds);
            d.put("step_ms", seconds * 1e3 / steps);
            d.put("steps", steps);
            d.put("context", DECODE_PROMPT + warm + steps);
            return d;
        } finally {
            release(tables);
        }
    }

    /** One forward step over (sequence, position) rows, logits for each sequence's last row in the step. */
    private void step(List<int[]> rows, BlockTable[] tables) {
        int n = rows.size();
        int[] tokens = new int[n];
        int[] positions = new int[n];
        BlockTable[] tab = new BlockTable[n];
        List<Integer> logitRows = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            int[] row = rows.get(t);
            tokens[t] = (tokenCounter = tokenCounter * 1103515245 + 12345) >>> 1 & Integer.MAX_VALUE;
            tokens[t] %= c.vocabSize();
            positions[t] = row[1];
            tab[t] = tables[row[0]];
            if (t + 1 == n || rows.get(t + 1)[0] != row[0]) {
                logitRows.add(t);
            }
        }
        r.forward(Steps.of(tokens, positions, tab, logitRows.stream().mapToInt(Integer::intValue).toArray()));
    }

    private void reserve(BlockTable t, int positions) {
        if (!r.blocks().reserve(t, positions)) {
            throw new IllegalStateException("the benchmark needs more KV blocks than " + r.blocks().totalBlocks());
        }
    }

    private void release(BlockTable[] tables) {
        for (BlockTable t : tables) {
            r.blocks().release(t);
        }
    }
}
