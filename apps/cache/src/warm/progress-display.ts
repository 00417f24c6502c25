/**
 * Progress of `warm`: on a terminal, one line rewritten in place (bytes and layers done of the
 * total); otherwise plain lines, one per finished blob, so logs and CI output stay readable.
 */
import { formatByteSize } from "@regmirror/schemas";
import type { WarmProgress, WarmResult } from "./warm-images.js";

/** "1 manifest", "3 manifests". */
export function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** The closing line of one warmed image. */
export function describeWarmResult(result: WarmResult): string {
  const cached = result.blobs - result.downloadedBlobs;
  const downloaded =
    result.downloadedBlobs === 0
      ? "none downloaded"
      : `${result.downloadedBlobs} downloaded (${formatByteSize(result.downloadedBytes)})`;
  return `${result.image}: cached ${result.digest} (${countOf(result.manifests, "manifest")}, ${countOf(result.blobs, "blob")}: ${downloaded}, ${cached} already cached)`;
}

export interface ProgressDisplay {
  update(progress: WarmProgress): void;
  /** Ends the in-place line (if any) before other output. */
  finish(): void;
}

function summary(progress: WarmProgress): string {
  return `${progress.image}: ${formatByteSize(progress.bytesDone)} / ${formatByteSize(progress.bytesTotal)}, ${progress.blobsDone}/${progress.blobsTotal} blobs`;
}

export function createProgressDisplay(
  write: (text: string) => void,
  isTerminal: boolean,
): ProgressDisplay {
  let lastDrawn = 0;
  let open = false;
  return {
    update(progress) {
      if (!isTerminal) {
        if (progress.finishedBlob !== undefined) {
          const { digest, size, alreadyCached } = progress.finishedBlob;
          const what = alreadyCached ? "already cached" : "downloaded";
          write(
            `${progress.image}: ${digest} ${formatByteSize(size)} ${what} (${progress.blobsDone}/${progress.blobsTotal} blobs)\n`,
          );
        }
        return;
      }
      const now = Date.now();
      // Redraw at most 10 times a second, and always when a blob finishes.
      if (progress.finishedBlob === undefined && now - lastDrawn < 100) return;
      lastDrawn = now;
      write(`\r\x1b[2K${summary(progress)}`);
      open = true;
    },
    finish() {
      if (open) write("\n");
      open = false;
    },
  };
}
