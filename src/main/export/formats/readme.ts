import { CLIPS_DIR } from '../clips';
import { VISUAL_TOKENS_PER_FRAME } from '../tokens';
import type { DataFile, ExportFormat, ExportOptions } from '../types';

/**
 * How to train or evaluate with an export folder: the lines go into the manifest (`usage`) and,
 * as a list, into `README.<format>.md` beside it. Commands and flags are those of LLaMA-VID
 * (dvlab-research/LLaMA-VID b3d3ae2b) and Video-ChatGPT (mbzuai-oryx/Video-ChatGPT 659e04b2).
 */
export function usageLines(format: ExportFormat, opts: ExportOptions): string[] {
  const { stage2, stage3 } = opts.maxTokens;
  switch (format) {
    case 'llama-vid':
      return [
        `LLaMA-VID reads every record's "video" relative to --video_folder: pass this folder (--video_folder <this folder>) and a data file as --data_path; clips are in ${CLIPS_DIR}/ under flat names.`,
        `llama_vid.json: one record per film, chapter and subchapter clip, split by question rounds so that each fits ${stage2} tokens, the --model_max_length of stage 2 (scripts/video/train/stage_2_full_v7b_224_fps_1.sh, --version imgsp_v1, --video_fps 1).`,
        `llama_vid_long.json: the film clip with several rounds per record, each within ${stage3} tokens, the --model_max_length of stage 3 (scripts/video/train/stage_3_full_v7b_224_longvid.sh); every record keeps the film's "inputs".`,
        `llama_vid_long_pkl.json: the same questions one per record for the .pkl route; make the features with scripts/extra_tool/extract_video_features_subtitles.py --video_file <this folder>/${CLIPS_DIR}/<film>_film.mp4 --feat_dir <this folder>/${CLIPS_DIR}, then set each .pkl's "inputs" to the record's "inputs" (the clips are silent, so Whisper finds no dialogue; ours is the film's).`,
        `Token estimate: ${VISUAL_TOKENS_PER_FRAME} visual tokens per frame (context + content token, --compress_type mean) at one frame per keyframe; on the mp4 route every question shows the whole clip again; text by an estimate of LLaMA's tokenizer that leans high. Records that cannot fit are listed under tokenBudgets in manifest.llama-vid.json.`,
        'The stage 2 and 3 scripts pass --group_by_modality_length True, whose sampler needs text-only records too: on these video-only files it fails. Merge them with a text/image mix (e.g. llava_v1_5_mix665k) or pass --group_by_modality_length False.',
      ];
    case 'video-chatgpt':
      return [
        `Video-ChatGPT finds <video_dir>/<video_name>.mp4: pass --video_dir <this folder>/${CLIPS_DIR} to video_chatgpt/eval/run_inference_benchmark_general.py (--gt_file generic_qa.json or temporal_qa.json) and run_inference_benchmark_consistency.py (--gt_file consistency_qa.json).`,
        'Every video_name is a flat file stem, so the quantitative_evaluation/evaluate_benchmark_*.py scripts can write <output_dir>/<video_name>.json.',
        'generic_qa.json feeds evaluate_benchmark_1_correctness, _2_detailed_orientation and _3_context; temporal_qa.json feeds _4_temporal; consistency_qa.json feeds _5_consistency.',
      ];
    case 'story-js':
      return ['story_js/<film>.json: DreamFrame story_js films; import them with `dreamframe import <file> --project <dir>` (add --as-new to import a film the project already has).'];
    case 'jsonl':
      return ['qa.jsonl: one QA pair per line with its film, scope and (with clips) its clip path relative to this folder.'];
  }
}

/** README.<format>.md: the usage lines as a short list. */
export function readmeFile(format: ExportFormat, lines: string[]): DataFile {
  const text = [`# DreamFrame ${format} export`, '', ...lines.map((l) => `- ${l}`), '',
    `manifest.${format}.json lists every file with its sha256, the settings and the counts.`, ''].join('\n');
  return { relPath: `README.${format}.md`, content: text, records: 0 };
}
