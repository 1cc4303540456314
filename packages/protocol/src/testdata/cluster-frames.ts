/**
 * Test helper: the cluster stream's frame of a compute command — the compute frame as field 1
 * (length-delimited) of a `ClusterCommand`, the `compute` sub-protocol's variant.
 */
export function clusterFrameOf(frame: Uint8Array): Uint8Array {
  const len: number[] = [];
  for (let n = frame.length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      len.push(n);
      break;
    }
    len.push((n % 128) | 0x80);
  }
  return Uint8Array.from([0x0a, ...len, ...frame]);
}
