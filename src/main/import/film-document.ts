import type { ImportReport } from '../../shared/api/contract';
import { AppError } from '../../shared/errors';
import { FilmDocument } from '../../shared/film-document';
import type { Project } from '../project/project';
import { insertFilmDocument, type FilmMeta } from '../story/film-writer';
import { getFilm } from '../story/film-reader';
import { readImportText } from './input-file';
import { describeIssues, parseJsonText } from './json-errors';

/** Imports one of our own film documents (the sample film ships as one). */
export function importFilmDocumentFile(project: Project, file: string, source: FilmMeta['source'] = 'manual'): ImportReport {
  // Only a regular file within the size limit is read (not /dev/zero, a FIFO or a folder).
  const text = readImportText(file);
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new AppError('import_invalid_json', `${file}: ${parsed.message}`, { file });
  const result = FilmDocument.safeParse(parsed.value);
  if (!result.success) {
    const { text: summary, issues } = describeIssues(result.error);
    throw new AppError('import_invalid_shape', `${file}: not a DreamFrame film document: ${summary}`, { file, issues });
  }
  const doc = result.data;
  const filmId = insertFilmDocument(project.db, doc, { source, structure: 'hierarchical' });
  return { filmId, structure: 'hierarchical', counts: getFilm(project.db, filmId).counts, unmapped: [] };
}
