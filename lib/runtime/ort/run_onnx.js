#!/usr/bin/env node
// Runs one ONNX model through ONNX Runtime (CPU) on one float32 .npy input and writes the first
// output as a float32 .npy. The reference runtime for checking mopt's ONNX passes numerically.
//
// Setup (once):   cd lib/runtime/ort && npm install --ignore-scripts
// Usage:          node lib/runtime/ort/run_onnx.js MODEL.onnx INPUT.npy OUTPUT.npy
// Exit codes:     0 ok, 2 usage, 4 bad input file, 1 anything else (ORT failure).
'use strict';

const fs = require('fs');
const { readNpy, writeNpy, BadInput } = require('./npy');



async function main(argv) {
  if (argv.length !== 3) {
    process.stderr.write('usage: node run_onnx.js MODEL.onnx INPUT.npy OUTPUT.npy\n');
    return 2;
  }
  const [modelPath, inputPath, outputPath] = argv;
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    process.stderr.write(`onnxruntime-node is not installed; run: cd ${__dirname} && npm install --ignore-scripts\n`);
    return 1;
  }
  if (!fs.existsSync(modelPath)) throw new BadInput(`${modelPath}: no such file`);
  const input = readNpy(inputPath);
  // One intra-op thread: these checks compare numbers, and a fixed reduction order keeps them stable.
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'disabled',  // check *our* rewrites, not ORT's
  });
  if (session.inputNames.length !== 1) {
    throw new BadInput(`${modelPath}: expected exactly one graph input, found ${session.inputNames.length}`);
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor(input.type, input.data, input.dims) };
  const results = await session.run(feeds);
  const output = results[session.outputNames[0]];
  if (output.type !== 'float32') throw new Error(`output '${session.outputNames[0]}' is ${output.type}, not float32`);
  writeNpy(outputPath, output.dims.map(Number), output.data);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`run_onnx: ${err.message}\n`);
    process.exit(err instanceof BadInput ? 4 : 1);
  },
);
