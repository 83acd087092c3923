/**
 * Importing Stable Diffusion checkpoints into ONNX folders (docs/models.md, "Import"). The stable API for the model
 * library and the CLI: `importModel(input, outDir, opts)`.
 */
export { importModel } from './import-model';
export { checkOutDir, planImport, tempFolderFor, writeImportedFolder, type PlannedGraph } from './write-folder';
export type { ImportedModelInfo, ImportOptions, ImportProgress, ImportFamily, ImportDtype, ImportSource } from './types';
