#!/usr/bin/env node
// Runs many ONNX models through ONNX Runtime (CPU, 1 thread, ORT's default graph optimizations) in
// one process: the conformance round trip's executor (tests/conformance/onnx_conformance.cpp).
//
// Usage:  node lib/runtime/ort/run_cases.js CASES.json
// CASES.json: [{"model": "a/model.onnx", "sets": [{"inputs": ["a/0/input_0.npy", ...], "output_dir": "a/0"}]}]
// Each set's outputs go to OUTPUT_DIR/output_K.npy (graph output order); a model or set that ORT
// refuses or fails on gets OUTPUT_DIR/error.txt with ORT's message instead, and the run goes on.
// Exit codes: 0 ran every case (some may have error.txt), 2 usage, 1 onnxruntime-node missing.
'use strict';

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

async function runCase(ort, entry) {
  let session;
  try {
    session = await ort.InferenceSession.create(entry.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    for (const set of entry.sets) fs.writeFileSync(path.join(set.output_dir, 'error.txt'), `load: ${e.message}\n`);
    return;
  }
  for (const set of entry.sets) {
    try {
      const feeds = {};
      set.inputs.forEach((file, i) => {
        const array = readNpy(file);
        feeds[session.inputNames[i]] = new ort.Tensor(array.type, array.data, array.dims);
      });
      const results = await session.run(feeds);
      session.outputNames.forEach((name, i) => {
        const output = results[name];
        writeNpy(path.join(set.output_dir, `output_${i}.npy`), output.dims.map(Number), output.data, output.type);
      });
    } catch (e) {
      fs.writeFileSync(path.join(set.output_dir, 'error.txt'), `run: ${e.message}\n`);
    }
  }
}

async function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write('usage: node run_cases.js CASES.json\n');
    return 2;
  }
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    process.stderr.write(`onnxruntime-node is not installed; run: cd ${__dirname} && npm install --ignore-scripts\n`);
    return 1;
  }
  for (const entry of JSON.parse(fs.readFileSync(argv[0], 'utf8'))) await runCase(ort, entry);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`run_cases: ${err.message}\n`);
    process.exit(1);
  },
);
