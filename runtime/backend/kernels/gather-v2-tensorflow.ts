/**
 * GatherV2 for the native "tensorflow" backend (tfjs-node, tfjs-node-gpu)
 * without the host bounds check.
 *
 * Why: tfjs-node 4.22's kernel calls `backend.readSync(indices)` to check every
 * index on the host before running the op: on a GPU that is a device→host copy
 * and a sync on every gather (tfjs-runtime.md §4). TensorFlow's own GatherV2
 * already rejects out-of-range indices on CPU (and on GPU writes zeros), so the
 * check is dropped. Not tested here: tfjs-node cannot be installed on this
 * machine (no libtensorflow download); see docs/gpu.md.
 */
import * as tf from "@tensorflow/tfjs";

/** The parts of tfjs-node's NodeJSKernelBackend this kernel uses. */
interface NodeBackendLike {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_INT: number; TF_FLOAT: number; TF_INT32: number; TF_BOOL: number };
  executeSingleOutput(name: string, opAttrs: { name: string; type: number; value: unknown }[], inputs: tf.TensorInfo[]): tf.TensorInfo;
}

function tfDtype(backend: NodeBackendLike, dtype: tf.DataType): number {
  if (dtype === "float32") return backend.binding.TF_FLOAT;
  if (dtype === "int32") return backend.binding.TF_INT32;
  if (dtype === "bool") return backend.binding.TF_BOOL;
  throw new Error(`GatherV2: unsupported dtype ${dtype}`);
}

export function registerTensorflowGatherV2(): void {
  if (tf.getKernel("GatherV2", "tensorflow")) tf.unregisterKernel("GatherV2", "tensorflow");
  tf.registerKernel({
    kernelName: "GatherV2",
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
      const node = backend as unknown as NodeBackendLike;
      const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0]!;
      const axisTensor = tf.scalar(parsedAxis, "int32");
      const opAttrs = [
        { name: "batch_dims", type: node.binding.TF_ATTR_INT, value: batchDims ?? 0 },
        { name: "Tparams", type: node.binding.TF_ATTR_TYPE, value: tfDtype(node, x.dtype) },
        { name: "Tindices", type: node.binding.TF_ATTR_TYPE, value: tfDtype(node, indices.dtype) },
        { name: "Taxis", type: node.binding.TF_ATTR_TYPE, value: node.binding.TF_INT32 },
      ];
      const result = node.executeSingleOutput("GatherV2", opAttrs, [x, indices, axisTensor]);
      axisTensor.dispose();
      return result;
    },
  });
}
