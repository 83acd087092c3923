/**
 * Plot node warnings: what was repaired in a node's accepted answer (keyword put in braces, a list
 * longer than asked cut, long locations kept, ...), a JSON array of strings shown to the curator on the
 * node. Nodes finished before this migration have none.
 */
export const sql = `
ALTER TABLE plot_node ADD COLUMN warnings_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(warnings_json));
`;
