import type { H5Snapshot } from '../util/h5.js';
import type { H5NodeInfo, H5ScanWant } from '../util/h5-worker.js';

/*
 * Where Keras puts an Embedding's table in an HDF5 file, as general rules rather than one path:
 *
 * - Keras 1, 2 and 3's legacy `.h5` (`model.save` / `model.save_weights`): one group per layer
 *   (listed by the `layer_names` attribute of the weights root), whose `weight_names` attribute
 *   lists the layer's weights as paths inside the group, in order. Keras loads them by those
 *   names, and so does this reader: `embedding_1/embeddings:0` (tf.keras), `embeddings`
 *   (Theano), `cat_embed_2d_genre_1/embeddings:0` (tf.keras 2.2.4 uniquified scopes),
 *   `embedding_1_W:0` / `embedding_1_W` (Keras 1 on TensorFlow / Theano),
 *   `recommender_net/embedding/embeddings` (Keras 3 subclassed models). Files without
 *   `weight_names` (hand-made ones) fall back to the dataset layout Keras writes.
 * - Keras 3 `.keras` (`model.weights.h5`): one `vars` group per layer at a path made of the
 *   attributes that lead to it, `layers/<snake_case(class)>[_n]` for the layers of a model; see
 *   keras-v3.ts.
 *
 * When a file holds no Embedding config (weights-only files, and subclassed models, whose saved
 * config has no layer list), the tables are found by the weights alone: a layer whose weight is
 * named `embeddings` (the variable name Keras gives an Embedding's table since Keras 2), or a
 * layer whose only weight is `<layer>_W` (Keras 1 named every layer's main weight so; an
 * Embedding has no other).
 */

/**
 * Keras splits a string-list attribute over 64 KiB (HDF5's object header limit) into
 * `<name>0`, `<name>1`, ... (`save_attributes_to_hdf5_group`); this many chunks are read.
 */
const ATTR_CHUNKS = 32;
const chunked = (name: string) => [name, ...Array.from({ length: ATTR_CHUNKS }, (_, i) => `${name}${i}`)];

/** What a scan of a Keras .h5 file reads: the attributes the layout rules use, and every dataset's shape and type. */
export const KERAS_H5_WANT: H5ScanWant = {
  attrs: ['model_config', ...chunked('layer_names'), ...chunked('weight_names'), 'keras_version', 'backend'],
  datasets: '',
};

const EMBEDDINGS_LEAF = /^embeddings(:0)?$/;

function stringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  return undefined;
}

/**
 * True when a saved model config lists its layers (`config.layers`, or Keras 1's Sequential
 * `config: [...]`). A subclassed model's config holds only its constructor arguments: its
 * tables can only be found by the weights. A model with a layer list and no Embedding has none.
 */
export function hasLayerList(modelConfig: unknown): boolean {
  if (typeof modelConfig !== 'object' || modelConfig === null) return false;
  const config = (modelConfig as { config?: unknown }).config;
  return Array.isArray(config) || (typeof config === 'object' && config !== null && Array.isArray((config as { layers?: unknown }).layers));
}

/**
 * A string-list attribute (Keras's `layer_names`, `weight_names`), also when Keras split it into
 * chunks `<name>0`, `<name>1`...; undefined when absent or not strings. (An empty list, which
 * h5py stores as an empty float array, reads as [].)
 */
export function stringListAttr(node: H5NodeInfo | undefined, name: string): string[] | undefined {
  if (!node) return undefined;
  if (name in node.attrs) return stringList(node.attrs[name]);
  if (!(`${name}0` in node.attrs)) return undefined;
  const out: string[] = [];
  for (let i = 0; `${name}${i}` in node.attrs; i++) {
    const part = stringList(node.attrs[`${name}${i}`]);
    if (!part) return undefined;
    out.push(...part);
  }
  return out;
}

function leafOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function parentOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}

/**
 * Keras 1's name for a layer's main weight: `<layer>_W` (Theano) or `<layer>_W:0` (TensorFlow),
 * directly in the layer's group (Keras 2 and later name weights inside the layer's scope,
 * `<layer>/<weight>`, so a custom Keras 2 layer's `attention/attention_W:0` is not one).
 */
