/**
 * A worker of the expert kernel pool (kernel-pool.ts): runs each posted job,
 * then marks its control word done (1) or failed (2, the message on the error
 * port) and wakes the waiting caller.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runKernelJob, type KernelJob } from "./kernel-jobs.js";

const { control, index, errors } = workerData as { control: Int32Array; index: number; errors: import("node:worker_threads").MessagePort };

parentPort!.on("message", (job: KernelJob) => {
  let status = 1;
  try {
    runKernelJob(job);
  } catch (error) {
    errors.postMessage(`${job.kind}: ${error instanceof Error ? error.message : String(error)}`);
    status = 2;
  }
  Atomics.store(control, index, status);
  Atomics.notify(control, index);
});
