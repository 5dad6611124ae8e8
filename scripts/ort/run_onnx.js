#!/usr/bin/env node
// Runs one ONNX model through ONNX Runtime (CPU) on one float32 .npy input and writes the first
// output as a float32 .npy. The reference runtime for checking mopt's ONNX passes numerically.
//
// Setup (once):   cd scripts/ort && npm install --ignore-scripts
// Usage:          node scripts/ort/run_onnx.js MODEL.onnx INPUT.npy OUTPUT.npy
// Exit codes:     0 ok, 2 usage, 4 bad input file, 1 anything else (ORT failure).
'use strict';

const fs = require('fs');

// Parses a little-endian float32 .npy (format versions 1-3, C order). Anything else is rejected
// rather than guessed, so a wrong fixture fails loudly.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new BadInput(`${path}: not a .npy file`);
  }
  const major = buf[6];
  let headerLen;
  let offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new BadInput(`${path}: unsupported .npy version ${major}`);
  }
  const header = buf.toString('latin1', offset, offset + headerLen);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new BadInput(`${path}: malformed .npy header`);
  if (descr[1] !== '<f4') throw new BadInput(`${path}: dtype ${descr[1]} is not float32 ('<f4')`);
  if (fortran[1] === 'True') throw new BadInput(`${path}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  if (buf.length - dataStart < count * 4) throw new BadInput(`${path}: data is truncated`);
  // Copy: the Buffer's byte offset is not necessarily 4-aligned.
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = buf.readFloatLE(dataStart + 4 * i);
  return { dims, data };
}

// Writes a version-1.0 float32 .npy; the header is padded so the data starts 64-byte aligned.
function writeNpy(path, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = Buffer.alloc(10 + header.length + data.length * 4);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  for (let i = 0; i < data.length; ++i) out.writeFloatLE(data[i], 10 + header.length + 4 * i);
  fs.writeFileSync(path, out);
}

class BadInput extends Error {}

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
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.dims) };
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
