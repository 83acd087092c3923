import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/**
 * Real-size single-file checkpoint headers, written from the original architectures (CompVis/sgm `openaimodel`
 * UNet, LDM `AutoencoderKL`, Hugging Face CLIP and OpenCLIP text towers) — their module structure, not our
 * mapping — so detection and key mapping can be tested at full size without the weights. The data section is a
 * sparse hole: the file has the size the header promises but takes no disk space.
 */

export type Shapes = [string, number[]][];

interface UnetArch {
  channels: number;
  mult: number[];
  /** Which levels have a SpatialTransformer, and how deep. 0 = none. */
  depth: number[];
  midDepth: number;
  context: number;
  linear: boolean;
  inChannels: number;
  adm?: number;
}

function resblock(out: Shapes, p: string, cin: number, cout: number, emb?: number): void {
  out.push([`${p}in_layers.0.weight`, [cin]], [`${p}in_layers.0.bias`, [cin]]);
  out.push([`${p}in_layers.2.weight`, [cout, cin, 3, 3]], [`${p}in_layers.2.bias`, [cout]]);
  if (emb) out.push([`${p}emb_layers.1.weight`, [cout, emb]], [`${p}emb_layers.1.bias`, [cout]]);
  out.push([`${p}out_layers.0.weight`, [cout]], [`${p}out_layers.0.bias`, [cout]]);
  out.push([`${p}out_layers.3.weight`, [cout, cout, 3, 3]], [`${p}out_layers.3.bias`, [cout]]);
  if (cin !== cout) out.push([`${p}skip_connection.weight`, [cout, cin, 1, 1]], [`${p}skip_connection.bias`, [cout]]);
}

function transformer(out: Shapes, p: string, ch: number, depth: number, context: number, linear: boolean): void {
  const proj = linear ? [ch, ch] : [ch, ch, 1, 1];
  out.push([`${p}norm.weight`, [ch]], [`${p}norm.bias`, [ch]], [`${p}proj_in.weight`, proj], [`${p}proj_in.bias`, [ch]]);
  for (let d = 0; d < depth; d++) {
    const b = `${p}transformer_blocks.${d}.`;
    for (const a of ['attn1', 'attn2']) {
      const kv = a === 'attn1' ? ch : context;
      out.push([`${b}${a}.to_q.weight`, [ch, ch]], [`${b}${a}.to_k.weight`, [ch, kv]], [`${b}${a}.to_v.weight`, [ch, kv]]);
      out.push([`${b}${a}.to_out.0.weight`, [ch, ch]], [`${b}${a}.to_out.0.bias`, [ch]]);
    }
    out.push([`${b}ff.net.0.proj.weight`, [8 * ch, ch]], [`${b}ff.net.0.proj.bias`, [8 * ch]], [`${b}ff.net.2.weight`, [ch, 4 * ch]], [`${b}ff.net.2.bias`, [ch]]);
    for (const n of ['norm1', 'norm2', 'norm3']) out.push([`${b}${n}.weight`, [ch]], [`${b}${n}.bias`, [ch]]);
  }
  out.push([`${p}proj_out.weight`, proj], [`${p}proj_out.bias`, [ch]]);
}

/** openaimodel.UNetModel with num_res_blocks 2, under `model.diffusion_model.`. */
export function ldmUnet(a: UnetArch): Shapes {
  const out: Shapes = [];
  const P = 'model.diffusion_model.';
  const C = a.channels;
  const emb = 4 * C;
  out.push([`${P}time_embed.0.weight`, [emb, C]], [`${P}time_embed.0.bias`, [emb]], [`${P}time_embed.2.weight`, [emb, emb]], [`${P}time_embed.2.bias`, [emb]]);
  if (a.adm) out.push([`${P}label_emb.0.0.weight`, [emb, a.adm]], [`${P}label_emb.0.0.bias`, [emb]], [`${P}label_emb.0.2.weight`, [emb, emb]], [`${P}label_emb.0.2.bias`, [emb]]);
  out.push([`${P}input_blocks.0.0.weight`, [C, a.inChannels, 3, 3]], [`${P}input_blocks.0.0.bias`, [C]]);
  const skips = [C];
  let ch = C;
  let n = 1;
  a.mult.forEach((m, level) => {
    for (let r = 0; r < 2; r++) {
      resblock(out, `${P}input_blocks.${n}.0.`, ch, C * m, emb);
      ch = C * m;
      if (a.depth[level]) transformer(out, `${P}input_blocks.${n}.1.`, ch, a.depth[level], a.context, a.linear);
      skips.push(ch);
      n++;
    }
    if (level < a.mult.length - 1) {
      out.push([`${P}input_blocks.${n}.0.op.weight`, [ch, ch, 3, 3]], [`${P}input_blocks.${n}.0.op.bias`, [ch]]);
      skips.push(ch);
      n++;
    }
  });
  resblock(out, `${P}middle_block.0.`, ch, ch, emb);
  transformer(out, `${P}middle_block.1.`, ch, a.midDepth, a.context, a.linear);
  resblock(out, `${P}middle_block.2.`, ch, ch, emb);
  n = 0;
  for (let level = a.mult.length - 1; level >= 0; level--) {
    for (let r = 0; r < 3; r++) {
      const cout = C * a.mult[level];
      resblock(out, `${P}output_blocks.${n}.0.`, ch + (skips.pop() as number), cout, emb);
      ch = cout;
      let k = 1;
      if (a.depth[level]) transformer(out, `${P}output_blocks.${n}.${k++}.`, ch, a.depth[level], a.context, a.linear);
      if (level > 0 && r === 2) out.push([`${P}output_blocks.${n}.${k}.conv.weight`, [ch, ch, 3, 3]], [`${P}output_blocks.${n}.${k}.conv.bias`, [ch]]);
      n++;
    }
  }
  out.push([`${P}out.0.weight`, [C]], [`${P}out.0.bias`, [C]], [`${P}out.2.weight`, [4, C, 3, 3]], [`${P}out.2.bias`, [4]]);
  return out;
}

