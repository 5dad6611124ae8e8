'use strict';
// .npy reading and writing for mopt's ONNX Runtime helpers: the dtypes mopt's own reader takes
// (float32/64/16, int64/32/16/8, uint8/16/32/64, bool), little-endian, C order.
const fs = require('fs');

class BadInput extends Error {}

// numpy descr (without the byte-order mark) <-> ONNX Runtime tensor type and its JS array.
const kDtypes = [
  { code: 'f4', type: 'float32', Array: Float32Array },
  { code: 'f8', type: 'float64', Array: Float64Array },
  { code: 'f2', type: 'float16', Array: Uint16Array },
  { code: 'i8', type: 'int64', Array: BigInt64Array },
  { code: 'i4', type: 'int32', Array: Int32Array },
  { code: 'i2', type: 'int16', Array: Int16Array },
  { code: 'i1', type: 'int8', Array: Int8Array },
  { code: 'u1', type: 'uint8', Array: Uint8Array },
  { code: 'u2', type: 'uint16', Array: Uint16Array },
  { code: 'u4', type: 'uint32', Array: Uint32Array },
  { code: 'u8', type: 'uint64', Array: BigUint64Array },
  { code: 'b1', type: 'bool', Array: Uint8Array },
];

// Parses a .npy (format versions 1-3, C order) of one of kDtypes. Anything else is rejected
// rather than guessed, so a wrong file fails loudly.
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
  const descr = /'descr':\s*'([<|=])([a-z][0-9])'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new BadInput(`${path}: malformed .npy header or big-endian dtype`);
  const dtype = kDtypes.find((d) => d.code === descr[2]);
  if (!dtype) throw new BadInput(`${path}: unsupported dtype '${descr[1]}${descr[2]}'`);
  if (fortran[1] === 'True') throw new BadInput(`${path}: Fortran-order arrays are not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  const bytes = count * dtype.Array.BYTES_PER_ELEMENT;
  if (buf.length - start < bytes) throw new BadInput(`${path}: data is truncated`);
  // Copy into a fresh ArrayBuffer: the Buffer's byte offset is not necessarily aligned.
  const data = new dtype.Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + bytes));
  return { type: dtype.type, dims, data };
}

// Writes a version-1.0 .npy of an ORT tensor type (float32 by default); the header is padded so
// the data starts 64-byte aligned.
function writeNpy(path, dims, data, type = 'float32') {
  const dtype = kDtypes.find((d) => d.type === type);
  if (!dtype) throw new Error(`cannot write a ${type} tensor as .npy`);
  const order = dtype.Array.BYTES_PER_ELEMENT === 1 ? '|' : '<';
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${order}${dtype.code}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const typed = data instanceof dtype.Array ? data : dtype.Array.from(data);
  const prefix = Buffer.alloc(10 + header.length);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  prefix.write(header, 10, 'latin1');
  fs.writeFileSync(path, Buffer.concat([prefix, Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength)]));
}

module.exports = { readNpy, writeNpy, BadInput };
