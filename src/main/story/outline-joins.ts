/**
 * The story-outline joins, written once. Each is a FROM clause with fixed aliases — `fr` frame,
 * `d` dialogue line, `s` subchapter, `c` chapter — so `c.film_id` names the film a row belongs to
 * and `c.position, s.position, …` orders rows as the story reads.
 */

/** Frames with their subchapter `s` and chapter `c`. */
export const FRAMES_WITH_OUTLINE = 'frame fr JOIN subchapter s ON s.id = fr.subchapter_id JOIN chapter c ON c.id = s.chapter_id';

/** Dialogue lines with their subchapter `s` and chapter `c`. */
export const LINES_WITH_OUTLINE = 'dialogue_line d JOIN subchapter s ON s.id = d.subchapter_id JOIN chapter c ON c.id = s.chapter_id';

/** Subchapters with their chapter `c`. */
export const SUBCHAPTERS_WITH_OUTLINE = 'subchapter s JOIN chapter c ON c.id = s.chapter_id';
