#!/usr/bin/env python3
"""Writes the RoPE-scaling references that RopeScalingTest and RopeScalingModelTest compare against.

The reference is Hugging Face transformers (5.18, torch 2.13 CPU; `pip install torch transformers safetensors` from the
pip mirror into a virtualenv):
  - inverse frequencies from modeling_rope_utils' ROPE_INIT_FUNCTIONS ("linear", "llama3": the functions
    _compute_linear_scaling_rope_parameters and _compute_llama3_parameters) and, for "default",
    LlamaRotaryEmbedding.compute_default_rope_parameters, for
    several configurations, Llama 3.1's own among them;
  - a tiny random Mixtral (MixtralForCausalLM) written as an HF folder with bf16 weights, and its logits computed by
    transformers in float64 at a few positions of a 300-token prompt, with rope_scaling null, linear and llama3
    (the same weights each time; only config.json's rope_scaling changes).

Usage (from the repository root):
    python3 engine/src/test/python/rope_scaling_reference.py
It rewrites engine/src/test/resources/rope/: inverse-frequencies.json, model/ (config.json without rope_scaling,
model.safetensors: transformers 4 tensor names, bf16) and model-logits.json (the prompt, the positions, each
rope_scaling and its logits). Run it again after changing the cases below, and commit the result.
"""
import json
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import MixtralForCausalLM
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "rope"))