/** LDM AutoencoderKL (ch 128, ch_mult 1,2,4,4, 2 res blocks, z 4) under `first_stage_model.`. */
export function ldmVae(prefix = 'first_stage_model.'): Shapes {
  const out: Shapes = [];
  const res = (p: string, cin: number, cout: number): void => {
    out.push([`${p}norm1.weight`, [cin]], [`${p}norm1.bias`, [cin]], [`${p}conv1.weight`, [cout, cin, 3, 3]], [`${p}conv1.bias`, [cout]]);
    out.push([`${p}norm2.weight`, [cout]], [`${p}norm2.bias`, [cout]], [`${p}conv2.weight`, [cout, cout, 3, 3]], [`${p}conv2.bias`, [cout]]);
    if (cin !== cout) out.push([`${p}nin_shortcut.weight`, [cout, cin, 1, 1]], [`${p}nin_shortcut.bias`, [cout]]);
  };
  const mid = (p: string, ch: number): void => {
    res(`${p}mid.block_1.`, ch, ch);
    for (const n of ['norm']) out.push([`${p}mid.attn_1.${n}.weight`, [ch]], [`${p}mid.attn_1.${n}.bias`, [ch]]);
    for (const n of ['q', 'k', 'v', 'proj_out']) out.push([`${p}mid.attn_1.${n}.weight`, [ch, ch, 1, 1]], [`${p}mid.attn_1.${n}.bias`, [ch]]);
    res(`${p}mid.block_2.`, ch, ch);
  };
  const mult = [1, 2, 4, 4];
  const E = `${prefix}encoder.`;
  out.push([`${E}conv_in.weight`, [128, 3, 3, 3]], [`${E}conv_in.bias`, [128]]);
  let ch = 128;
  mult.forEach((m, i) => {
    for (let j = 0; j < 2; j++) {
      res(`${E}down.${i}.block.${j}.`, ch, 128 * m);
      ch = 128 * m;
    }
    if (i < 3) out.push([`${E}down.${i}.downsample.conv.weight`, [ch, ch, 3, 3]], [`${E}down.${i}.downsample.conv.bias`, [ch]]);
  });
  mid(E, ch);
  out.push([`${E}norm_out.weight`, [ch]], [`${E}norm_out.bias`, [ch]], [`${E}conv_out.weight`, [8, ch, 3, 3]], [`${E}conv_out.bias`, [8]]);
  out.push([`${prefix}quant_conv.weight`, [8, 8, 1, 1]], [`${prefix}quant_conv.bias`, [8]], [`${prefix}post_quant_conv.weight`, [4, 4, 1, 1]], [`${prefix}post_quant_conv.bias`, [4]]);
  const D = `${prefix}decoder.`;
  ch = 512;
  out.push([`${D}conv_in.weight`, [ch, 4, 3, 3]], [`${D}conv_in.bias`, [ch]]);
  mid(D, ch);
  for (let i = 3; i >= 0; i--) {
    for (let j = 0; j < 3; j++) {
      res(`${D}up.${i}.block.${j}.`, ch, 128 * mult[i]);
      ch = 128 * mult[i];
    }
    if (i > 0) out.push([`${D}up.${i}.upsample.conv.weight`, [ch, ch, 3, 3]], [`${D}up.${i}.upsample.conv.bias`, [ch]]);
  }
  out.push([`${D}norm_out.weight`, [ch]], [`${D}norm_out.bias`, [ch]], [`${D}conv_out.weight`, [3, ch, 3, 3]], [`${D}conv_out.bias`, [3]]);
  return out;
}

