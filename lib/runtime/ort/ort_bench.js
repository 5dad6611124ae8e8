#!/usr/bin/env node
// mopt's ONNX Runtime helper: loads an ONNX model once per thread count, runs the warm-up and the
// timed loop itself (so the bridge to mopt is never inside a sample), and hands back latency
// samples, cold-start figures, ORT's session settings and, on request, the outputs over a dataset.
// mopt (lib/runtime/onnxruntime_runner.cpp) starts it; people need not.
//
// Usage:  node ort_bench.js REQUEST.json      (writes the result JSON to the request's "result" file)
// Request: {"model": PATH, "result": PATH, "warmup": N, "stop": {kind, iterations, min_time_s, target_cv, max_time_s,
//           min_iterations}, "rows": [{"threads": T, "inputs": [NPY per graph input, in order]}], "eval": {"threads": T,
//           "inputs": [NPY per graph input, rows aligned], "batch": B, "output": NPY}, "optimized_model": PATH (optional),
//           "profile": {"iterations": N, "prefix": PATH} (optional: the first row again, in a session
//           with ORT's profiling on; the trace file's path and each profiled call's time come back)}
// Stop rules mirror lib/measure/timed_run.cpp: kIterations, kMinTime, kTargetCv (with max_time_s).
// Exit codes: 0 ok, 2 usage, 3 onnxruntime-node missing, 4 bad model or input, 1 anything else.
'use strict';

const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy, BadInput } = require('./npy');

const kMaxSamples = 10000000;

class MissingBinding extends Error {}
// The model loaded but failed on its first inputs: values its shapes or control flow cannot take.
class RunFailed extends Error {}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    throw new MissingBinding(`onnxruntime-node is not installed in ${__dirname}`);
  }
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

// Welford's running coefficient of variation, as timed_run.cpp computes it.
function runningCv() {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  return {
    add(x) {
      n += 1;
      const delta = x - mean;
      mean += delta / n;
      m2 += delta * (x - mean);
    },
    cv() {
      return n < 2 || mean <= 0 ? Infinity : Math.sqrt(m2 / (n - 1)) / mean;
    },
  };
}

const kRssSampleMs = 20;

function rssMb() {
  return process.memoryUsage.rss() / 1048576;
}

// CPU time of this process (ORT's threads included) and its RSS every kRssSampleMs over warm-up
// and timed calls alike, as LibTorch rows measure them in process.
function resourceMonitor() {
  const cpuStart = process.cpuUsage();
  const wallStart = nowMs();
  const samples = [];
  let firstInferenceMb = 0;
  let nextSample = wallStart;
  let faultsAtTimedStart = 0;
  return {
    // Page faults count over the timed calls only: warm-up calls touch memory for the first time.
    timedStart() {
      faultsAtTimedStart = process.resourceUsage().minorPageFault;
    },
    afterCall(first) {
      const now = nowMs();
      if (first) firstInferenceMb = rssMb();
      if (now < nextSample) return;
      samples.push([(now - wallStart) / 1000, rssMb()]);
      nextSample = now + kRssSampleMs;
    },
    result(timedCalls) {
      const used = process.cpuUsage(cpuStart);
      const faults = process.resourceUsage().minorPageFault - faultsAtTimedStart;
      return {
        cpu: { user_s: used.user / 1e6, system_s: used.system / 1e6, wall_s: (nowMs() - wallStart) / 1000 },
        rss: { samples, first_inference_mb: firstInferenceMb },
        page_faults_per_call: timedCalls > 0 ? faults / timedCalls : 0,
      };
    },
  };
}

async function timedLoop(session, feeds, warmup, stop) {
  const monitor = resourceMonitor();
  for (let i = 0; i < warmup; ++i) {
    await session.run(feeds);
    monitor.afterCall(i === 0);
  }
  const samples = [];
  const cv = runningCv();
  monitor.timedStart();
  const start = nowMs();
  let previous = start;
  let stoppedBy = '';
  for (;;) {
    await session.run(feeds);
    const now = nowMs();
    const sample = now - previous;
    samples.push(sample);
    monitor.afterCall(warmup === 0 && samples.length === 1);
    const elapsedS = (now - start) / 1000;
    if (stop.kind === 'iterations') {
      if (samples.length >= stop.iterations) stoppedBy = 'iterations';
    } else {
      if (stop.kind === 'target-cv') cv.add(sample);
      if (samples.length >= stop.min_iterations) {
        if (stop.kind === 'min-time' && elapsedS >= stop.min_time_s) stoppedBy = 'min-time';
        if (stop.kind === 'target-cv' && cv.cv() < stop.target_cv) stoppedBy = 'target-cv';
      }
      if (!stoppedBy && stop.kind === 'target-cv' && elapsedS >= stop.max_time_s) stoppedBy = 'max-time';
      if (!stoppedBy && samples.length >= kMaxSamples) stoppedBy = 'max-samples';
    }
    if (stoppedBy) return { samples_ms: samples, stopped_by: stoppedBy, elapsed_s: elapsedS, ...monitor.result(samples.length) };
    previous = nowMs();  // the bookkeeping above is not part of the next call's sample
  }
}

