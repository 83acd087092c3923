import * as ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';

/**
 * Execution-provider choice. CPU is the default; 'auto' tries the accelerators onnxruntime-node lists as present
 * (CUDA, DirectML, CoreML, WebGPU), and any failure falls back to CPU with a visible warning.
 */

export type ProviderName = 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';
export type ProviderRequest = ProviderName | 'auto';
export const PROVIDER_REQUESTS: readonly ProviderRequest[] = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'];

const ACCELERATOR_ORDER: ProviderName[] = ['cuda', 'dml', 'coreml', 'webgpu'];

/** Backends onnxruntime-node reports for this platform. */
export function listedBackends(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string }> }).listSupportedBackends;
  try {
    return list ? list().map((b) => b.name) : ['cpu'];
  } catch {
    return ['cpu'];
  }
}

/** Providers to try in order for a request; CPU always last. */
export function providerCandidates(request: ProviderRequest): ProviderName[] {
  if (request === 'cpu') return ['cpu'];
  if (request !== 'auto') return [request, 'cpu'];
  const listed = listedBackends();
  return [...ACCELERATOR_ORDER.filter((p) => listed.includes(p)), 'cpu'];
}

export function parseProvider(value: string): ProviderRequest {
  if (!(PROVIDER_REQUESTS as readonly string[]).includes(value)) {
    throw new AppError('diffusion.bad_request', `unknown execution provider ${JSON.stringify(value)}; use one of ${PROVIDER_REQUESTS.join(', ')}`);
  }
  return value as ProviderRequest;
}