function isKeras1Weight(name: string, layer: string): boolean {
  return name === `${layer}_W` || name === `${layer}_W:0`;
}

function joinPath(root: string, rel: string): string {
  return root === '' ? rel : `${root}/${rel}`;
}

/** One layer group of a Keras .h5 file: its name and the weights its `weight_names` attribute lists (undefined without the attribute). */
interface H5Layer {
  readonly name: string;
  readonly weights: readonly string[] | undefined;
}

/** One table found in a Keras .h5 file. */
export interface H5Table {
  /** Layer name. */
  readonly name: string;
  /** Dataset path, relative to the weights root. */
  readonly path: string;
  readonly dataset: H5NodeInfo;
}

/**
 * The group holding the layers' weights: `model_weights` for a full model (`model.save`), the
 * root for a weights-only file (`model.save_weights`, whose root carries `layer_names`).
 */
export function kerasH5WeightsRoot(file: H5Snapshot): string {
  if (stringListAttr(file.get(''), 'layer_names') !== undefined) return '';
  return file.get('model_weights')?.type === 'Group' ? 'model_weights' : '';
}

function layersOf(file: H5Snapshot, root: string): H5Layer[] {
  const listed = stringListAttr(file.get(root), 'layer_names');
  const names = listed ?? file.keys(root);
  const out: H5Layer[] = [];
  for (const name of names) {
    const node = file.get(joinPath(root, name));
    if (node?.type === 'Group') out.push({ name, weights: stringListAttr(node, 'weight_names') });
  }
  return out;
}

function datasetAt(file: H5Snapshot, root: string, rel: string): H5NodeInfo | undefined {
  const node = file.get(joinPath(root, rel));
  return node?.type === 'Dataset' ? node : undefined;
}

