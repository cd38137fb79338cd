// Golden reference for mpjudge's MobileNetV2 port: the nsfwjs 4.4.0 model run by @tensorflow/tfjs
// (pure JS CPU backend) on raw inputs. Loads the model from the package's UMD .min.js wrappers the
// same way nsfwjs does (require), outputs every stage map, the 7x7x1280 map and the class probabilities.
// usage: node mobilenet_reference.js NODE_MODULES OUTDIR INPUT.f32...
//   INPUT.f32: float32 NHWC [1, 224, 224, 3] (RGB / 255). Writes OUTDIR/<input>.<layer>.f32 (NHWC) and
//   OUTDIR/mobilenet_reference.json (shapes, timing).
const fs = require("fs");
const path = require("path");

async function main() {
  const [nodeModules, outDir, ...inputs] = process.argv.slice(2);
  const tf = require(path.resolve(nodeModules, "@tensorflow/tfjs"));
  await tf.setBackend("cpu");
  const dir = path.resolve(nodeModules, "nsfwjs/dist/models/mobilenet_v2");
  const model = require(path.join(dir, "model.min.js"));
  const buffers = [];
  const specs = [];
  for (const group of model.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(Buffer.from(require(path.join(dir, p + ".min.js")), "base64"));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const net = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: model.modelTopology, weightSpecs: specs, weightData }));
  const layers = ["expanded_conv_project_BN", "block_2_add", "block_5_add", "block_12_add", "block_16_project_BN", "out_relu", "dense_3"];
  const probe = tf.model({ inputs: net.inputs, outputs: layers.map((l) => net.getLayer(l).output) });
  fs.mkdirSync(outDir, { recursive: true });
  const meta = { layers, shapes: {}, inputs: [] };
  for (const input of inputs) {
    const raw = fs.readFileSync(input);
    const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), [1, 224, 224, 3]);
    const t0 = Date.now();
    const outs = probe.predict(x);
    const name = path.basename(input, ".f32");
    for (let i = 0; i < layers.length; ++i) {
      fs.writeFileSync(path.join(outDir, `${name}.${layers[i]}.f32`), Buffer.from(outs[i].dataSync().buffer));
      meta.shapes[layers[i]] = outs[i].shape;
    }
    meta.inputs.push({ name, ms: Date.now() - t0 });
  }
  fs.writeFileSync(path.join(outDir, "mobilenet_reference.json"), JSON.stringify(meta, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
