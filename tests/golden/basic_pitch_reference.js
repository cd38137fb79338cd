// Golden reference for mpjudge's basic-pitch port: the package's own BasicPitch.evaluateModel (windowing,
// stitching, trimming) on its graph model, run by the @tensorflow/tfjs it depends on (pure JS CPU).
// usage: node basic_pitch_reference.js NODE_MODULES INPUT.f32 OUTDIR
//   INPUT.f32: mono float32 PCM at 22050 Hz. Writes OUTDIR/{note,onset,contour}.f32 ([T, 88|88|264])
//   and OUTDIR/basic_pitch_reference.json (frames, timing).
const fs = require("fs");
const path = require("path");

async function main() {
  const [nodeModules, input, outDir] = process.argv.slice(2);
  const bpDir = path.resolve(nodeModules, "@spotify/basic-pitch");
  const tf = require(path.join(bpDir, "node_modules/@tensorflow/tfjs"));  // the tfjs basic-pitch itself uses
  await tf.setBackend("cpu");
  const { BasicPitch } = require(bpDir);
  const modelJson = JSON.parse(fs.readFileSync(path.join(bpDir, "model/model.json")));
  const specs = [];
  const buffers = [];
  for (const group of modelJson.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(bpDir, "model", p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = tf.loadGraphModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData,
                                                     format: modelJson.format, generatedBy: modelJson.generatedBy,
                                                     convertedBy: modelJson.convertedBy }));
  const bp = new BasicPitch(model);
  const raw = fs.readFileSync(input);
  const pcm = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const note = [], onset = [], contour = [];
  const t0 = Date.now();
  await bp.evaluateModel(pcm, (f, o, c) => { note.push(...f); onset.push(...o); contour.push(...c); }, () => {});
  const ms = Date.now() - t0;
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, rows] of [["note", note], ["onset", onset], ["contour", contour]])
    fs.writeFileSync(path.join(outDir, name + ".f32"), Buffer.from(new Float32Array(rows.flat()).buffer));
  fs.writeFileSync(path.join(outDir, "basic_pitch_reference.json"), JSON.stringify({ frames: note.length, ms }, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
