import { AppError } from '../../shared/errors';

/**
 * The release's training prompts (dreamframe-method.md §6): 5 templates × 4 variations. `{}` stands for the
 * keyword; the variation word follows it, as the release fills `{}` with "<keyword> <variation>".
 */
const RELEASE_TEMPLATES = [
  'generate an image in {} style',
  'an image in {} style',
  'a picture of people walking in {} style',
  'depicted in a {} style',
  'in style of {}',
];
const RELEASE_VARIATIONS = ['painting', 'acryl', 'art', 'picture'];

export const DEFAULT_PROMPT_TEMPLATES: readonly string[] = RELEASE_TEMPLATES.flatMap((t) =>
  RELEASE_VARIATIONS.map((v) => t.replace('{}', `{} ${v}`)),
);

/** Checks that every template holds exactly one `{}` placeholder. */
export function validateTemplates(templates: readonly string[]): void {
  if (templates.length === 0) throw new AppError('style.templates_invalid', 'at least one prompt template is needed');
  templates.forEach((t, i) => {
    if (t.split('{}').length !== 2) {
      throw new AppError('style.templates_invalid', `prompt template ${i + 1} "${t}" must contain exactly one {} for the keyword`);
    }
  });
}

export function fillTemplate(template: string, keyword: string): string {
  return template.replace('{}', keyword);
}
