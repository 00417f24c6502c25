/** A file a renderer produced: where it goes on the node, its text and its mode. */
export interface RenderedFile {
  /** Node-absolute path. */
  path: string;
  content: string;
  mode: number;
}
