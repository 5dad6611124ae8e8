'use strict';
// .npy reading and writing for mopt's ONNX Runtime helpers: float32 and int64 arrays, C order.
const fs = require('fs');

class BadInput extends Error {}

const kDtypes = { '<f4': { type: 'float32', size: 4 }, '<i8': { type: 'int64', size: 8 } };

// Parses a little-endian float32 or int64 .npy (format versions 1-3, C order). Anything else is
// rejected rather than guessed, so a wrong file fails loudly.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new BadInput(`${path}: not a .npy file`);
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
  const dtype = kDtypes[descr[1]];
  if (!dtype) throw new BadInput(`${path}: dtype ${descr[1]} is neither float32 ('<f4') nor int64 ('<i8')`);
  if (fortran[1] === 'True') throw new BadInput(`${path}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = offset + headerLen;
  if (buf.length - dataStart < count * dtype.size) throw new BadInput(`${path}: data is truncated`);
  // Copy: the Buffer's byte offset is not necessarily aligned.
  const data = dtype.type === 'float32' ? new Float32Array(count) : new BigInt64Array(count);
  for (let i = 0; i < count; ++i) {
    data[i] = dtype.type === 'float32' ? buf.readFloatLE(dataStart + 4 * i) : buf.readBigInt64LE(dataStart + 8 * i);
  }
  return { type: dtype.type, dims, data };
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

module.exports = { readNpy, writeNpy, BadInput };
