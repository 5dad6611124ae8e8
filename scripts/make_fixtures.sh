#!/usr/bin/env bash
# Regenerates the test fixtures into build/fixtures (seeded, ~1 min): most with Debian's python3-torch 1.13,
# the PyTorch 2.x ones (a Hugging Face BERT) with .venv/'s. The trained Fashion-MNIST CNN
# is committed in tests/fixtures/ (retrain with scripts/fixtures/train_fashion_cnn.py).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/fixtures}
mkdir -p "$out"
/usr/bin/python3 scripts/fixtures/model_fixtures.py "$out"
[ -f scripts/fixtures/data_fixtures.py ] && /usr/bin/python3 scripts/fixtures/data_fixtures.py "$out"
/usr/bin/python3 scripts/fixtures/onnx_import_fixtures.py "$out"
/usr/bin/python3 scripts/fixtures/inference_branch_fixtures.py "$out"
/usr/bin/python3 scripts/fixtures/structured_output_fixtures.py "$out"
# Saved by the PyTorch that mopt links (scripts/setup.sh's .venv/), as users save models today.
.venv/bin/python scripts/fixtures/pytorch2_fixtures.py "$out"
.venv/bin/python scripts/fixtures/aoti_fixture.py "$out"  # PyTorch 2's C++ deployment format (.pt2)
.venv/bin/python scripts/fixtures/stateful_fixture.py "$out" 2>/dev/null  # inputs without the batch first
# ONNX as PyTorch's exporters write it today (dynamo at opset 20, legacy at 17); the rest of the
# corpus is scripts/bench/onnx_corpus.sh's.
.venv/bin/python scripts/fixtures/onnx_corpus.py "$out/onnx_corpus" fashion_cnn.dynamo20 mobilenet_v3_small.dynamo20 \
  bert.dynamo20 mobilevit.dynamo20 bert.legacy17 gated_mlp.dynamo18 gated_mlp_scripted.legacy17 looped_rnn.legacy17 \
  >/dev/null
exit 0
