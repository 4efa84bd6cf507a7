/**
 * Cuts a long text into classic writes that each fit a receiver's single recv():
 * header + chunk ≤ maxBytes, cut only between code points (one Python receiver stops for good
 * after a decode error), preferring a space near the end so words stay whole.
 */
export function splitForClassic(header: string, text: string, maxBytes: number): string[] {
  const headerBytes = Buffer.byteLength(header, 'utf8');
  const budget = maxBytes - headerBytes;
  if (budget < 4) throw new RangeError(`header of ${headerBytes} bytes leaves no room in ${maxBytes}-byte writes`);
  const chunks: string[] = [];
  let start = 0;
  const cps = Array.from(text);
  while (start < cps.length) {
    let bytes = 0;
    let end = start;
    while (end < cps.length) {
      const b = Buffer.byteLength(cps[end], 'utf8');
      if (bytes + b > budget) break;
      bytes += b;
      end++;
    }
    if (end < cps.length) {
      // Prefer to break after a space in the last quarter of the chunk.
      const floor = start + Math.floor((end - start) * 0.75);
      for (let i = end; i > floor; i--) {
        if (cps[i - 1] === ' ') {
          end = i;
          break;
        }
      }
    }
    chunks.push(header + cps.slice(start, end).join(''));
    start = end;
  }
  return chunks;
}
