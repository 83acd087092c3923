/** Render-time prompt text that is not about the story itself. */

/** The quality list the release uses as negative prompt for training and rendering. */
export const DEFAULT_NEGATIVE_PROMPT = [
  'worst quality', 'low quality', 'normal quality', 'lowres', 'blurry', 'jpeg artifacts', 'bad anatomy',
  'bad hands', 'extra fingers', 'fewer fingers', 'missing fingers', 'extra limbs', 'deformed', 'disfigured',
  'mutated', 'ugly', 'duplicate', 'cropped', 'out of frame', 'text', 'signature', 'watermark', 'username',
].join(', ');