/** Hugging Face CLIPTextModel (ViT-L/14: 768 wide, 12 layers) under `prefix` + `text_model.`. */
export function hfClipL(prefix: string): Shapes {
  const out: Shapes = [];
  const W = 768;
  const P = `${prefix}text_model.`;
  out.push([`${P}embeddings.token_embedding.weight`, [49408, W]], [`${P}embeddings.position_embedding.weight`, [77, W]]);
  for (let i = 0; i < 12; i++) {
    const L = `${P}encoder.layers.${i}.`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) out.push([`${L}self_attn.${n}.weight`, [W, W]], [`${L}self_attn.${n}.bias`, [W]]);
    out.push([`${L}layer_norm1.weight`, [W]], [`${L}layer_norm1.bias`, [W]], [`${L}layer_norm2.weight`, [W]], [`${L}layer_norm2.bias`, [W]]);
    out.push([`${L}mlp.fc1.weight`, [4 * W, W]], [`${L}mlp.fc1.bias`, [4 * W]], [`${L}mlp.fc2.weight`, [W, 4 * W]], [`${L}mlp.fc2.bias`, [W]]);
  }
  out.push([`${P}final_layer_norm.weight`, [W]], [`${P}final_layer_norm.bias`, [W]]);
  return out;
}

/** OpenCLIP text tower (`width`, `blocks` resblocks, text_projection [width, proj]) under `prefix`. */
export function openClip(prefix: string, width: number, blocks: number, proj: number): Shapes {
  const out: Shapes = [];
  const W = width;
  out.push([`${prefix}token_embedding.weight`, [49408, W]], [`${prefix}positional_embedding`, [77, W]]);
  for (let i = 0; i < blocks; i++) {
    const R = `${prefix}transformer.resblocks.${i}.`;
    out.push([`${R}ln_1.weight`, [W]], [`${R}ln_1.bias`, [W]], [`${R}attn.in_proj_weight`, [3 * W, W]], [`${R}attn.in_proj_bias`, [3 * W]]);
    out.push([`${R}attn.out_proj.weight`, [W, W]], [`${R}attn.out_proj.bias`, [W]], [`${R}ln_2.weight`, [W]], [`${R}ln_2.bias`, [W]]);
    out.push([`${R}mlp.c_fc.weight`, [4 * W, W]], [`${R}mlp.c_fc.bias`, [4 * W]], [`${R}mlp.c_proj.weight`, [W, 4 * W]], [`${R}mlp.c_proj.bias`, [W]]);
  }
  out.push([`${prefix}ln_final.weight`, [W]], [`${prefix}ln_final.bias`, [W]], [`${prefix}text_projection`, [W, proj]], [`${prefix}logit_scale`, []]);
  return out;
}

export function sd15Shapes(inChannels = 4): Shapes {
  return [
    ...ldmUnet({ channels: 320, mult: [1, 2, 4, 4], depth: [1, 1, 1, 0], midDepth: 1, context: 768, linear: false, inChannels }),
    ...ldmVae(),
    ...hfClipL('cond_stage_model.transformer.'),
  ];
}

export function sd21Shapes(): Shapes {
  return [
    ...ldmUnet({ channels: 320, mult: [1, 2, 4, 4], depth: [1, 1, 1, 0], midDepth: 1, context: 1024, linear: true, inChannels: 4 }),
    ...ldmVae(),
    ...openClip('cond_stage_model.model.', 1024, 24, 1024),
  ];
}

export function sdxlShapes(): Shapes {
  return [
    ...ldmUnet({ channels: 320, mult: [1, 2, 4], depth: [0, 2, 10], midDepth: 10, context: 2048, linear: true, inChannels: 4, adm: 2816 }),
    ...ldmVae(),
    ...hfClipL('conditioner.embedders.0.transformer.'),
    ...openClip('conditioner.embedders.1.model.', 1280, 32, 1280),
  ];
}

export function sdxlRefinerShapes(): Shapes {
  return [
    ...ldmUnet({ channels: 384, mult: [1, 2, 4, 4], depth: [0, 4, 4, 0], midDepth: 4, context: 1280, linear: true, inChannels: 4, adm: 2560 }),
    ...ldmVae(),
    ...openClip('conditioner.embedders.0.model.', 1280, 32, 1280),
  ];
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8 };

/**
 * Writes a safetensors file for `shapes` in `dtype`. By default the data section is a sparse hole (zeros); `fill`
 * writes real values per tensor instead. `extra` entries are added verbatim to the header (for lying headers).
 */
export function writeCheckpoint(path: string, shapes: Shapes, opts: { dtype?: string; fill?: (name: string, count: number) => Uint8Array; truncateBy?: number; rawHeader?: (h: Record<string, unknown>) => void } = {}): number {
  const dtype = opts.dtype ?? 'F16';
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  opts.rawHeader?.(header);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    if (opts.fill) {
      let pos = head.length;
      for (const [name, shape] of shapes) {
        const bytes = opts.fill(name, shape.reduce((a, b) => a * b, 1));
        writeSync(fd, bytes, 0, bytes.length, pos);
        pos += bytes.length;
      }
    }
    ftruncateSync(fd, head.length + offset - (opts.truncateBy ?? 0));
  } finally {
    closeSync(fd);
  }
  return head.length + offset;
}
