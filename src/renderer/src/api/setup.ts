import type { ApiClient } from '@shared/api/client';
import type { ConnectionStatus } from './ws-client';

export type { ConnectionStatus } from './ws-client';

/** The transport chosen at start-up, with its connection health (Electron's IPC is always "open"). */
export interface ApiSetup {
  client: ApiClient;
  mode: 'electron' | 'serve';
  onConnectionChange(listener: (status: ConnectionStatus) => void): () => void;
  connection(): ConnectionStatus;
}