/** What {@link kerasH5Tables} found: by config name, or (no Embedding config) every table in the file's weights. */
export interface KerasH5Lookup {
  /** The table of the Embedding layer named `name` (from the model config), or what was looked at when there is none. */
  byConfig(name: string): H5Table | { missing: string };
  /** Every table the weights hold, for files without an Embedding config, in layer order. */
  byWeights(): H5Table[];
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * The table finder for a scanned Keras .h5 file whose layers live under `root`. Everything is
 * indexed once, so a lookup costs the same whatever the number of layers and datasets.
 */
export function kerasH5Tables(file: H5Snapshot, root: string): KerasH5Lookup {
  const layers = layersOf(file, root);
  const layerByName = new Map<string, H5Layer>();
  for (const l of layers) if (!layerByName.has(l.name)) layerByName.set(l.name, l);
  // Keras 1 wrote keras_version 1.x (1.2 on), or nothing (before 1.2); Keras 2 and later always write it.
  const version = file.get('')?.attrs.keras_version ?? file.get(root)?.attrs.keras_version;
  const keras1 = version === undefined || version === null || (typeof version === 'string' && version.startsWith('1.'));
  // Datasets below the root, by path, by parent group name and by first segment (the layer group).
  const datasets = file.below(root).filter(({ node }) => node.type === 'Dataset');
  const byParent = new Map<string, { rel: string; node: H5NodeInfo }[]>();
  const byGroup = new Map<string, string[]>();
  for (const d of datasets) {
    const parent = parentOf(d.rel);
    if (parent !== undefined) push(byParent, parent, d);
    const slash = d.rel.indexOf('/');
    if (slash > 0) push(byGroup, d.rel.slice(0, slash), d.rel.slice(slash + 1));
  }
  // Weights a group lists under another layer's scope (a nested model's group), by that scope.
  const byScope = new Map<string, { layer: string; weight: string }[]>();
  for (const l of layers)
    for (const w of l.weights ?? []) {
      const scopes = w.split('/').slice(0, -1);
      for (const scope of new Set(scopes)) push(byScope, scope, { layer: l.name, weight: w });
    }
  const table = (name: string, path: string): H5Table | undefined => {
    const dataset = datasetAt(file, root, path);
    return dataset ? { name, path, dataset } : undefined;
  };
  const isTableLeaf = (leaf: string, layer: string) => EMBEDDINGS_LEAF.test(leaf) || isKeras1Weight(leaf, layer);

  return {
    byConfig(name) {
      const layer = layerByName.get(name);
      // 1. The layer's own group: Keras loads its weights by the names `weight_names` lists.
      if (layer?.weights && layer.weights.length > 0) {
        const listed = layer.weights.map((w) => table(name, `${name}/${w}`)).filter((t) => t !== undefined);
        const hit = listed.find((t) => isTableLeaf(leafOf(t.path), name)) ?? (listed.length === 1 ? listed[0] : undefined);
        if (hit) return hit;
      }
      // 2. A nested model: the sub-model's group lists its layers' weights as <layer>/<weight>.
      for (const { layer: group, weight } of byScope.get(name) ?? []) {
        if (!isTableLeaf(leafOf(weight), name)) continue;
        const hit = table(name, `${group}/${weight}`);
        if (hit) return hit;
      }
      // 3. Files without weight_names: the layout Keras writes, <layer>/<layer>/embeddings:0, or under a sub-model's group.
      const exact = datasetAt(file, root, `${name}/${name}/embeddings:0`);
      if (exact) return { name, path: `${name}/${name}/embeddings:0`, dataset: exact };
      const nested = (byParent.get(name) ?? []).find(({ rel }) => isTableLeaf(leafOf(rel), name));
      if (nested) return { name, path: nested.rel, dataset: nested.node };
      const prefix = root === '' ? '' : `${root}/`;
      return {
        missing: layer?.weights
          ? `its group ${prefix}${name} lists weight_names ${JSON.stringify(layer.weights.slice(0, 8))}, and none is a dataset of the file`
          : `there is no dataset ${prefix}${name}/${name}/embeddings:0 and no weight_names attribute naming one`,
      };
    },

    byWeights() {
      const out: H5Table[] = [];
      for (const layer of layers) {
        const names = layer.weights ?? byGroup.get(layer.name) ?? [];
        const embeddings = names.filter((w) => EMBEDDINGS_LEAF.test(leafOf(w)));
        if (embeddings.length === 1) {
          const hit = table(layer.name, `${layer.name}/${embeddings[0]}`);
          if (hit) out.push(hit);
        } else if (embeddings.length > 1) {
          // A sub-model's group: each table is named after the layer that holds it.
          for (const w of embeddings) {
            const hit = table(parentOf(`${layer.name}/${w}`) ?? layer.name, `${layer.name}/${w}`);
            if (hit) out.push(hit);
          }
        } else if (keras1 && names.length === 1 && isKeras1Weight(names[0]!, layer.name)) {
          // Keras 1: an Embedding's only weight is <layer>_W; a Dense has <layer>_W and <layer>_b.
          const hit = table(layer.name, `${layer.name}/${names[0]}`);
          if (hit && hit.dataset.shape?.length === 2) out.push(hit);
        }
      }
      return out;
    },
  };
}

/** One `vars` group of a Keras 3 `model.weights.h5`. */
export interface Keras3Vars {
  /**
   * Its owner's path as Keras builds it, `layers/embedding_1`: a `.keras` written on Windows
   * names the group literally `layers\embedding` (older Keras 3 releases joined the path with
   * the OS separator, keras-team/keras#18528), and tf-keras 2.13
   * wrote `_layer_checkpoint_dependencies` where Keras 3 writes `layers`. Both are normalized here.
   */
  readonly path: string;
  /** The `vars` group's path in the file, as written. */
  readonly raw: string;
  /** Its `name` attribute (the layer name; Keras 3.x writes it), if any. */
  readonly name: string | undefined;
}

function normalizeKeras3Path(raw: string): string {
  return raw
    .replace(/\\/g, '/')
    .split('/')
    .map((part) => (part === '_layer_checkpoint_dependencies' ? 'layers' : part))
    .join('/');
}

/** Every `vars` group of a scanned Keras 3 `model.weights.h5` below the root (the model's own top-level `vars` excluded). */
export function keras3VarsGroups(file: H5Snapshot): Keras3Vars[] {
  const out: Keras3Vars[] = [];
  for (const { rel, node } of file.below()) {
    if (node.type !== 'Group' || !rel.endsWith('/vars')) continue;
    const owner = rel.slice(0, -'/vars'.length);
    const attr = node.attrs.name;
    const name =
      typeof attr === 'string' ? attr : Array.isArray(attr) && attr.length === 1 && typeof attr[0] === 'string' ? attr[0] : undefined;
    out.push({ path: normalizeKeras3Path(owner), raw: rel, name });
  }
  return out;
}

/**
 * The `vars` groups of the Embedding layers of a model saved without a layer list (a subclassed
 * model): Keras 3 names a layer's group after its class, so an `Embedding` is at
 * `.../embedding` or `.../embedding_<n>`, holding its table as `vars/0` (a 2-D dataset).
 */
export function keras3EmbeddingVarsByClass(file: H5Snapshot, groups: readonly Keras3Vars[]): Keras3Vars[] {
  return groups.filter((g) => {
    if (!/^embedding(_\d+)?$/.test(g.path.slice(g.path.lastIndexOf('/') + 1))) return false;
    const table = file.get(`${g.raw}/0`);
    return table?.type === 'Dataset' && table.shape?.length === 2;
  });
}

/** Where an Embedding's input shape was found in a Keras 3 config. */
export interface Keras3InputShape {
  readonly shape: readonly unknown[];
  /** What it came from, for the note. */
  readonly from: string;
}

function isLayer(
  node: unknown,
  className: string,
): node is { class_name: string; config: Record<string, unknown> } & Record<string, unknown> {
  return (
    typeof node === 'object' &&
    node !== null &&
    (node as { class_name?: unknown }).class_name === className &&
    typeof (node as { config?: unknown }).config === 'object' &&
    (node as { config?: unknown }).config !== null
  );
}

/** The shape of the Keras tensor a Keras 3 functional layer was first called on (`inbound_nodes[0].args[0].config.shape`). */
function inboundShape(layer: Record<string, unknown>): unknown[] | undefined {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return undefined;
  const args = (nodes[0] as { args?: unknown })?.args;
  if (!Array.isArray(args) || args.length === 0) return undefined;
  const tensor = args[0] as { class_name?: unknown; config?: { shape?: unknown } };
  return tensor?.class_name === '__keras_tensor__' && Array.isArray(tensor.config?.shape) ? tensor.config.shape : undefined;
}

/**
 * For each Embedding config object of a Keras 3 config.json, the input shape Keras recorded for
 * it (Keras 3 has no `input_length`; a fixed length lives in these shapes): the layer's
 * `build_config.input_shape`, else the shape of the Keras tensor it was called on (functional
 * models), else the `batch_shape` of the InputLayer right before it (Sequential).
 */
export function keras3InputShapes(modelConfig: unknown): Map<object, Keras3InputShape> {
  const out = new Map<object, Keras3InputShape>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > 256 || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        const before = i > 0 ? node[i - 1] : undefined;
        if (isLayer(item, 'Embedding') && isLayer(before, 'InputLayer') && !out.has(item)) {
          const shape = before.config.batch_shape ?? before.config.batch_input_shape;
          if (Array.isArray(shape)) out.set(item, { shape, from: `the batch_shape of InputLayer "${String(before.config.name)}"` });
        }
        visit(item, depth + 1);
      });
      return;
    }
    const obj = node as Record<string, unknown>;
    if (isLayer(obj, 'Embedding')) {
      const built = (obj.build_config as { input_shape?: unknown } | undefined)?.input_shape;
      const called = inboundShape(obj);
      if (Array.isArray(built)) out.set(obj, { shape: built, from: "the layer's build_config input_shape" });
      else if (called) out.set(obj, { shape: called, from: 'the shape of the tensor it is called on' });
      return;
    }
    for (const value of Object.values(obj)) visit(value, depth + 1);
  };
  visit(modelConfig, 0);
  return out;
}
