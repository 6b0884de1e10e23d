#!/usr/bin/env bash
# Spark GPU resource discovery (spark.executor.resource.gpu.discoveryScript): prints the GPUs this executor may use
# as Spark's ResourceInformation JSON, e.g. {"name": "gpu", "addresses": ["0", "1"]}. The addresses are CUDA device
# ordinals as the executor sees them (after CUDA_VISIBLE_DEVICES); the engine takes "cuda:<address>" of the GPU
# Spark assigned (one engine per GPU, DESIGN §5/§6). No nvidia-smi, no GPU: an empty list, and the engine runs on
# the CPU.
set -euo pipefail
addresses=""
if command -v nvidia-smi >/dev/null 2>&1; then
    addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | awk 'NF {printf "%s\"%s\"", sep, $1; sep=", "}')
fi
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
    # CUDA renumbers the visible devices from 0
    addresses=$(echo "$CUDA_VISIBLE_DEVICES" | tr ',' '\n' | awk 'NF {printf "%s\"%d\"", sep, n++; sep=", "}')
fi
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