function sleepMs(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// `mopt bench --duration`: calls flat out or paced (call i due at start + i / rate) until the
// duration has passed; mopt laid out the windows (lib/measure/soak.cpp), a call belongs to the
// window it started in and a window's RSS is read when the next one begins. As in LibTorch, a
// start counts as late only when the previous call ran past its due time.
async function soakLoop(session, feeds, warmup, soak) {
  const monitor = resourceMonitor();
  for (let i = 0; i < warmup; ++i) {
    await session.run(feeds);
    monitor.afterCall(i === 0);
  }
  const spans = soak.windows;  // [[start_s, end_s], ...]
  const windows = spans.map(() => ({ begin: 0, end: 0, rss_end_mb: 0 }));
  const period = soak.rate_per_s > 0 ? 1000 / soak.rate_per_s : 0;
  const samples = [];
  let window = 0;
  let lateStarts = 0;
  let stoppedBy = 'duration';
  monitor.timedStart();
  const start = nowMs();
  for (let i = 0; ; ++i) {
    const due = start + period * i;
    let before = nowMs();
    if (period > 0) {
      if (before < due) {
        await sleepMs(due - before);
        before = nowMs();
      } else if (i > 0 && before - due > 1) {
        ++lateStarts;
      }
    }
    const atS = (before - start) / 1000;
    if (atS >= soak.duration_s) break;
    if (samples.length >= kMaxSamples) {
      stoppedBy = 'max-samples';
      break;
    }
    await session.run(feeds);
    samples.push(nowMs() - before);
    monitor.afterCall(warmup === 0 && samples.length === 1);
    const index = samples.length - 1;
    while (window + 1 < spans.length && atS >= spans[window][1]) {
      windows[window].rss_end_mb = rssMb();
      windows[window].end = index;
      windows[++window].begin = index;
    }
  }
  if (samples.length === 0) throw new Error('the soak made no call: --duration is shorter than one call');
  windows[window].end = samples.length;
  for (let w = window; w < windows.length; ++w) {
    windows[w].rss_end_mb = rssMb();
    if (w > window) windows[w].begin = windows[w].end = samples.length;
  }
  return {
    samples_ms: samples,
    stopped_by: stoppedBy,
    elapsed_s: (nowMs() - start) / 1000,
    soak: { windows, late_starts: lateStarts },
    ...monitor.result(samples.length),
  };
}

function tensorOf(ort, array) {
  return new ort.Tensor(array.type, array.data, array.dims);
}

// One tensor per graph input, in the session's input order.
function feedsOf(ort, session, arrays) {
  if (arrays.length !== session.inputNames.length) {
    throw new BadInput(`the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); ` +
                       `${arrays.length} given`);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => { feeds[name] = tensorOf(ort, arrays[i]); });
  return feeds;
}

// The first call, and every evaluation batch: a graph that declares fixed input dims (or another
// dtype) refuses inputs that do not match them, which is the caller's input error (exit 4); a
// graph that fails on these values (shapes or branches that follow them) is exit 5.
async function runOrRefuseInputs(session, feeds) {
  try {
    return await session.run(feeds);
  } catch (e) {
    if (/invalid dimensions|invalid rank|unexpected input data type/i.test(e.message)) {
      throw new BadInput(`the model cannot run on these inputs: ${e.message.trim()}`);
    }
    throw new RunFailed(innermostFailure(e.message));
  }
}

// ORT nests a failure inside each If/Loop around it ("... running If node. Name:'If_0' Status
// Message: ... running LSTM node. Name:'x/LSTM' Status Message: Input X must have 3 dimensions");
// the innermost node and its reason are what a user can act on.
function innermostFailure(message) {
  const pattern = /running (\S+) node\. Name:'([^']*)' Status Message: /g;
  let last = null;
  for (let match = pattern.exec(message); match; match = pattern.exec(message)) last = match;
  if (!last) return message.trim();
  return `node '${last[2]}' (${last[1]}): ${message.slice(last.index + last[0].length).trim()}`;
}

// Runs the whole dataset in batches and writes the first output, rows concatenated.
async function evaluate(ort, session, request) {
  const inputs = request.inputs.map(readNpy);
  // As mopt's row_count (lib/data/dataset.h): the first input's dim 0 is the sample count, and an
  // input whose dim 0 is another size, or that has none, is fed whole to every batch.
  const ranked = inputs.find((array) => array.dims.length > 0);
  const rows = ranked ? ranked.dims[0] : 1;
  const rowsOf = (array, start, end) => {
    if (array.dims.length === 0 || array.dims[0] !== rows) return array;
    const rowSize = array.data.length / Math.max(array.dims[0], 1);
    return { type: array.type, dims: [end - start, ...array.dims.slice(1)],
             data: array.data.slice(start * rowSize, end * rowSize) };
  };
  const chunks = [];
  let outDims = null;
  for (let start = 0; start < rows; start += request.batch) {
    const end = Math.min(rows, start + request.batch);
    const result = await runOrRefuseInputs(session, feedsOf(ort, session, inputs.map((array) => rowsOf(array, start, end))));
    const output = result[session.outputNames[0]];
    if (output.type !== 'float32') throw new BadInput(`output '${session.outputNames[0]}' is ${output.type}, not float32`);
    outDims = output.dims.map(Number);
    chunks.push(output.data);
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const c of chunks) {
    data.set(c, offset);
    offset += c.length;
  }
  writeNpy(request.output, [rows, ...outDims.slice(1)], data);
}

