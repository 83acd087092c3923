import { z } from 'zod';

/**
 * Browsing the machine's folders for the folder pickers (render embedding, export folder). In serve mode the
 * browser cannot see the server's disk, so the server lists it: folders only, plus files with the given
 * extensions when a picker chooses a file. Read-only; hidden entries are left out.
 */

export const ListDirInput = z.object({
  /** An absolute path; '' lists the user's home folder. */
  path: z.string().max(4096).default(''),
  /** File extensions to list besides folders (".safetensors", ".pt"); none: folders only. */
  extensions: z.array(z.string().regex(/^\.[A-Za-z0-9]{1,16}$/)).max(16).default([]),
}).strict();

export const ListDirOutput = z.object({
  /** The folder listed, resolved (no "..", links followed). */
  path: z.string(),
  /** Its parent, or null at the root. */
  parent: z.string().nullable(),
  dirs: z.array(z.string()),
  files: z.array(z.string()),
  /** More entries than are listed (the lists are cut at 2,000 names each). */
  truncated: z.boolean(),
});
export type ListDirOutput = z.infer<typeof ListDirOutput>;

export const fsMethods = {
  'fs.listDir': { input: ListDirInput, output: ListDirOutput },
} as const;
