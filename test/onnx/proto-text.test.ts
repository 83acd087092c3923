import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ONNX_PROTO_TEXT } from '../../src/main/onnx/proto/onnx-proto-text';
import { repoRoot } from '../support/paths';

describe('embedded onnx.proto', () => {
  it('is identical to src/main/onnx/proto/onnx.proto', () => {
    expect(ONNX_PROTO_TEXT).toBe(readFileSync(join(repoRoot, 'src/main/onnx/proto/onnx.proto'), 'utf8'));
  });
});
