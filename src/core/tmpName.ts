// The name of a temporary file that becomes `file` by rename. Unique per write, not per file: two writers of the
// same file (two processes, or two overlapping writes in one) each get their own temporary file, so one can never
// append its bytes to the other's or rename the other's half-written file into place. The pid tells an operator
// who left a stray one behind; the counter and the random part keep names apart within a process and across
// hosts sharing a directory (pids repeat across hosts).
let counter = 0;

export function tmpNameFor(file: string): string {
  counter = (counter + 1) % 0x100000000;
  const random = Math.floor(Math.random() * 0x100000000).toString(36);
  return `${file}.tmp-${process.pid}-${counter.toString(36)}-${random}`;
}

/** Whether a directory entry is a temporary file tmpNameFor made for `base` (a leftover of a crash). */
export function isTmpNameOf(entry: string, base: string): boolean {
  return entry.startsWith(`${base}.tmp-`);
}
