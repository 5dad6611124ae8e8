#!/usr/bin/env node
// ONNX Runtime's own timing loop, with nothing of mopt in it: the reference that
// scripts/bench/onnxruntime_fidelity.sh compares `mopt bench --runtime onnxruntime` with.
// Usage: node ort_bare_loop.js MODEL.onnx DIMS(1x3x224x224) THREADS ITERATIONS  -> prints the median ms
'use strict';
const ort = require('../../lib/runtime/ort/node_modules/onnxruntime-node');

async function main([model, dims, threads, iterations]) {
  const shape = dims.split('x').map(Number);
  const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.random() * 2 - 1);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
  for (let i = 0; i < 10; ++i) await session.run(feeds);
  const samples = [];
  for (let i = 0; i < Number(iterations); ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  console.log(samples[Math.floor(samples.length / 2)].toFixed(4));
}
main(process.argv.slice(2)).catch((e) => { console.error(e.message); process.exit(1); });