// The first row's calls again in a session of their own with ORT's profiler on (the timed rows stay
// unprofiled): warm-up calls, then `iterations` calls timed from here; ORT writes a Chrome trace
// whose model_run events are the calls, in order.
async function profileFirstRow(ort, request) {
  const row = request.rows[0];
  const options = { intraOpNumThreads: row.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
                    enableProfiling: true, profileFilePrefix: request.profile.prefix };
  const session = await ort.InferenceSession.create(request.model, options);
  const feeds = feedsOf(ort, session, row.inputs.map(readNpy));
  for (let i = 0; i < request.warmup; ++i) await session.run(feeds);
  const iterationMs = [];
  for (let i = 0; i < request.profile.iterations; ++i) {
    const start = nowMs();
    await session.run(feeds);
    iterationMs.push(nowMs() - start);
  }
  session.endProfiling();
  const dir = path.dirname(request.profile.prefix);
  const stem = path.basename(request.profile.prefix);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(stem) && f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`ONNX Runtime wrote ${files.length} profile files for ${request.profile.prefix}`);
  return { file: path.join(dir, files[0]), warmup_runs: request.warmup, iteration_ms: iterationMs };
}

async function main(argv) {
  if (argv.length !== 1) {
    process.stderr.write('usage: node ort_bench.js REQUEST.json\n');
    return 2;
  }
  const request = JSON.parse(fs.readFileSync(argv[0], 'utf8'));
  const baselineMb = process.memoryUsage().rss / 1048576;
  const ort = loadOrt();
  if (!fs.existsSync(request.model)) throw new BadInput(`${request.model}: no such file`);
  const sessions = new Map();
  let coldStart = null;
  async function sessionFor(threads, firstInputs) {
    if (sessions.has(threads)) return sessions.get(threads);
    // logSeverityLevel 4 (fatal only): ORT's own log lines would bury the one error this helper reports.
    const options = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
                      logSeverityLevel: 4 };
    // The graph ORT runs after its fusions (mopt counts the INT8 kernels in it); first session only.
    if (request.optimized_model && sessions.size === 0) options.optimizedModelFilePath = request.optimized_model;
    const loadStart = nowMs();
    let session;
    try {
      session = await ort.InferenceSession.create(request.model, options);
    } catch (e) {
      throw new BadInput(`ONNX Runtime cannot load ${request.model}: ${e.message}`);
    }
    const loadMs = nowMs() - loadStart;
    if (!coldStart && firstInputs) {
      const firstFeeds = feedsOf(ort, session, firstInputs);
      const firstStart = nowMs();
      await runOrRefuseInputs(session, firstFeeds);
      coldStart = { load_ms: loadMs, first_inference_ms: nowMs() - firstStart };
    }
    sessions.set(threads, { session, options });
    return sessions.get(threads);
  }

  const rows = [];
  for (const row of request.rows || []) {
    const inputs = row.inputs.map(readNpy);
    const { session } = await sessionFor(row.threads, inputs);
    const feeds = feedsOf(ort, session, inputs);
    const run = request.soak
      ? await soakLoop(session, feeds, request.warmup, request.soak)
      : await timedLoop(session, feeds, request.warmup, request.stop);
    // Peak RSS of this helper process so far (the models it loaded and ran), and over its start.
    run.peak_mb = process.resourceUsage().maxRSS / 1024;
    run.increase_mb = run.peak_mb - baselineMb;
    rows.push(run);
  }
  if (request.eval) {
    const { session } = await sessionFor(request.eval.threads, null);
    await evaluate(ort, session, request.eval);
  }
  const profile = request.profile && request.rows.length ? await profileFirstRow(ort, request) : null;
  const first = sessions.values().next().value;
  const version = require('onnxruntime-node/package.json').version;
  // A file, not stdout: process.exit() would cut a piped stdout at 64 KiB.
  fs.writeFileSync(
    request.result,
    JSON.stringify({
      runtime: 'onnxruntime',
      version,
      cold_start: coldStart,
      session: first ? { ...first.options, execution_providers: ['cpu'] } : null,
      rows,
      profile,
    }),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(err instanceof MissingBinding ? 3 : err instanceof BadInput ? 4 : err instanceof RunFailed ? 5 : 1);
  },
);
