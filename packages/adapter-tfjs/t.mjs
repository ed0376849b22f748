import * as tf from '@tensorflow/tfjs';

await tf.setBackend('cpu');
tf.enableProdMode();
for (const which of ['builtin']) {
  const model = tf.sequential();
  model.add(tf.layers.embedding({ inputDim: 1000, outputDim: 64, inputLength: 10 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 1 }));
  model.compile({ optimizer: 'rmsprop', loss: 'meanSquaredError' });
  const x = tf.randomUniform([32, 10], 0, 1000, 'int32');
  const y = tf.ones([32, 1]);
  let t = Date.now();
  await model.fit(x, y, { epochs: 2, verbose: 0 });
  console.log(which, Date.now() - t);
  t = Date.now();
  tf.tidy(() => {
    const g = tf.grad((p) => tf.gather(p, tf.tensor1d(new Int32Array(320).fill(3), 'int32')).sum())(tf.zeros([1000, 64]));
    g.dataSync();
  });
  console.log('grad', Date.now() - t);
}
