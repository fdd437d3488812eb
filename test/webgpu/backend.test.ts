import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../diagnostics/errors.js";
import { describeBackend, selectBackend } from "../../runtime/backend/select.js";
import { DeviceError, inDeviceScope, injectDeviceError, webGpuAdapter, shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { noAdapter, skipNote } from "./adapter.js";

describe.skipIf(noAdapter !== null)(`webgpu backend selection and device errors${skipNote}`, () => {
  afterAll(() => shutdownWebGpu());

  it("auto never picks a software adapter, and says why webgpu was not used", async () => {
    const report = await selectBackend("auto");
    expect(report.choice).not.toBe("webgpu");
    const webgpu = report.reasons.find((r) => r.backend === "webgpu");
    expect(webgpu?.why).toMatch(/only a software adapter \(.+\).*--backend webgpu/);
    expect(describeBackend(report)).toMatch(/^backend: (node|wasm|cpu) .*not used: .*webgpu: only a software adapter/);
  });

  it("--backend webgpu accepts lavapipe and names adapter and limits on the first line", async () => {
    const report = await selectBackend("webgpu");
    expect(report.choice).toBe("webgpu");
    expect(tf.getBackend()).toBe("webgpu");
    const adapter = webGpuAdapter()!;
    expect(adapter.software).toBe(true);
    const limit = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device.limits.maxStorageBufferBindingSize;
    expect(adapter.maxStorageBufferBindingSize).toBe(limit);
    const line = describeBackend(report);
    expect(line).toContain(adapter.description);
    expect(line).toMatch(/vendor \S+, architecture \S+/);
    expect(line).toContain(`maxStorageBufferBindingSize ${Math.floor(limit / 2 ** 20)} MiB`);
    expect(line).toMatch(/maxBufferSize [\d,]+ MiB/);
    // Ops run on the device and agree with plain arithmetic.
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
    expect(Array.from(await y.data())).toEqual([19, 22, 43, 50]);
  });

  it("addN of more tensors than a shader may bind (30) is chunked, not a device error", async () => {
    await selectBackend("webgpu");
    const parts = Array.from({ length: 30 }, (_, i) => tf.fill([3], i + 1));
    const total = inDeviceScope("grad-norm", () => tf.addN(parts));
    expect(Array.from(await total.data())).toEqual([465, 465, 465]);
    tf.dispose([...parts, total]);
  });

  it("an injected device error stops at the layer that issued it, as a UserError", async () => {
    await selectBackend("webgpu");
    let caught: unknown = null;
    try {
      inDeviceScope("blocks.1.mix.peer", () => injectDeviceError());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DeviceError);
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as Error).message).toMatch(/error in layer blocks\.1\.mix\.peer: .*STORAGE|error in layer blocks\.1\.mix\.peer: .*usage/i);
    // Reported once: the next scope runs clean.
    expect(inDeviceScope("blocks.2.mix.peer", () => 7)).toBe(7);
  });

  it("a gather from a table above maxStorageBufferBindingSize is an error naming the layer, never a stale value", async () => {
    await selectBackend("webgpu");
    const limit = webGpuAdapter()!.maxStorageBufferBindingSize;
    const rows = Math.ceil(limit / (64 * 4)) + 1024;
    const made: tf.Tensor[] = [];
    // Filling the table already binds it whole: the first error comes from that op, inside the layer.
    const run = () =>
      inDeviceScope("blocks.0.mix.pkm", () => {
        const table = tf.fill([rows, 64], 1);
        made.push(table);
        made.push(tf.gather(table, tf.tensor1d([5, rows - 1], "int32")));
      });
    expect(run).toThrow(/error in layer blocks\.0\.mix\.pkm: Binding size \(\d+\).*larger than the maximum storage buffer binding size/);
    tf.dispose(made);
  });
});
