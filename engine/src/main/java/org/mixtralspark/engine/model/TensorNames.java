package org.mixtralspark.engine.model;

/**
 * The one table of tensor names: our field, its GGUF name (llama.cpp {@code LLM_TENSOR_NAMES}) and its HF name
 * (transformers {@code MixtralForCausalLM} checkpoints on the Hub). HF q/k rows are in rotate-half order and are
 * permuted to GGUF's interleaved order at load ({@link ModelLoader#ropeInterleaveRowMap}).
 *
 * <pre>
 * field            GGUF                                  HF
 * tokenEmbedding   token_embd.weight                     model.embed_tokens.weight
 * attnNorm         blk.N.attn_norm.weight                model.layers.N.input_layernorm.weight
 * wq, wk, wv, wo   blk.N.attn_{q,k,v,output}.weight      model.layers.N.self_attn.{q,k,v,o}_proj.weight
 * ffnNorm          blk.N.ffn_norm.weight                 model.layers.N.post_attention_layernorm.weight
 * router           blk.N.ffn_gate_inp.weight             model.layers.N.block_sparse_moe.gate.weight
 * expert gate (w1) blk.N.ffn_gate_exps.weight [E,I,D]    model.layers.N.block_sparse_moe.experts.E.w1.weight
 *                  or blk.N.ffn_gate.E.weight (old)
 * expert up (w3)   blk.N.ffn_up_exps.weight / ffn_up.E   ... experts.E.w3.weight
 * expert down (w2) blk.N.ffn_down_exps.weight / ffn_down.E ... experts.E.w2.weight
 * dense FFN        blk.N.ffn_{gate,up,down}.weight       model.layers.N.mlp.{gate,up,down}_proj.weight
 * outputNorm       output_norm.weight                    model.norm.weight
 * lmHead           output.weight (else token_embd)       lm_head.weight (else embed_tokens when tied)
 * </pre>
 */
public enum TensorNames {
    GGUF {
        @Override public String embedding() { return "token_embd.weight"; }
        @Override public String attnNorm(int l) { return "blk." + l + ".attn_norm.weight"; }
        @Override public String wq(int l) { return "blk." + l + ".attn_q.weight"; }
        @Override public String wk(int l) { return "blk." + l + ".attn_k.weight"; }
        @Override public String wv(int l) { return "blk." + l + ".attn_v.weight"; }
        @Override public String wo(int l) { return "blk." + l + ".attn_output.weight"; }
        @Override public String ffnNorm(int l) { return "blk." + l + ".ffn_norm.weight"; }
        @Override public String router(int l) { return "blk." + l + ".ffn_gate_inp.weight"; }
        @Override public String expert(int l, int e, Proj p) { return "blk." + l + ".ffn_" + p.gguf + "." + e + ".weight"; }
        @Override public String mergedExperts(int l, Proj p) { return "blk." + l + ".ffn_" + p.gguf + "_exps.weight"; }
        @Override public String denseFfn(int l, Proj p) { return "blk." + l + ".ffn_" + p.gguf + ".weight"; }
        @Override public String outputNorm() { return "output_norm.weight"; }
        @Override public String lmHead() { return "output.weight"; }
    },
    HF {
        @Override public String embedding() { return "model.embed_tokens.weight"; }
        @Override public String attnNorm(int l) { return "model.layers." + l + ".input_layernorm.weight"; }
        @Override public String wq(int l) { return "model.layers." + l + ".self_attn.q_proj.weight"; }
        @Override public String wk(int l) { return "model.layers." + l + ".self_attn.k_proj.weight"; }
        @Override public String wv(int l) { return "model.layers." + l + ".self_attn.v_proj.weight"; }
        @Override public String wo(int l) { return "model.layers." + l + ".self_attn.o_proj.weight"; }
        @Override public String ffnNorm(int l) { return "model.layers." + l + ".post_attention_layernorm.weight"; }
        @Override public String router(int l) { return "model.layers." + l + ".block_sparse_moe.gate.weight"; }
        @Override public String expert(int l, int e, Proj p) {
            return "model.layers." + l + ".block_sparse_moe.experts." + e + "." + p.hfExpert + ".weight";
        }
        @Override public String mergedExperts(int l, Proj p) { return null; }
        @Override public String denseFfn(int l, Proj p) { return "model.layers." + l + ".mlp." + p.hfDense + ".weight"; }
        @Override public String outputNorm() { return "model.norm.weight"; }
        @Override public String lmHead() { return "lm_head.weight"; }
    };

    /** The three projections of a SwiGLU MLP. */
    public enum Proj {
        GATE("gate", "w1", "gate_proj"),
        UP("up", "w3", "up_proj"),
        DOWN("down", "w2", "down_proj");

        final String gguf;
        final String hfExpert;
        final String hfDense;

        Proj(String gguf, String hfExpert, String hfDense) {
            this.gguf = gguf;
            this.hfExpert = hfExpert;
            this.hfDense = hfDense;
        }
    }

    public abstract String embedding();
    public abstract String attnNorm(int layer);
    public abstract String wq(int layer);
    public abstract String wk(int layer);
    public abstract String wv(int layer);
    public abstract String wo(int layer);
    public abstract String ffnNorm(int layer);
    public abstract String router(int layer);
    /** One expert's projection in a per-expert layout. */
    public abstract String expert(int layer, int expert, Proj proj);
    /** All experts of a projection in one tensor (GGUF's current layout), or null where the format has none. */
    public abstract String mergedExperts(int layer, Proj proj);
    /** A dense model's MLP projection. */
    public abstract String denseFfn(int layer, Proj proj);
    public abstract String outputNorm();
    public abstract String lmHead();
}