# (name, head_dim, rope_theta, max_position_embeddings, rope_parameters without rope_theta)
FREQUENCY_CASES = [
    ("default-mixtral", 128, 1e6, 32768, {"rope_type": "default"}),
    ("linear-2", 128, 1e4, 8192, {"rope_type": "linear", "factor": 2.0}),
    ("linear-4-mixtral", 128, 1e6, 131072, {"rope_type": "linear", "factor": 4.0}),
    ("linear-0.5-head64", 64, 1e4, 2048, {"rope_type": "linear", "factor": 0.5}),
    ("llama3.1", 128, 5e5, 131072, {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
    ("llama3.2", 64, 5e5, 131072, {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
    ("llama3-head16", 16, 1e4, 8192, {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 8.0, "original_max_position_embeddings": 1024}),
]

# The tiny model: head_dim 16 with theta 1e4 has wavelengths 6.3 ... 19869, so llama3 with original 1024 and
# low/high 1/8 keeps three frequencies, interpolates two (199, 628) and divides three.
MODEL = dict(vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
             num_key_value_heads=1, head_dim=16, num_local_experts=4, num_experts_per_tok=2, rope_theta=1e4,
             rms_norm_eps=1e-5, max_position_embeddings=8192, sliding_window=None, tie_word_embeddings=False)
MODEL_SCALINGS = {
    "none": None,
    "linear": {"rope_type": "linear", "factor": 4.0},
    "llama3": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 8.0,
               "original_max_position_embeddings": 1024},
}
PROMPT_LENGTH = 300
POSITIONS = [0, 7, 63, 150, 299]


def prompt():
    return [3 + (i * 37) % 290 for i in range(PROMPT_LENGTH)]


def inverse_frequencies():
    cases = []
    for name, head_dim, theta, max_pos, params in FREQUENCY_CASES:
        rope_parameters = dict(params, rope_theta=theta)
        config = transformers.LlamaConfig(hidden_size=head_dim * 4, num_attention_heads=4, head_dim=head_dim,
                                          max_position_embeddings=max_pos, rope_parameters=rope_parameters)
        if params["rope_type"] == "default":
            init = LlamaRotaryEmbedding.compute_default_rope_parameters
        else:
            init = ROPE_INIT_FUNCTIONS[params["rope_type"]]
        inv, attention_factor = init(config, torch.device("cpu"))
        cases.append({"name": name, "head_dim": head_dim, "rope_theta": theta, "rope_scaling": params,
                      "attention_factor": attention_factor, "inverse_frequencies": [float(x) for x in inv]})
    return cases


def checkpoint_shapes():
    """The tensors of a transformers 4 Mixtral checkpoint (the names every published Mixtral folder uses)."""
    m = MODEL
    d, hd, hidden = m["hidden_size"], m["head_dim"], m["intermediate_size"]
    shapes = {"model.embed_tokens.weight": (m["vocab_size"], d)}
    for l in range(m["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes[p + "input_layernorm.weight"] = (d,)
        shapes[p + "self_attn.q_proj.weight"] = (m["num_attention_heads"] * hd, d)
        shapes[p + "self_attn.k_proj.weight"] = (m["num_key_value_heads"] * hd, d)
        shapes[p + "self_attn.v_proj.weight"] = (m["num_key_value_heads"] * hd, d)
        shapes[p + "self_attn.o_proj.weight"] = (d, m["num_attention_heads"] * hd)
        shapes[p + "post_attention_layernorm.weight"] = (d,)
        shapes[p + "block_sparse_moe.gate.weight"] = (m["num_local_experts"], d)
        for e in range(m["num_local_experts"]):
            x = p + f"block_sparse_moe.experts.{e}."
            shapes[x + "w1.weight"] = (hidden, d)
            shapes[x + "w2.weight"] = (d, hidden)
            shapes[x + "w3.weight"] = (hidden, d)
    shapes["model.norm.weight"] = (d,)
    shapes["lm_head.weight"] = (m["vocab_size"], d)
    return shapes


def random_weights():
    """Weights drawn as RandomCheckpoints draws them (std 1/sqrt(fan-in), norms 1 + 0.1 N), rounded to bf16."""
    g = torch.Generator().manual_seed(20261208)
    weights = {}
    for name, shape in checkpoint_shapes().items():
        if name.endswith("norm.weight"):
            w = 1 + 0.1 * torch.randn(shape, generator=g, dtype=torch.float64)
        elif name == "model.embed_tokens.weight":
            w = torch.randn(shape, generator=g, dtype=torch.float64)
        else:
            w = torch.randn(shape, generator=g, dtype=torch.float64) / shape[-1] ** 0.5
            if name == "lm_head.weight" or name.endswith("gate.weight"):
                w = 4 * w
        weights[name] = w.to(torch.bfloat16).contiguous()
    return weights


def write_config(folder, scaling):
    """config.json as a transformers 4 checkpoint has it."""
    config = dict(MODEL, architectures=["MixtralForCausalLM"], model_type="mixtral", hidden_act="silu",
                  bos_token_id=1, eos_token_id=2, torch_dtype="bfloat16", rope_scaling=scaling)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def model_logits(folder):
    """Each scaling's logits, by transformers' own loading of the folder (its checkpoint conversion included)."""
    save_file(random_weights(), os.path.join(folder, "model.safetensors"))
    out = {"prompt": prompt(), "positions": POSITIONS, "scalings": MODEL_SCALINGS, "logits": {}}
    for key, scaling in MODEL_SCALINGS.items():
        write_config(folder, scaling)
        model, info = MixtralForCausalLM.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager",
                                                         experts_implementation="eager", output_loading_info=True)
        assert not any(info.get(k) for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
        model.eval()
        assert model.config.rope_parameters["rope_type"] == (scaling or {"rope_type": "default"})["rope_type"]
        with torch.no_grad():
            logits = model(torch.tensor([prompt()])).logits[0]
        out["logits"][key] = [[float(x) for x in logits[p]] for p in POSITIONS]
    write_config(folder, None)  # the committed folder is the unscaled model; the tests add rope_scaling to a copy
    return out


def main():
    torch.set_num_threads(2)
    folder = os.path.join(OUT, "model")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(OUT, "inverse-frequencies.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                   "cases": inverse_frequencies()}, f, indent=1)
    logits = model_logits(folder)
    logits.update({"transformers": transformers.__version__, "torch": torch.__version__})
    with open(os.path.join(OUT, "model-logits.json"), "w") as f:
        json.dump(logits, f)


if __name__ == "__main__":
    main()
