/**
 * Rejection reasons (docs/ui.md, review flow): the reason a curator picked from the project's short list
 * ("off-style", "wrong content", …) is kept apart from the free note, so the export manifest can count
 * rejections per reason. Null for items never rejected with a reason.
 */
export const sql = `
ALTER TABLE frame ADD COLUMN review_reason TEXT;
ALTER TABLE dialogue_line ADD COLUMN review_reason TEXT;
ALTER TABLE qa_pair ADD COLUMN review_reason TEXT;
`;
