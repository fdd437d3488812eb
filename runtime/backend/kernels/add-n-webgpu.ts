/**
 * AddN on webgpu with any number of inputs. tfjs-backend-webgpu 4.22 binds all
 * inputs of AddN in one shader; past the device's maxStorageBuffersPerShaderStage
 * (8 by default, 16 on lavapipe when requested) pipeline creation fails, which
 * Dawn reports only as an `uncapturederror` (the trainer's global gradient norm
 * sums every gradient with one addN: measured in test/webgpu/host-reads.test.ts).
 * This sums in chunks that fit, with the original kernel.
 */
import * as tf from "@tensorflow/tfjs";

interface DeviceBackend {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: tf.DataId): void;
}

export function registerWebGpuAddN(): void {
  const original = tf.getKernel("AddN", "webgpu");
  if (!original) return;
  const run = original.kernelFunc;
  tf.unregisterKernel("AddN", "webgpu");
  tf.registerKernel({
    kernelName: "AddN",
    backendName: "webgpu",
    kernelFunc: (args) => {
      const backend = args.backend as unknown as DeviceBackend;
      // One binding is the output.
      const chunk = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
      let tensors = args.inputs as unknown as tf.TensorInfo[];
      const made: tf.TensorInfo[] = [];
      while (tensors.length > chunk) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < tensors.length; i += chunk) {
          const part = tensors.slice(i, i + chunk);
          if (part.length === 1) next.push(part[0]!);
          else {
            const sum = run({ ...args, inputs: part as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
            made.push(sum);
            next.push(sum);
          }
        }
        tensors = next;
      }
      const out = run({ ...args, inputs: tensors as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
      for (const t of made) if (t.dataId !== out.dataId) backend.disposeData(t.dataId);
      return out;
    },
  });
}
