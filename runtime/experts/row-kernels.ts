/** Row gather from a row-major table into a packed [n, cols] buffer. (The scatter-add side lives in ExpertTable: it adds into gradient slots, not table rows.) */

/** out[n] = table[ids[n]] for each n (row memcpy). */
export function gatherRows(table: Float32Array, cols: number, ids: Int32Array, out: Float32Array): void {
  for (let n = 0; n < ids.length; n++) {
    const src = ids[n] * cols;
    out.set(table.subarray(src, src + cols), n * cols);
  }
}
