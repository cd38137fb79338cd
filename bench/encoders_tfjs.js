// Encoder benchmark (tfjs side, the numerical reference): nsfwjs MobileNetV2 on a 224x224 input and the
// basic-pitch package's evaluateModel over a 30 s clip, @tensorflow/tfjs pure-JS CPU backend (single
// threaded by construction). usage: node encoders_tfjs.js NODE_MODULES CLIP.f32 [RUNS] -> one JSON line
const fs = require("fs");
const path = require("path");

function weightsOf(dir, manifest, suffix, read) {
  const specs = [], bufs = [];
  for (const g of manifest) {
    specs.push(...g.weights);
    for (const p of g.paths) bufs.push(read(path.join(dir, p + suffix)));
  }
  const all = Buffer.concat(bufs);
  return { specs, data: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) };
}

async function main() {
  const [nm, clip, runsArg] = process.argv.slice(2);
  const runs = Number(runsArg || 5);
  const out = {};
  {
    const tf = require(path.resolve(nm, "@tensorflow/tfjs"));
    await tf.setBackend("cpu");
    const dir = path.resolve(nm, "nsfwjs/dist/models/mobilenet_v2");
    let t0 = Date.now();
    const model = require(path.join(dir, "model.min.js"));
    const w = weightsOf(dir, model.weightsManifest, ".min.js", (p) => Buffer.from(require(p), "base64"));
    const net = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: model.modelTopology, weightSpecs: w.specs, weightData: w.data }));
    out.mobilenet_load_ms = Date.now() - t0;
    const x = tf.randomUniform([1, 224, 224, 3]);
    t0 = Date.now();
    net.predict(x).dataSync();
    out.mobilenet_cold_ms = Date.now() - t0;
    const warm = [];
    for (let i = 0; i < runs; ++i) {
      t0 = Date.now();
      net.predict(x).dataSync();
      warm.push(Date.now() - t0);
    }
    warm.sort((a, b) => a - b);
    out.mobilenet_warm_ms = warm[Math.floor(warm.length / 2)];
  }
  {
    const bpDir = path.resolve(nm, "@spotify/basic-pitch");
    const tf = require(path.join(bpDir, "node_modules/@tensorflow/tfjs"));
    await tf.setBackend("cpu");
    const { BasicPitch } = require(bpDir);
    let t0 = Date.now();
    const mj = JSON.parse(fs.readFileSync(path.join(bpDir, "model/model.json")));
    const w = weightsOf(path.join(bpDir, "model"), mj.weightsManifest, "", (p) => fs.readFileSync(p));
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: w.specs, weightData: w.data, format: mj.format }));
    out.basic_pitch_load_ms = Date.now() - t0;
    const bp = new BasicPitch(Promise.resolve(model));
    const raw = fs.readFileSync(clip);
    const pcm = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    t0 = Date.now();
    await bp.evaluateModel(pcm, () => {}, () => {});
    out.basic_pitch_cold_ms = Date.now() - t0;
    out.clip_s = pcm.length / 22050;
  }
  console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
